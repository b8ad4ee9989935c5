//! `picket schema incident|alert`: the JSON Schema of an emitted artifact, generated from the types.

use std::process::ExitCode;

use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[arg(value_parser = ["incident", "alert"])]
    pub artifact: String,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let schema = match args.artifact.as_str() {
        "incident" => schemars::schema_for!(picket_core::Incident),
        _ => schemars::schema_for!(picket_core::Alert),
    };
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
