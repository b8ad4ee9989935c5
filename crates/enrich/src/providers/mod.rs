//! The provider registry: one row per provider, one file per provider.

use crate::connector::Provider;

mod abuseipdb;
mod greynoise;
mod indicator_list;
pub mod misp;
pub mod misp_feed;
mod mmdb;
mod opencti;
mod otx;
pub mod stix_bundle;
pub mod taxii;
mod threatfox;
mod urlhaus;
pub mod virustotal;

/// Every provider Picket can talk to. Adding one: a file here and a row in this table.
pub static PROVIDERS: &[&Provider] = &[
    &abuseipdb::PROVIDER,
    &indicator_list::PROVIDER,
    &stix_bundle::PROVIDER,
    &mmdb::PROVIDER,
    &misp_feed::PROVIDER,
    &taxii::PROVIDER,
    &virustotal::PROVIDER,
    &greynoise::PROVIDER,
    &otx::PROVIDER,
    &urlhaus::PROVIDER,
    &threatfox::PROVIDER,
    &misp::PROVIDER,
    &opencti::PROVIDER,
];

pub fn find(name: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().copied().find(|p| p.name == name)
}

pub fn names() -> Vec<&'static str> {
    PROVIDERS.iter().map(|p| p.name).collect()
}

/// For providers without options.
pub(crate) fn no_options(c: &crate::config::ConnectorConfig) -> Vec<(String, String)> {
    c.options
        .keys()
        .map(|k| {
            (
                format!("options.{k}"),
                format!("provider `{}` takes no options", c.provider),
            )
        })
        .collect()
}
