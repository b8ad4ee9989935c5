//! The index schema, and what of an incident goes into it.

use std::collections::HashSet;

use picket_core::{Incident, IncidentStatus, ObservableType};
use tantivy::TantivyDocument;
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer, TokenizerManager,
};

/// Name of the tokenizer of the exact-value fields: the whole value as one term, lowercased.
pub(crate) const EXACT_TOKENIZER: &str = "picket_exact";

/// Exact values of this many bytes or more are not indexed (tantivy's hard limit is 65 530).
const MAX_EXACT_BYTES: usize = 4096;

/// Exact values indexed per incident at most (the core already caps observables at 200).
const MAX_KEYS_PER_INCIDENT: usize = 4096;

/// Timeline summaries indexed per incident at most (the core caps the timeline at 500).
const MAX_TIMELINE: usize = 1000;

/// The exact-value analyzer: raw, lowercased, overlong values dropped.
pub(crate) fn exact_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .filter(RemoveLongFilter::limit(MAX_EXACT_BYTES))
        .build()
}

/// The tokenizers the index needs: tantivy's (for the text fields) and ours.
pub(crate) fn tokenizers() -> TokenizerManager {
    let t = TokenizerManager::default();
    t.register(EXACT_TOKENIZER, exact_analyzer());
    t
}

/// The normalized term of an exact value, `None` when it is empty or too long to index.
pub(crate) fn normalize(analyzer: &mut TextAnalyzer, value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let mut stream = analyzer.token_stream(value);
    let mut out = None;
    stream.process(&mut |t| out = Some(t.text.clone()));
    out.filter(|t| !t.is_empty())
}

/// What an exact value of an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A detection rule key (`<format>:<rule id or name>`).
    Rule,
    /// An ATT&CK technique or sub-technique id.
    Technique,
    /// An ATT&CK tactic id or short name.
    Tactic,
    Observable(ObservableType),
    /// An address from the incident's scope.
    Ip,
    Host,
    User,
}

impl Kind {
    /// The label of a shared value in [`crate::Hit::matched`] (`<label>:<value>`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Rule => "rule",
            Self::Technique => "technique",
            Self::Tactic => "tactic",
            Self::Observable(t) => t.as_str(),
            Self::Ip => "ip",
            Self::Host => "host",
            Self::User => "user",
        }
    }

    /// How much sharing a value of this kind says about two incidents being alike, before its
    /// rarity in the index (see `docs/search.md`).
    pub(crate) fn weight(self) -> f32 {
        match self {
            Self::Observable(
                ObservableType::Md5
                | ObservableType::Sha1
                | ObservableType::Sha256
                | ObservableType::Sha512,
            ) => 3.0,
            Self::Observable(ObservableType::Url) => 2.5,
            Self::Observable(
                ObservableType::Domain | ObservableType::Email | ObservableType::Cve,
            ) => 2.0,
            Self::Rule | Self::Technique => 1.5,
            Self::Observable(ObservableType::Ipv4 | ObservableType::Ipv6) | Self::Ip => 1.5,
            Self::Host | Self::User => 1.0,
            Self::Tactic => 0.3,
        }
    }
}

/// An exact value of an incident.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) kind: Kind,
    /// As given, trimmed.
    pub(crate) value: String,
    /// The indexed term.
    pub(crate) norm: String,
    pub(crate) weight: f32,
}

/// An observable on a benign list (a public resolver, a CDN) says little: its weight is cut to this.
const BENIGN_LIST_FACTOR: f32 = 0.25;

/// The exact values of an incident, deduplicated by field and term, first occurrence kept, at most
/// `MAX_KEYS_PER_INCIDENT`.
pub(crate) fn keys(incident: &Incident, analyzer: &mut TextAnalyzer) -> Vec<Key> {
    let mut raw: Vec<(Kind, &str, f32)> = Vec::new();
    for e in &incident.evidence {
        if let Some(rule) = e.source.strip_prefix("history:") {
            raw.push((Kind::Rule, rule, Kind::Rule.weight()));
        }
    }
    for a in &incident.attack {
        if let Some(t) = &a.technique {
            raw.push((Kind::Technique, t, Kind::Technique.weight()));
        }
    }
    for t in &incident.timeline {
        if let Some(t) = &t.technique {
            raw.push((Kind::Technique, t, Kind::Technique.weight()));
        }
    }
    for o in &incident.observables {
        let kind = Kind::Observable(o.kind);
        let factor = if o.benign_lists.is_empty() {
            1.0
        } else {
            BENIGN_LIST_FACTOR
        };
        raw.push((kind, &o.value, kind.weight() * factor));
    }
    for ip in &incident.scope.ips {
        raw.push((Kind::Ip, ip, Kind::Ip.weight()));
    }
    for h in &incident.scope.hosts {
        raw.push((Kind::Host, h, Kind::Host.weight()));
    }
    for u in &incident.scope.users {
        raw.push((Kind::User, u, Kind::User.weight()));
    }
    for a in &incident.attack {
        if let Some(t) = &a.tactic {
            raw.push((Kind::Tactic, t, Kind::Tactic.weight()));
        }
    }

    let mut seen: HashSet<(FieldKind, String)> = HashSet::new();
    let mut out = Vec::new();
    for (kind, value, weight) in raw {
        if out.len() >= MAX_KEYS_PER_INCIDENT {
            break;
        }
        let Some(norm) = normalize(analyzer, value) else {
            continue;
        };
        if seen.insert((FieldKind::of(kind), norm.clone())) {
            out.push(Key {
                kind,
                value: value.trim().to_owned(),
                norm,
                weight,
            });
        }
    }
    out
}

