//! One module per subcommand.

pub mod actions;
pub mod attack;
pub mod audit;
pub mod bench;
pub mod check_config;
pub mod connectors;
pub mod enrich;
pub mod eval;
pub mod export;
pub mod extract;
pub mod incidents;
pub mod init;
pub mod intel;
pub mod investigate;
pub mod metrics;
pub mod normalize;
pub mod persist;
pub mod pipeline;
pub mod playbook;
pub mod policy;
pub mod report;
pub mod responders;
pub mod schema;
pub mod serve;
pub mod triage;

use std::process::ExitCode;

use picket_core::SourceFormat;

pub fn formats() -> anyhow::Result<ExitCode> {
    for f in SourceFormat::ALL {
        let what = match f {
            SourceFormat::SplunkNotable => "Splunk Enterprise Security notable event",
            SourceFormat::ElasticAlert => "Elastic Security alert (kibana.alert.* / ECS)",
            SourceFormat::Sentinel => "Microsoft Sentinel SecurityAlert / SecurityIncident",
            SourceFormat::Defender => "Microsoft Defender XDR / Defender for Endpoint alert",
            SourceFormat::Crowdstrike => {
                "CrowdStrike Falcon (Alerts API, detection summary events)"
            }
            SourceFormat::Wazuh => "Wazuh alerts.json",
            SourceFormat::Suricata => "Suricata EVE alert",
            SourceFormat::Guardduty => "AWS GuardDuty finding",
            SourceFormat::Securityhub => "AWS Security Hub finding (ASFF)",
            SourceFormat::Ocsf => "OCSF Detection / Security Finding",
            SourceFormat::Generic => {
                "generic JSON or CSV through a [[mappings]] entry (--mapping NAME)"
            }
        };
        println!("{:<15} {what}", f.as_str());
    }
    Ok(ExitCode::SUCCESS)
}
