//! Reading every incident a filter selects, one page at a time.

use picket_core::Incident;

use crate::{IncidentFilter, Result, Store};

/// The incidents `filter` selects, page by page: the filter's `limit` is the page size and its
/// `offset` where the first page starts. Stops after the last (short) page, or once `at_most`
/// incidents have been read.
/// Use: `while let Some(page) = pages.next(store).await? { … }`.
#[derive(Debug, Clone)]
pub struct IncidentPages {
    filter: IncidentFilter,
    at_most: u64,
    read: u64,
    done: bool,
}

impl IncidentPages {
    pub fn new(filter: IncidentFilter) -> Self {
        Self {
            done: filter.limit == 0,
            filter,
            at_most: u64::MAX,
            read: 0,
        }
    }

    /// Reads no more than `n` incidents in all.
    pub fn at_most(mut self, n: u64) -> Self {
        self.at_most = n;
        self
    }

    /// The next page, or `None` when every selected incident (or `at_most` of them) has been read.
    pub async fn next(&mut self, store: &dyn Store) -> Result<Option<Vec<Incident>>> {
        if self.done || self.read >= self.at_most {
            return Ok(None);
        }
        let left = self.at_most - self.read;
        let mut filter = self.filter.clone();
        filter.limit = u32::try_from(left).map_or(filter.limit, |l| l.min(filter.limit));
        let page = store.list_incidents(&filter).await?;
        if page.len() < filter.limit as usize {
            self.done = true;
        }
        self.read += page.len() as u64;
        self.filter.offset = self.filter.offset.saturating_add(filter.limit);
        if page.is_empty() {
            return Ok(None);
        }
        Ok(Some(page))
    }
}