/// The exact-value field a kind is indexed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FieldKind {
    Rule,
    Technique,
    Tactic,
    Observable,
    Host,
    User,
}

impl FieldKind {
    pub(crate) fn of(kind: Kind) -> Self {
        match kind {
            Kind::Rule => Self::Rule,
            Kind::Technique => Self::Technique,
            Kind::Tactic => Self::Tactic,
            Kind::Observable(_) | Kind::Ip => Self::Observable,
            Kind::Host => Self::Host,
            Kind::User => Self::User,
        }
    }
}

/// The fields of the index. Field names are what the query syntax uses (`host:web01`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub(crate) id: Field,
    pub(crate) title: Field,
    pub(crate) rules: Field,
    pub(crate) timeline: Field,
    pub(crate) rule: Field,
    pub(crate) technique: Field,
    pub(crate) tactic: Field,
    pub(crate) observable: Field,
    pub(crate) host: Field,
    pub(crate) user: Field,
    pub(crate) verdict: Field,
    pub(crate) status: Field,
    pub(crate) priority: Field,
    pub(crate) first_seen: Field,
}

impl Fields {
    pub(crate) fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        // Exact values: one lowercased term per value, no positions, and no field norms, so that
        // a shared value counts the same however many values the other incident has.
        let exact = TextOptions::default().set_stored().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(EXACT_TOKENIZER)
                .set_index_option(IndexRecordOption::Basic)
                .set_fieldnorms(false),
        );
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer("default")
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            title: b.add_text_field("title", text.clone().set_stored()),
            rules: b.add_text_field("rules", text.clone()),
            timeline: b.add_text_field("timeline", text),
            rule: b.add_text_field("rule", exact.clone()),
            technique: b.add_text_field("technique", exact.clone()),
            tactic: b.add_text_field("tactic", exact.clone()),
            observable: b.add_text_field("observable", exact.clone()),
            host: b.add_text_field("host", exact.clone()),
            user: b.add_text_field("user", exact),
            verdict: b.add_text_field("verdict", STRING | STORED),
            status: b.add_text_field("status", STRING | STORED),
            priority: b.add_text_field("priority", STRING | STORED),
            first_seen: b.add_text_field("first_seen", STORED),
        };
        (b.build(), fields)
    }

    pub(crate) fn exact(&self, kind: FieldKind) -> Field {
        match kind {
            FieldKind::Rule => self.rule,
            FieldKind::Technique => self.technique,
            FieldKind::Tactic => self.tactic,
            FieldKind::Observable => self.observable,
            FieldKind::Host => self.host,
            FieldKind::User => self.user,
        }
    }

    /// The fields a free-text query searches when it names none, with their boosts.
    pub(crate) fn default_search(&self) -> [(Field, f32); 9] {
        [
            (self.title, 2.0),
            (self.rules, 1.0),
            (self.timeline, 0.5),
            (self.rule, 1.0),
            (self.technique, 1.0),
            (self.tactic, 1.0),
            (self.observable, 1.0),
            (self.host, 1.0),
            (self.user, 1.0),
        ]
    }

    pub(crate) fn document(&self, incident: &Incident, keys: &[Key]) -> TantivyDocument {
        let mut doc = TantivyDocument::new();
        doc.add_text(self.id, &incident.id);
        doc.add_text(self.title, &incident.title);
        for k in keys.iter().filter(|k| k.kind == Kind::Rule) {
            doc.add_text(self.rules, &k.value);
        }
        for t in incident.timeline.iter().take(MAX_TIMELINE) {
            doc.add_text(self.timeline, &t.summary);
        }
        for k in keys {
            doc.add_text(self.exact(FieldKind::of(k.kind)), &k.value);
        }
        doc.add_text(self.verdict, incident.verdict.as_str());
        doc.add_text(self.status, status_str(incident.status));
        doc.add_text(self.priority, incident.priority.as_str());
        doc.add_text(self.first_seen, incident.first_seen.to_string());
        doc
    }
}

fn status_str(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Open => "open",
        IncidentStatus::Closed => "closed",
    }
}
