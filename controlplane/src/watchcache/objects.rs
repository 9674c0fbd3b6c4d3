//! The current objects under the cache's root, as of one revision: [`Objects`].

use crate::store::{Event, EventKind, KeyValue, List, ListOptions, Result, page};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

/// Every key under the root with its value, as of [`Objects::revision`].
#[derive(Debug, Default)]
pub(crate) struct Objects {
    map: BTreeMap<String, KeyValue>,
    /// The revision this state is at: every write up to it is reflected, none after.
    revision: u64,
}

impl Objects {
    /// The state a listing read.
    pub(crate) fn from_list(list: List) -> Self {
        Self {
            map: list
                .items
                .into_iter()
                .map(|kv| (kv.key.clone(), kv))
                .collect(),
            revision: list.revision,
        }
    }

    /// The revision this state is at.
    pub(crate) fn revision(&self) -> u64 {
        self.revision
    }

    /// Applies `event`; false (and no change) if the state already reflects its revision.
    pub(crate) fn apply(&mut self, event: &Event) -> bool {
        if event.revision <= self.revision {
            return false;
        }
        match event.kind {
            EventKind::Put => {
                self.map.insert(event.kv.key.clone(), event.kv.clone());
            }
            EventKind::Delete => {
                self.map.remove(&event.kv.key);
            }
        }
        self.revision = event.revision;
        true
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &str) -> Option<KeyValue> {
        self.map.get(key).cloned()
    }

    /// One page of the keys starting with `prefix`, as [`Store::list_page`] defines it: of
    /// the current keys, or for a past revision, of the keys as they were then, undoing
    /// `since` — the events after that revision, oldest first.
    ///
    /// [`Store::list_page`]: crate::store::Store::list_page
    pub(crate) fn list_page(
        &self,
        prefix: &str,
        options: &ListOptions,
        since: Option<VecDeque<Arc<Event>>>,
    ) -> Result<List> {
        let start = match options.after.as_deref() {
            Some(after) if after >= prefix => Bound::Excluded(after),
            _ => Bound::Included(prefix),
        };
        let current = self
            .map
            .range::<str, _>((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(_, kv)| Ok(kv.clone()));
        // Only events the objects reflect: the ring may already hold later ones.
        let since = since.map(|events| {
            events
                .into_iter()
                .take_while(|event| event.revision <= self.revision)
        });
        let page = page::assemble(current, since, options)?;
        Ok(List {
            items: page.items,
            revision: if options.revision == 0 {
                self.revision
            } else {
                options.revision
            },
            more: page.more,
        })
    }
}
