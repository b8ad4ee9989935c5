//! Full-text index of incidents, so that an analyst, the LLM agent's tool or the MCP tool can find
//! similar past incidents.
//!
//! [`IncidentIndex`] keeps one tantivy document per incident id. The incident's exact values — rule
//! keys (from its `history:` evidence), ATT&CK technique and tactic ids, observable values, scope
//! IPs, hosts and users — are indexed untokenized and lowercased, so an IP or a hash matches exactly;
//! its title, rule keys and timeline summaries are indexed as tokenized text for free-text search.
//!
//! [`IncidentIndex::similar`] ranks incidents by the exact values they share with the given one:
//! each shared value scores its kind's weight (hashes weigh most, tactics least) times its rarity in
//! the index (BM25's idf), and an incident's score is the sum over the values it shares. The query
//! is built from terms, never parsed, so whatever an attacker put in an alert is only ever data.
//! [`IncidentIndex::search`] takes tantivy's query syntax (`host:web01 AND technique:t1059.001`).
//!
//! The index lives in RAM ([`IncidentIndex::in_memory`]) or in a directory
//! ([`IncidentIndex::open`]); see `docs/search.md`.

mod error;
mod fields;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use picket_core::Incident;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, QueryParser, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::store::Compressor;
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher,
    TantivyDocument, TantivyError, Term,
};

pub use error::SearchError;

use fields::{FieldKind, Fields, Key, exact_analyzer, keys, tokenizers};

/// At most this many of an incident's exact values make up a [`IncidentIndex::similar`] query: the
/// rarest and weightiest ones.
pub const MAX_QUERY_TERMS: usize = 64;

/// At most this many hits are returned, whatever `limit` says.
pub const MAX_LIMIT: usize = 1000;

/// At most this many of an incident's exact values are looked up to choose the query terms.
const MAX_CANDIDATES: usize = 512;

/// Memory budget of the single indexing thread.
const WRITER_MEMORY_BYTES: usize = 32_000_000;

/// Written in every commit's payload. Bump it when what is indexed or how it is normalized changes
/// without the schema changing, so that an old index is reported as needing a rebuild.
const FORMAT: &str = "picket-search/1";

/// An incident found by [`IncidentIndex::similar`] or [`IncidentIndex::search`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    pub incident_id: String,
    pub title: String,
    /// Higher is more similar (or more relevant); only comparable within one result list.
    pub score: f32,
    /// `malicious`, `suspicious`, `benign` or `needs_review`.
    pub verdict: String,
    /// RFC 3339.
    pub first_seen: String,
    /// Why it matched, most telling first: the shared values as `<kind>:<value>` for `similar`
    /// (`sha256:…`, `ipv4:203.0.113.7`, `technique:T1059.001`, `rule:…`, `host:…`, `user:…`), the
    /// query terms found in it as `<field>:<term>` for `search`.
    pub matched: Vec<String>,
}

/// A full-text index of incidents. `Send + Sync`: share it in an `Arc`. Searches run concurrently;
/// upserts are serialized on the one writer.
pub struct IncidentIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter<TantivyDocument>>,
    fields: Fields,
    parser: QueryParser,
}

impl std::fmt::Debug for IncidentIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IncidentIndex")
            .field("directory", self.index.directory())
            .finish_non_exhaustive()
    }
}

fn settings() -> IndexSettings {
    IndexSettings {
        // Explicit, so that the index does not depend on which compression features of tantivy
        // happen to be enabled in the build that created it.
        docstore_compression: Compressor::None,
        ..IndexSettings::default()
    }
}

impl IncidentIndex {
    /// An empty index in RAM.
    pub fn in_memory() -> Result<Self, SearchError> {
        let (schema, fields) = Fields::schema();
        let index = Index::builder()
            .schema(schema)
            .settings(settings())
            .tokenizers(tokenizers())
            .create_in_ram()?;
        Self::with_index(index, fields, None)
    }

