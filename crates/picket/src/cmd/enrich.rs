//! `picket enrich`: look indicators up with the configured connectors, one JSON line per indicator
//! (`IndicatorEnrichment`: combined verdict, each source's answer, each source's failure).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use picket_ingest::extract::Extractor;

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Indicators (IPs, domains, URLs, emails, hashes; defanged forms are fine). With none, read
    /// text from stdin and look up every indicator found in it.
    pub indicators: Vec<String>,
    /// Look up private and other non-public addresses with online providers too.
    #[arg(long)]
    pub send_private: bool,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let mut cfg = crate::config::load(config)?;
    cfg.enrichment.send_private |= args.send_private;
    let sources = pipeline::sources(&cfg)?;
    let Some(enricher) = pipeline::enricher(&cfg, sources, None) else {
        anyhow::bail!(
            "no enabled [[connectors]] in the config (see `picket init` and docs/enrichment.md)"
        );
    };
    let text = if args.indicators.is_empty() {
        let (bytes, _) = crate::input::read("-")?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        args.indicators.join("\n")
    };
    let extractor = Extractor::new();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        extractor.extract_text(line, &format!("text:{}", i + 1), &mut found);
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|o| seen.insert((o.kind, o.value.clone())));
    if found.is_empty() {
        anyhow::bail!("no indicators found in the input");
    }
    let rt = super::persist::runtime()?;
    let result = rt.block_on(async {
        let mut all = Vec::new();
        for chunk in found.chunks(enricher.config().max_indicators.max(1)) {
            all.extend(enricher.enrich("cli", chunk).await.indicators);
        }
        all
    });
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for i in &result {
        serde_json::to_writer(&mut out, i)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let skipped = found.len().saturating_sub(result.len());
    if skipped > 0 {
        eprintln!(
            "picket: {skipped} indicator(s) not looked up: no enabled connector takes their type \
             (or they are non-public addresses; see --send-private)"
        );
    }
    Ok(if result.iter().any(|i| !i.failures.is_empty()) {
        eprintln!("picket: some lookups failed (see `failures`)");
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}
