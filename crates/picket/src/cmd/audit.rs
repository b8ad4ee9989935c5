//! `picket audit verify|export|keygen`: check the trail's integrity, hand it to a SIEM, make a key.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use picket_audit::{VerifyingKey, key_id, signing_key_from_text, verify};
use picket_store::Store;

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check every record's hash and link and every checkpoint. Exit 0 when intact, 1 when tampered
    /// (naming the first bad record), 2 on a usage error.
    Verify {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The checkpoints' public key (64 hex digits, or a file holding them). Default: derived
        /// from the configured signing key.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Write the trail as JSON lines (records, then checkpoints with `"type": "checkpoint"`).
    Export {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Only records from this seq on.
        #[arg(long, default_value_t = 1)]
        since: u64,
        /// Output file (default stdout).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Create a signing key file (owner-only) and print its public key.
    Keygen { file: PathBuf },
}

const PAGE: u32 = 10_000;

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let dir = |d: Option<PathBuf>| d.unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir));
    match args.command {
        Cmd::Keygen { file } => keygen(&file),
        Cmd::Verify {
            data_dir,
            public_key,
        } => {
            let key = match public_key {
                Some(k) => Some(public_key_from(&k)?),
                None => pipeline::audit_key(&cfg)?.map(|k| k.verifying_key()),
            };
            verify_dir(&dir(data_dir), key.as_ref())
        }
        Cmd::Export {
            data_dir,
            since,
            out,
        } => export(&dir(data_dir), since, out.as_deref()),
    }
}

fn public_key_from(arg: &str) -> anyhow::Result<VerifyingKey> {
    let text = if Path::new(arg).exists() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_owned()
    };
    let bytes = hex::decode(text.trim()).context("the public key must be 64 hex digits")?;
    let arr: [u8; 32] = bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("the public key must be 64 hex digits"))?;
    VerifyingKey::from_bytes(&arr).map_err(|e| anyhow::anyhow!("not an ed25519 public key: {e}"))
}

fn keygen(file: &Path) -> anyhow::Result<ExitCode> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(file)
        .with_context(|| format!("creating {} (it must not exist yet)", file.display()))?;
    writeln!(f, "{}", hex::encode(seed))?;
    let key = signing_key_from_text(&hex::encode(seed)).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "wrote {} (owner-only). Public key (for `picket audit verify --public-key`): {}\nkey id: {}",
        file.display(),
        hex::encode(key.verifying_key().as_bytes()),
        key_id(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}

async fn load(store: &dyn Store, since: u64) -> anyhow::Result<Vec<picket_audit::AuditRecord>> {
    let mut all = Vec::new();
    let mut from = since;
    loop {
        let page = store.audit_records(from, PAGE).await?;
        let n = page.len();
        if let Some(last) = page.last() {
            from = last.seq + 1;
        }
        all.extend(page);
        if n < PAGE as usize {
            return Ok(all);
        }
    }
}

fn verify_dir(dir: &Path, key: Option<&VerifyingKey>) -> anyhow::Result<ExitCode> {
    if !dir.join("picket.db").exists() {
        eprintln!("picket: no store in {}", dir.display());
        return Ok(ExitCode::from(2));
    }
    let rt = super::persist::runtime()?;
    let (records, checkpoints) = rt.block_on(async {
        let store = super::persist::open(dir).await?;
        let r = load(&store, 1).await?;
        let c = store.audit_checkpoints().await?;
        store.close().await;
        anyhow::Ok((r, c))
    })?;
    match verify(&records, &checkpoints, key) {
        Ok(s) => {
            println!(
                "intact: {} records, head {} ({}), {} checkpoints{}",
                s.records,
                s.head_seq,
                &s.head_hash[..16.min(s.head_hash.len())],
                s.checkpoints,
                if key.is_some() {
                    format!(", {} signatures verified", s.signed_checkpoints)
                } else {
                    " (signatures not checked: no key given)".to_owned()
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(t) => {
            println!("TAMPERED: {t}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn export(dir: &Path, since: u64, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let rt = super::persist::runtime()?;
    let (records, checkpoints) = rt.block_on(async {
        let store = super::persist::open(dir).await?;
        let r = load(&store, since).await?;
        let c = store.audit_checkpoints().await?;
        store.close().await;
        anyhow::Ok((r, c))
    })?;
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    for r in &records {
        let mut v = serde_json::to_value(r)?;
        v["type"] = "record".into();
        serde_json::to_writer(&mut w, &v)?;
        w.write_all(b"\n")?;
    }
    for c in checkpoints.iter().filter(|c| c.seq >= since) {
        let mut v = serde_json::to_value(c)?;
        v["type"] = "checkpoint".into();
        serde_json::to_writer(&mut w, &v)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