    /// The index in `dir`, created (with the directory) when there is none. An index written with
    /// another schema or format is [`SearchError::SchemaMismatch`], an unreadable one
    /// [`SearchError::Corrupt`] (both [`SearchError::needs_rebuild`]); one whose writer lock is held
    /// (another `IncidentIndex` on the same directory) is [`SearchError::Locked`].
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        let io = |source| SearchError::Io {
            path: dir.to_owned(),
            source,
        };
        let corrupt = |e: TantivyError| SearchError::Corrupt {
            path: dir.to_owned(),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let directory = MmapDirectory::open(dir).map_err(|e| io(std::io::Error::other(e)))?;
        let (schema, fields) = Fields::schema();
        let exists = Index::exists(&directory).map_err(|e| corrupt(e.into()))?;
        let index = if exists {
            let mut index = Index::open(directory).map_err(corrupt)?;
            index.set_tokenizers(tokenizers());
            if index.schema() != schema {
                return Err(SearchError::SchemaMismatch {
                    path: dir.to_owned(),
                    detail: "its fields differ from this version's".to_owned(),
                });
            }
            let metas = index.load_metas().map_err(corrupt)?;
            if let Some(format) = metas.payload.as_deref()
                && format != FORMAT
            {
                return Err(SearchError::SchemaMismatch {
                    path: dir.to_owned(),
                    detail: format!("format {format:?}, this version writes {FORMAT:?}"),
                });
            }
            index
        } else {
            Index::builder()
                .schema(schema)
                .settings(settings())
                .tokenizers(tokenizers())
                .open_or_create(directory)?
        };
        Self::with_index(index, fields, Some(dir))
    }

