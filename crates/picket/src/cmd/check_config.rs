//! `picket check-config [FILE]`: every problem at once, each `file:line:col: key: message`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The config file (default: --config, else ./picket.toml).
    pub file: Option<PathBuf>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let path = args
        .file
        .as_deref()
        .or(config)
        .unwrap_or(Path::new("picket.toml"));
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    match crate::config::Config::parse(&text, &path.display().to_string()) {
        Ok(_) => {
            println!("{}: ok", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors {
                println!("{e}");
            }
            eprintln!("picket: {} problem(s) in {}", errors.len(), path.display());
            Ok(ExitCode::from(2))
        }
    }
}
