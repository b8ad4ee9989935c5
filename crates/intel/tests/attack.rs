//! ATT&CK knowledge from the Enterprise bundle (../shared/data/attack, STIX 2.0) and a hand-written
//! STIX 2.1 bundle: names, kill-chain order, revoked and deprecated ids, technique names in text.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use picket_intel::attack::{AttackCatalog, AttackError, Unresolved};

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

static ENTERPRISE: LazyLock<AttackCatalog> = LazyLock::new(|| {
    let bytes = std::fs::read(shared().join("attack/enterprise-attack.json")).unwrap();
    AttackCatalog::from_bundle(&bytes).unwrap()
});

#[test]
fn the_enterprise_bundle_loads_with_its_tactics_in_kill_chain_order() {
    let c = &*ENTERPRISE;
    let ids: Vec<&str> = c.tactics().iter().map(|t| t.id.as_str()).collect();
    let core: Vec<&str> = picket_core::attack::TACTICS.iter().map(|t| t.0).collect();
    assert_eq!(
        ids, core,
        "the bundle's matrix order is core's tactic table"
    );
    let s = c.stats();
    assert_eq!(s.tactics, 14);
    // Counted independently from the bundle (the data README: 691 active techniques and
    // sub-techniques).
    assert_eq!((s.techniques, s.sub_techniques), (216, 475), "{s:?}");
    assert_eq!((s.revoked, s.deprecated), (132, 12), "{s:?}");
    assert!(c.version.contains("Enterprise ATT&CK"), "{}", c.version);
    assert_eq!(c.tactic("Credential Access").unwrap().id, "TA0006");
    assert_eq!(c.tactic_order("lateral-movement"), Some(9));
}

#[test]
fn techniques_resolve_with_names_parents_and_tactics() {
    let c = &*ENTERPRISE;
    let ps = c.resolve("t1059.001").unwrap();
    assert_eq!(ps.id, "T1059.001");
    assert_eq!(ps.name, "PowerShell");
    assert_eq!(ps.parent.as_deref(), Some("T1059"));
    assert_eq!(ps.tactics, ["execution"]);
    assert_eq!(
        c.full_name("T1059.001").as_deref(),
        Some("Command and Scripting Interpreter: PowerShell")
    );
    assert_eq!(c.resolve("T9999"), Err(Unresolved::Unknown));
}

#[test]
fn revoked_ids_follow_revoked_by_and_deprecated_ones_never_resolve() {
    let c = &*ENTERPRISE;
    let r = c.resolve("T1143").unwrap();
    assert_eq!(
        r.id, "T1564.003",
        "Hidden Window moved under Hide Artifacts"
    );
    assert_eq!(r.replaces.as_deref(), Some("T1143"));
    assert_eq!(r.tactics, ["defense-evasion"]);
    assert_eq!(c.resolve("T1153"), Err(Unresolved::Deprecated));
}

#[test]
fn technique_names_in_rule_text_map_with_a_confidence() {
    let c = &*ENTERPRISE;
    let m = c.techniques_named_in("Possible Kerberoasting activity against service accounts");
    assert_eq!(m[0].technique, "T1558.003");
    assert!(m[0].confidence >= 0.4);
    let m = c.techniques_named_in("Suspicious PowerShell download cradle");
    assert!(m.iter().any(|x| x.technique == "T1059.001"), "{m:?}");
    // Whole words only, and everyday words are not techniques.
    assert!(c.techniques_named_in("superpowershellish").is_empty());
    assert!(
        c.techniques_named_in("Service restarted on the web server")
            .is_empty()
    );
}

const SMALL_21: &str = r#"{"type": "bundle", "id": "bundle--1", "objects": [
 {"type": "x-mitre-matrix", "spec_version": "2.1", "id": "x-mitre-matrix--1", "name": "Tiny", "tactic_refs": ["x-mitre-tactic--b", "x-mitre-tactic--a"]},
 {"type": "x-mitre-tactic", "spec_version": "2.1", "id": "x-mitre-tactic--a", "name": "Impact", "x_mitre_shortname": "impact", "external_references": [{"source_name": "mitre-attack", "external_id": "TA0040"}]},
 {"type": "x-mitre-tactic", "spec_version": "2.1", "id": "x-mitre-tactic--b", "name": "Execution", "x_mitre_shortname": "execution", "external_references": [{"source_name": "mitre-attack", "external_id": "TA0002"}]},
 {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--old", "name": "Old Thing", "revoked": true, "external_references": [{"source_name": "mitre-attack", "external_id": "T0001"}]},
 {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--mid", "name": "Mid Thing", "revoked": true, "external_references": [{"source_name": "mitre-attack", "external_id": "T0002"}]},
 {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--new", "name": "Data Destruction", "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "impact"}], "external_references": [{"source_name": "mitre-attack", "external_id": "T1485"}]},
 {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--dep", "name": "Gone", "x_mitre_deprecated": true, "external_references": [{"source_name": "mitre-attack", "external_id": "T0003"}]},
 {"type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--loop", "name": "Loop", "revoked": true, "external_references": [{"source_name": "mitre-attack", "external_id": "T0004"}]},
 {"type": "relationship", "spec_version": "2.1", "id": "relationship--1", "relationship_type": "revoked-by", "source_ref": "attack-pattern--old", "target_ref": "attack-pattern--mid"},
 {"type": "relationship", "spec_version": "2.1", "id": "relationship--2", "relationship_type": "revoked-by", "source_ref": "attack-pattern--mid", "target_ref": "attack-pattern--new"},
 {"type": "relationship", "spec_version": "2.1", "id": "relationship--3", "relationship_type": "revoked-by", "source_ref": "attack-pattern--loop", "target_ref": "attack-pattern--loop"}
]}"#;

#[test]
fn a_stix_21_bundle_with_revocation_chains_and_cycles() {
    let c = AttackCatalog::from_bundle(SMALL_21.as_bytes()).unwrap();
    assert_eq!(
        c.tactics()
            .iter()
            .map(|t| t.shortname.as_str())
            .collect::<Vec<_>>(),
        ["execution", "impact"],
        "order from the matrix's tactic_refs"
    );
    let r = c.resolve("T0001").unwrap();
    assert_eq!(
        (r.id.as_str(), r.replaces.as_deref()),
        ("T1485", Some("T0001"))
    );
    assert_eq!(c.resolve("T0003"), Err(Unresolved::Deprecated));
    assert_eq!(
        c.resolve("T0004"),
        Err(Unresolved::RevokedWithoutReplacement)
    );
}

#[test]
fn bad_bundles_are_clear_errors() {
    assert!(matches!(
        AttackCatalog::from_bundle(b"{"),
        Err(AttackError::Json(_))
    ));
    assert!(matches!(
        AttackCatalog::from_bundle(br#"{"type": "report"}"#),
        Err(AttackError::NotBundle(_))
    ));
    let e = AttackCatalog::from_bundle(
        br#"{"type": "bundle", "objects": [{"type": "attack-pattern", "id": "attack-pattern--x", "external_references": [{"source_name": "mitre-attack", "external_id": "T1"}]}]}"#,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "objects[0] (attack-pattern--x): attack-pattern without a name"
    );
}