    fn with_index(index: Index, fields: Fields, dir: Option<&Path>) -> Result<Self, SearchError> {
        let path = || {
            dir.map(Path::to_owned)
                .unwrap_or_else(|| PathBuf::from(":memory:"))
        };
        // The reader first: it opens every segment, so a damaged index shows here.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e: TantivyError| SearchError::Corrupt {
                path: path(),
                detail: e.to_string(),
            })?;
        let writer = index
            .writer_with_num_threads(1, WRITER_MEMORY_BYTES)
            .map_err(|e| match e {
                TantivyError::LockFailure(..) => SearchError::Locked { path: path() },
                e => e.into(),
            })?;
        let mut parser = QueryParser::new(
            index.schema(),
            fields.default_search().iter().map(|(f, _)| *f).collect(),
            index.tokenizers().clone(),
        );
        for (field, boost) in fields.default_search() {
            parser.set_field_boost(field, boost);
        }
        Ok(Self {
            index,
            reader,
            writer: Mutex::new(writer),
            fields,
            parser,
        })
    }

    /// Adds the incidents, replacing any indexed incident with the same id (the last of the slice
    /// wins when it repeats an id), and commits: they are searchable when this returns. On error
    /// nothing of the batch is kept.
    pub fn upsert(&self, incidents: &[Incident]) -> Result<(), SearchError> {
        if incidents.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let result = (|| -> Result<(), SearchError> {
            let mut analyzer = exact_analyzer();
            for incident in incidents {
                writer.delete_term(Term::from_field_text(self.fields.id, &incident.id));
                let keys = keys(incident, &mut analyzer);
                writer.add_document(self.fields.document(incident, &keys))?;
            }
            let mut commit = writer.prepare_commit()?;
            commit.set_payload(FORMAT);
            commit.commit()?;
            Ok(())
        })();
        if let Err(e) = result {
            if let Err(r) = writer.rollback() {
                tracing::warn!(error = %r, "search index: rollback after a failed upsert failed");
            }
            return Err(e);
        }
        drop(writer);
        self.reader.reload()?;
        tracing::debug!(incidents = incidents.len(), "search index: upserted");
        Ok(())
    }

    /// Indexed incidents.
    pub fn len(&self) -> Result<u64, SearchError> {
        Ok(self.reader.searcher().num_docs())
    }

    /// Whether no incident is indexed.
    pub fn is_empty(&self) -> Result<bool, SearchError> {
        Ok(self.len()? == 0)
    }

    /// Up to `limit` (at most [`MAX_LIMIT`]) indexed incidents sharing exact values with
    /// `incident`, best first, never `incident` itself (by id). Each shared value scores its kind's
    /// weight times its idf among the other incidents; the query uses the [`MAX_QUERY_TERMS`]
    /// values scoring highest. `incident` need not be indexed.
    pub fn similar(&self, incident: &Incident, limit: usize) -> Result<Vec<Hit>, SearchError> {
        let limit = limit.min(MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let id_term = Term::from_field_text(self.fields.id, &incident.id);
        let own = self.find(&searcher, &id_term)?;
        let others = searcher.num_docs() - u64::from(own.is_some());
        if others == 0 {
            return Ok(Vec::new());
        }

        let mut analyzer = exact_analyzer();
        let mut chosen: Vec<(Key, Term, f32)> = Vec::new();
        for key in keys(incident, &mut analyzer)
            .into_iter()
            .take(MAX_CANDIDATES)
        {
            let term = Term::from_field_text(self.fields.exact(FieldKind::of(key.kind)), &key.norm);
            let mut df = searcher.doc_freq(&term)?;
            if let Some(own) = own
                && contains(&searcher, own, &term)?
            {
                df = df.saturating_sub(1);
            }
            if df == 0 {
                continue;
            }
            // BM25's idf over the other incidents (deleted versions may still count in `df`).
            let df = df.min(others) as f32;
            let idf = ((others as f32 + 1.0) / (df + 0.5)).ln();
            let score = key.weight * idf;
            chosen.push((key, term, score));
        }
        // Stable: among equal scores the incident's own order (rules, techniques, observables…).
        chosen.sort_by(|a, b| b.2.total_cmp(&a.2));
        chosen.truncate(MAX_QUERY_TERMS);
        if chosen.is_empty() {
            return Ok(Vec::new());
        }

        let mut clauses: Vec<(Occur, Box<dyn Query>)> = chosen
            .iter()
            .map(|(_, term, score)| {
                let q = TermQuery::new(term.clone(), IndexRecordOption::Basic);
                let q: Box<dyn Query> = Box::new(ConstScoreQuery::new(Box::new(q), *score));
                (Occur::Should, q)
            })
            .collect();
        clauses.push((
            Occur::MustNot,
            Box::new(TermQuery::new(id_term, IndexRecordOption::Basic)),
        ));
        let query = BooleanQuery::new(clauses);
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;

        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let mut matched = Vec::new();
            for (key, term, _) in &chosen {
                if contains(&searcher, addr, term)? {
                    matched.push(format!("{}:{}", key.kind.label(), key.value));
                }
            }
            hits.push(self.hit(&searcher, addr, score, matched)?);
        }
        Ok(hits)
    }

    /// Up to `limit` (at most [`MAX_LIMIT`]) incidents matching `query`, in tantivy's query syntax
    /// (`powershell`, `"lateral movement"`, `observable:203.0.113.7`, `host:web01 AND
    /// technique:t1059.001`, `verdict:malicious -status:closed`). Terms without a field search the
    /// title, rule keys, timeline summaries and every exact-value field; exact fields are
    /// lowercased, so `host:WEB01` finds `web01`. A query that does not parse, or names a field
    /// that is not searchable, is [`SearchError::Query`] with the parser's message.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, SearchError> {
        let query = self
            .parser
            .parse_query(query)
            .map_err(|e| SearchError::Query(e.to_string()))?;
        let limit = limit.min(MAX_LIMIT);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        // Some queries parse but are refused when they run (`nosuchfield:*`, a range on a text
        // field): those are the query's fault too.
        let top = searcher
            .search(&query, &TopDocs::with_limit(limit).order_by_score())
            .map_err(|e| match e {
                TantivyError::FieldNotFound(_)
                | TantivyError::SchemaError(_)
                | TantivyError::InvalidArgument(_) => SearchError::Query(e.to_string()),
                e => e.into(),
            })?;

        let mut terms: Vec<&Term> = Vec::new();
        let mut seen = HashSet::new();
        query.query_terms(&mut |term, _| {
            if seen.insert(term.clone()) {
                terms.push(term);
            }
        });
        let schema = self.index.schema();
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let mut matched = Vec::new();
            for term in &terms {
                if let Some(text) = term.value().as_str()
                    && contains(&searcher, addr, term)?
                {
                    matched.push(format!("{}:{text}", schema.get_field_name(term.field())));
                }
            }
            hits.push(self.hit(&searcher, addr, score, matched)?);
        }
        Ok(hits)
    }

    /// The live document indexed under this id term.
    fn find(&self, searcher: &Searcher, id: &Term) -> Result<Option<DocAddress>, SearchError> {
        let q = TermQuery::new(id.clone(), IndexRecordOption::Basic);
        let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
        Ok(top.first().map(|(_, addr)| *addr))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        score: f32,
        matched: Vec<String>,
    ) -> Result<Hit, SearchError> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        Ok(Hit {
            incident_id: text(self.fields.id),
            title: text(self.fields.title),
            score,
            verdict: text(self.fields.verdict),
            first_seen: text(self.fields.first_seen),
            matched,
        })
    }
}

/// Whether the document has the term (in the inverted index: exact, whatever is stored).
fn contains(searcher: &Searcher, addr: DocAddress, term: &Term) -> Result<bool, SearchError> {
    let segment = searcher.segment_reader(addr.segment_ord);
    let inverted = segment.inverted_index(term.field())?;
    let Some(mut postings) = inverted
        .read_postings(term, IndexRecordOption::Basic)
        .map_err(|e| SearchError::Index(e.to_string()))?
    else {
        return Ok(false);
    };
    // `seek` wants a target at or after the current document.
    let first = postings.doc();
    Ok(first == addr.doc_id || (first < addr.doc_id && postings.seek(addr.doc_id) == addr.doc_id))
}

#[cfg(test)]
mod tests;
