//! `picket normalize`: one canonical alert per line (or OCSF with `--ocsf`), no triage.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args as ClapArgs;

use super::pipeline::{self, InputArgs};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Emit OCSF 1.x Detection Finding (class 2004) JSON instead of Picket's alert.
    #[arg(long)]
    pub ocsf: bool,
    /// Leave the raw original out of each line.
    #[arg(long)]
    pub no_raw: bool,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let normalizer = pipeline::normalizer(&cfg, &args.input)?;
    let lists = pipeline::warninglists(&cfg, &args.input)?;
    let loaded = pipeline::load(
        &args.input,
        &normalizer,
        lists.as_ref(),
        !args.no_raw || args.ocsf,
    )?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for a in loaded.alerts.iter().map(|l| &l.alert) {
        if args.ocsf {
            serde_json::to_writer(&mut out, &picket_ingest::ocsf_export::to_ocsf(a))?;
        } else {
            serde_json::to_writer(&mut out, a)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(if loaded.stats.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
