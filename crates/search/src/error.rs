use std::path::PathBuf;

/// What went wrong with the incident index.
///
/// Messages carry tantivy's own text; tantivy's error type is not part of the API.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The free-text query does not parse (or names a field that is not searchable). The message is
    /// the query parser's.
    #[error("invalid search query: {0}")]
    Query(String),
    /// An index exists in the directory but was written with another schema or index format
    /// version: rebuild it (delete the directory and upsert the incidents again).
    #[error("the search index at {} has another schema ({detail}): rebuild it", path.display())]
    SchemaMismatch { path: PathBuf, detail: String },
    /// The index in the directory cannot be read (a missing or damaged file): rebuild it.
    #[error("the search index at {} is unreadable ({detail}): rebuild it", path.display())]
    Corrupt { path: PathBuf, detail: String },
    /// Another writer (in this process or another) holds the index's lock. Not a reason to rebuild.
    #[error("the search index at {} is in use by another writer", path.display())]
    Locked { path: PathBuf },
    /// The directory cannot be created or opened.
    #[error("search index directory {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Any other failure of the index engine.
    #[error("search index: {0}")]
    Index(String),
}

impl SearchError {
    /// Whether deleting the index directory and indexing the incidents again fixes this error
    /// (a schema change or a damaged index), as opposed to a lock held by someone else or an I/O
    /// problem that a rebuild would hit as well.
    pub fn needs_rebuild(&self) -> bool {
        matches!(self, Self::SchemaMismatch { .. } | Self::Corrupt { .. })
    }
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        Self::Index(e.to_string())
    }
}
