//! `[[siem]]` entries: serde parsing, every problem reported at once, the documented examples,
//! secrets reported by name.

use picket_siem::{SiemConfig, check};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    siem: Vec<SiemConfig>,
}

fn parse(text: &str) -> Result<Vec<SiemConfig>, String> {
    toml::from_str::<File>(text)
        .map(|f| f.siem)
        .map_err(|e| e.to_string())
}

#[test]
fn the_documented_examples_parse_and_check_clean() {
    let doc = include_str!("../../../docs/siem.md");
    let blocks: Vec<&str> = doc
        .split("```toml")
        .skip(1)
        .map(|b| b.split("```").next().unwrap())
        .collect();
    assert!(!blocks.is_empty());
    let mut kinds = Vec::new();
    for b in blocks {
        let entries = parse(b).unwrap();
        assert_eq!(check(&entries), Vec::<(String, String)>::new());
        kinds.extend(entries.iter().map(|e| e.kind.clone()));
    }
    // One example per kind.
    let mut names: Vec<String> = picket_siem::KINDS
        .iter()
        .map(|k| k.name.to_owned())
        .collect();
    names.sort();
    kinds.sort();
    assert_eq!(kinds, names);
}

#[test]
fn defaults_and_unknown_keys() {
    let e = parse(
        r#"
        [[siem]]
        name = "s"
        kind = "splunk"
        base_url = "https://splunk.example.com:8089"
        api_key_env = "T"
        "#,
    )
    .unwrap();
    assert_eq!(e[0].max_limit, 100);
    assert_eq!(e[0].timeout_ms, 30_000);
    assert_eq!(e[0].retries, 2);
    assert!(e[0].enabled);
    assert_eq!(e[0], {
        let mut c = SiemConfig::new("s", "splunk");
        c.base_url = Some("https://splunk.example.com:8089".into());
        c.api_key_env = Some("T".into());
        c
    });
    let err = parse(
        r#"
        [[siem]]
        name = "s"
        kind = "splunk"
        api_key = "inline-secret"
        "#,
    )
    .unwrap_err();
    assert!(err.contains("unknown field `api_key`"), "{err}");
}

#[test]
fn every_problem_is_reported_at_once_with_its_key() {
    let entries = parse(
        r#"
        [[siem]]
        name = "elastic"
        kind = "elasticsearch"
        search_path = "services/search/v2/jobs/export"
        max_limit = 0
        timeout_ms = 0

        [[siem]]
        name = "elastic"
        kind = "splunk"
        base_url = "https://admin:pw@splunk.example.com:8089"
        api_key_env = "T"
        api_key_file = "/etc/t"
        username = "admin"
        auth_scheme = "ApiKey"
        index = "main"

        [[siem]]
        name = "q:radar"
        kind = "qradar"

        [[siem]]
        name = "sentinel"
        kind = "sentinel"
        workspace_id = "my-workspace-name"
        username = "alice"
        retries = 11

        [[siem]]
        name = "os"
        kind = "opensearch"
        base_url = "ftp://os.example.com"
        index = "_security"
        api_key_env = "K"
        auth_scheme = "ApiKey"
        password_env = "P"
        "#,
    )
    .unwrap();
    let problems = check(&entries);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "siem[0].base_url",
            "siem[0].timeout_ms",
            "siem[0].max_limit",
            "siem[0].search_path",
            "siem[0].api_key_env",
            "siem[0].index",
            "siem[1].base_url",
            "siem[1].api_key_env",
            "siem[1].index",
            "siem[1].api_key_env",
            "siem[1].password_env",
            "siem[1].auth_scheme",
            "siem[1].name",
            "siem[2].name",
            "siem[2].kind",
            "siem[3].retries",
            "siem[3].username",
            "siem[3].workspace_id",
            "siem[3].client_id",
            "siem[3].tenant_id",
            "siem[3].api_key_env",
            "siem[4].base_url",
            "siem[4].api_key_env",
            "siem[4].username",
            "siem[4].auth_scheme",
            "siem[4].index",
        ],
        "{problems:#?}"
    );
    let msg = |k: &str| {
        problems
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, m)| m.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        msg("siem[0].search_path"),
        ["kind `elasticsearch` does not use `search_path` (only splunk)"]
    );
    assert_eq!(
        msg("siem[1].index"),
        ["kind `splunk` does not use `index` (only elasticsearch, opensearch)"]
    );
    assert_eq!(msg("siem[1].name"), ["SIEM `elastic` is defined twice"]);
    assert!(msg("siem[1].base_url")[0].contains("must not carry credentials"));
    assert!(msg("siem[2].kind")[0].starts_with(
        "unknown SIEM kind `qradar`, expected one of: elasticsearch, opensearch, splunk, sentinel"
    ));
    assert_eq!(
        msg("siem[3].workspace_id"),
        ["must be the workspace's id (a GUID), not its name"]
    );
    assert_eq!(
        msg("siem[4].auth_scheme"),
        ["`ApiKey` is not one of Bearer for kind `opensearch`"]
    );
}

#[test]
fn build_reports_config_problems_and_missing_secrets_by_name() {
    let c = SiemConfig::new("s", "splunk");
    let e = picket_siem::build(&c).err().unwrap();
    assert_eq!(e.code(), "config");
    assert!(e.to_string().contains("base_url: required"), "{e}");

    let mut c = SiemConfig::new("s", "splunk");
    c.base_url = Some("https://splunk.example.com:8089".into());
    c.api_key_env = Some("PICKET_SIEM_TEST_UNSET_VARIABLE_7F3A".into());
    let e = picket_siem::build(&c).err().unwrap();
    assert_eq!(e.code(), "config");
    assert_eq!(
        e.to_string(),
        "configuration: environment variable `PICKET_SIEM_TEST_UNSET_VARIABLE_7F3A` is not set"
    );

    let dir = tempfile::tempdir().unwrap();
    c.api_key_env = None;
    c.api_key_file = Some(dir.path().join("missing"));
    let e = picket_siem::build(&c).err().unwrap();
    assert_eq!(e.code(), "config");
    assert!(e.to_string().contains("cannot read key file"), "{e}");
}

#[test]
fn the_registry_and_the_schema() {
    for k in picket_siem::KINDS {
        assert!(!k.description.is_empty() && k.docs.starts_with("https://"));
        assert!(!k.language.is_empty());
    }
    let schema = serde_json::to_value(schemars::schema_for!(SiemConfig)).unwrap();
    let props = schema["properties"].as_object().unwrap();
    for key in [
        "name",
        "kind",
        "base_url",
        "index",
        "api_key_env",
        "max_limit",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
    assert_eq!(schema["additionalProperties"], false);
}
