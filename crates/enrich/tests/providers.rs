#![allow(unreachable_pub)]

//! Every provider against a local mock server replaying the provider's documented requests and
//! responses, errors included. One module per provider; shared helpers in `common`.

#[path = "providers/common.rs"]
mod common;

#[path = "providers/abuseipdb.rs"]
mod abuseipdb;

#[path = "providers/virustotal.rs"]
mod virustotal;

#[path = "providers/greynoise.rs"]
mod greynoise;

#[path = "providers/otx.rs"]
mod otx;

#[path = "providers/abusech.rs"]
mod abusech;

#[path = "providers/misp_opencti.rs"]
mod misp_opencti;

mod conformance {
    use picket_core::ObservableType;

    crate::conformance!(abuseipdb, "abuseipdb", ObservableType::Ipv4, "45.33.32.156");
    crate::conformance!(
        virustotal,
        "virustotal",
        ObservableType::Sha256,
        "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    );
    crate::conformance!(greynoise, "greynoise", ObservableType::Ipv4, "45.83.66.45");
    crate::conformance!(otx, "otx", ObservableType::Domain, "evil-domain.com");
    crate::conformance!(
        urlhaus,
        "urlhaus",
        ObservableType::Url,
        "http://x4z9arb.cn/4712"
    );
    crate::conformance!(threatfox, "threatfox", ObservableType::Ipv4, "45.33.32.156");
    crate::conformance!(misp, "misp", ObservableType::Ipv4, "45.33.32.156");
    crate::conformance!(
        opencti,
        "opencti",
        ObservableType::Domain,
        "evil-domain.com"
    );
}
