//! The OpenAPI document, generated from the handlers' annotations. A snapshot test keeps it under
//! review: an API change shows up as a diff of `tests/snapshots/*openapi*.snap`.

use utoipa::Modify;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::routes::{
    actions, alerts, attack, dead_letters, export, incidents, intel, investigations, ops, soc,
};

/// Picket's HTTP API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Picket API", description = "Alerts in, triaged incidents out."),
    paths(
        alerts::ingest,
        alerts::get_alert,
        alerts::get_alert_ocsf,
        dead_letters::list,
        incidents::list,
        incidents::get,
        incidents::record_verdict,
        export::stix,
        export::misp,
        export::report,
        investigations::list,
        investigations::investigate,
        intel::lookup,
        intel::alert_enrichment,
        attack::coverage,
        actions::propose,
        actions::list,
        actions::get,
        actions::approve,
        actions::rollback,
        actions::response_status,
        actions::set_response,
        soc::soc,
        ops::healthz,
        ops::metrics,
        ops::openapi,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "alerts", description = "Ingest and stored alerts"),
        (name = "incidents", description = "Triaged incidents and analyst verdicts"),
        (name = "actions", description = "Response actions: proposals, the policy's decisions, approvals"),
        (name = "attack", description = "MITRE ATT&CK coverage of stored incidents"),
        (name = "intel", description = "Threat-intel lookups through the configured connectors"),
        (name = "operations", description = "Health, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
