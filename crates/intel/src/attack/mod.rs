//! MITRE ATT&CK knowledge from the Enterprise STIX bundle (2.0 or 2.1): technique, sub-technique and
//! tactic names, kill-chain order, and revoked or deprecated ids resolved so they are never emitted.
//!
//! Pure: [`AttackCatalog::from_bundle`] takes bytes (the CLI's `picket attack import` reads the file).
//! Users download the current release themselves (github.com/mitre-attack/attack-stix-data).

mod bundle;
mod names;

use std::collections::HashMap;

pub use bundle::AttackError;
pub use names::NameMatch;

/// A tactic, in kill-chain order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tactic {
    /// `TA0006`
    pub id: String,
    /// `credential-access`
    pub shortname: String,
    /// `Credential Access`
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Technique {
    pub(crate) id: String,
    pub(crate) name: String,
    /// Tactic short names.
    pub(crate) tactics: Vec<String>,
    pub(crate) revoked: bool,
    pub(crate) deprecated: bool,
    /// The replacement's ATT&CK id, for revoked techniques.
    pub(crate) revoked_by: Option<String>,
}

/// What an ATT&CK id stands for today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The current id: the one asked for, or its replacement when that was revoked.
    pub id: String,
    pub name: String,
    /// Tactic short names, in kill-chain order.
    pub tactics: Vec<String>,
    /// For a sub-technique, its parent technique's id.
    pub parent: Option<String>,
    /// The id asked for, when it was revoked and replaced.
    pub replaces: Option<String>,
}

/// Why an id does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Not in the bundle.
    Unknown,
    /// Deprecated without a replacement: not to be emitted.
    Deprecated,
    /// Revoked, and the revoked-by chain leads nowhere current.
    RevokedWithoutReplacement,
}

/// The loaded knowledge base.
#[derive(Debug, Clone)]
pub struct AttackCatalog {
    pub(crate) techniques: HashMap<String, Technique>,
    pub(crate) tactics: Vec<Tactic>,
    pub(crate) names: names::NameIndex,
    /// The matrix's version and modification date (provenance).
    pub version: String,
}

/// Counts for `picket attack import`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatalogStats {
    pub techniques: usize,
    pub sub_techniques: usize,
    pub tactics: usize,
    pub revoked: usize,
    pub deprecated: usize,
}

impl AttackCatalog {
    pub fn from_bundle(bytes: &[u8]) -> Result<Self, AttackError> {
        bundle::load(bytes)
    }

    pub fn stats(&self) -> CatalogStats {
        let mut s = CatalogStats {
            tactics: self.tactics.len(),
            ..CatalogStats::default()
        };
        for t in self.techniques.values() {
            if t.revoked {
                s.revoked += 1;
            } else if t.deprecated {
                s.deprecated += 1;
            } else if t.id.contains('.') {
                s.sub_techniques += 1;
            } else {
                s.techniques += 1;
            }
        }
        s
    }

    /// Tactics in kill-chain order.
    pub fn tactics(&self) -> &[Tactic] {
        &self.tactics
    }

    /// A tactic by id (`TA0006`), short name (`credential-access`) or name (`Credential Access`).
    pub fn tactic(&self, any: &str) -> Option<&Tactic> {
        let a = any.trim();
        self.tactics.iter().find(|t| {
            t.id.eq_ignore_ascii_case(a)
                || t.shortname.eq_ignore_ascii_case(a)
                || t.name.eq_ignore_ascii_case(a)
        })
    }

    /// Kill-chain position of a tactic given in any spelling.
    pub fn tactic_order(&self, any: &str) -> Option<usize> {
        let t = self.tactic(any)?;
        self.tactics.iter().position(|x| x.id == t.id)
    }

    /// The current technique for `id` (`T1059.001`, case-insensitive), following revoked-by
    /// relationships to the replacement; deprecated ids without a replacement do not resolve.
    pub fn resolve(&self, id: &str) -> Result<Resolved, Unresolved> {
        let asked = id.trim().to_ascii_uppercase();
        let mut cur = self.techniques.get(&asked).ok_or(Unresolved::Unknown)?;
        let mut hops = 0;
        while cur.revoked {
            hops += 1;
            let next = cur
                .revoked_by
                .as_ref()
                .and_then(|r| self.techniques.get(r))
                .filter(|_| hops < 16)
                .ok_or(Unresolved::RevokedWithoutReplacement)?;
            cur = next;
        }
        if cur.deprecated {
            return Err(Unresolved::Deprecated);
        }
        let mut tactics = cur.tactics.clone();
        tactics.sort_by_key(|t| self.tactic_order(t).unwrap_or(usize::MAX));
        Ok(Resolved {
            id: cur.id.clone(),
            name: cur.name.clone(),
            tactics,
            parent: cur.id.split_once('.').map(|(p, _)| p.to_owned()),
            replaces: (cur.id != asked).then_some(asked),
        })
    }

    /// The display name of a technique, sub-techniques as `Parent: Sub`.
    pub fn full_name(&self, id: &str) -> Option<String> {
        let r = self.resolve(id).ok()?;
        match &r.parent {
            Some(p) => {
                let parent = self.techniques.get(p)?;
                Some(format!("{}: {}", parent.name, r.name))
            }
            None => Some(r.name),
        }
    }

    /// Techniques whose names appear in `text` as whole words (rule names, descriptions), with the
    /// documented confidence of each match (see `names.rs`), best first.
    pub fn techniques_named_in(&self, text: &str) -> Vec<NameMatch> {
        self.names.find(text)
    }
}
