//! Reading the STIX bundle: typed, ignoring what is not needed (the Enterprise bundle is ~33 MB).

use std::collections::HashMap;

use serde::Deserialize;

use super::{AttackCatalog, Tactic, Technique, names};

/// Why a bundle could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttackError {
    #[error("not JSON: {0}")]
    Json(String),
    #[error("not a STIX bundle: {0}")]
    NotBundle(String),
    #[error("objects[{index}] ({id}): {message}")]
    Object {
        index: usize,
        id: String,
        message: String,
    },
}

#[derive(Deserialize)]
struct Bundle {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    objects: Vec<Object>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ExtRef {
    source_name: String,
    external_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Phase {
    kill_chain_name: String,
    phase_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Object {
    #[serde(rename = "type")]
    kind: String,
    id: String,
    name: Option<String>,
    external_references: Vec<ExtRef>,
    kill_chain_phases: Vec<Phase>,
    revoked: bool,
    x_mitre_deprecated: bool,
    x_mitre_shortname: Option<String>,
    x_mitre_version: Option<String>,
    modified: Option<String>,
    tactic_refs: Vec<String>,
    relationship_type: Option<String>,
    source_ref: Option<String>,
    target_ref: Option<String>,
}

impl Object {
    fn attack_id(&self) -> Option<String> {
        self.external_references
            .iter()
            .find(|r| r.source_name == "mitre-attack")
            .and_then(|r| r.external_id.clone())
            .map(|s| s.to_ascii_uppercase())
    }
}

pub(super) fn load(bytes: &[u8]) -> Result<AttackCatalog, AttackError> {
    let b: Bundle = serde_json::from_slice(bytes).map_err(|e| AttackError::Json(e.to_string()))?;
    if b.kind != "bundle" {
        return Err(AttackError::NotBundle(format!("type is `{}`", b.kind)));
    }
    let mut techniques: HashMap<String, Technique> = HashMap::new();
    let mut stix_to_attack: HashMap<&str, String> = HashMap::new();
    let mut tactics_by_ref: HashMap<&str, Tactic> = HashMap::new();
    let mut matrix: Option<&Object> = None;
    for (index, o) in b.objects.iter().enumerate() {
        match o.kind.as_str() {
            "attack-pattern" => {
                let Some(id) = o.attack_id() else {
                    continue; // not an ATT&CK technique (another framework's pattern)
                };
                let name = o.name.clone().ok_or_else(|| AttackError::Object {
                    index,
                    id: o.id.clone(),
                    message: "attack-pattern without a name".into(),
                })?;
                stix_to_attack.insert(o.id.as_str(), id.clone());
                techniques.insert(
                    id.clone(),
                    Technique {
                        id,
                        name,
                        tactics: o
                            .kill_chain_phases
                            .iter()
                            .filter(|p| p.kill_chain_name == "mitre-attack")
                            .map(|p| p.phase_name.clone())
                            .collect(),
                        revoked: o.revoked,
                        deprecated: o.x_mitre_deprecated,
                        revoked_by: None,
                    },
                );
            }
            "x-mitre-tactic" => {
                let (Some(id), Some(short), Some(name)) =
                    (o.attack_id(), o.x_mitre_shortname.clone(), o.name.clone())
                else {
                    return Err(AttackError::Object {
                        index,
                        id: o.id.clone(),
                        message: "x-mitre-tactic without an ATT&CK id, shortname or name".into(),
                    });
                };
                tactics_by_ref.insert(
                    o.id.as_str(),
                    Tactic {
                        id,
                        shortname: short,
                        name,
                    },
                );
            }
            "x-mitre-matrix" if matrix.is_none() => matrix = Some(o),
            _ => {}
        }
    }
    for o in b.objects.iter().filter(|o| {
        o.kind == "relationship" && o.relationship_type.as_deref() == Some("revoked-by")
    }) {
        let (Some(s), Some(t)) = (o.source_ref.as_deref(), o.target_ref.as_deref()) else {
            continue;
        };
        if let (Some(from), Some(to)) = (stix_to_attack.get(s), stix_to_attack.get(t))
            && let Some(tech) = techniques.get_mut(from)
        {
            tech.revoked_by = Some(to.clone());
        }
    }
    let matrix = matrix.ok_or_else(|| AttackError::NotBundle("no x-mitre-matrix object".into()))?;
    let mut tactics = Vec::new();
    for r in &matrix.tactic_refs {
        match tactics_by_ref.get(r.as_str()) {
            Some(t) => tactics.push(t.clone()),
            None => {
                return Err(AttackError::NotBundle(format!(
                    "the matrix names tactic {r}, which the bundle does not hold"
                )));
            }
        }
    }
    let version = format!(
        "{} {}{}",
        matrix.name.as_deref().unwrap_or("ATT&CK"),
        matrix
            .x_mitre_version
            .as_deref()
            .map(|v| format!("v{v} "))
            .unwrap_or_default(),
        matrix
            .modified
            .as_deref()
            .map(|m| format!("(modified {m})"))
            .unwrap_or_default()
    )
    .trim()
    .to_owned();
    let names = names::NameIndex::build(&techniques);
    Ok(AttackCatalog {
        techniques,
        tactics,
        names,
        version,
    })
}
