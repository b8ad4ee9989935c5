#![allow(unreachable_pub)]

//! Every provider against a local mock server replaying the provider's documented requests and
//! responses, errors included. One module per provider; shared helpers in `common`.

#[path = "providers/common.rs"]
mod common;

#[path = "providers/abuseipdb.rs"]
mod abuseipdb;
