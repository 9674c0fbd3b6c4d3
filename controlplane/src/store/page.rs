//! Assembling one page of a listing, of the current keys or of the keys as they were at a
//! past revision: [`assemble`], shared by every [`Store`](super::Store) implementation.
//!
//! A past revision R is read from the current state and the events after R (which every
//! implementation keeps, back to its compaction point): the value a key had at R is the
//! `prev` of the first event after R that touched it (none for a create), and a key no event
//! touched since R has its current value. This is what lets a paginated list continue at
//! its first page's revision, as Kubernetes' continue tokens do (etcd reads at that
//! revision), so that a client that lists page by page and then watches from the list's
//! revision sees every object exactly once, whatever was written between its pages.

use super::{Error, Event, KeyValue, ListOptions, Result, Revisions};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::iter::Peekable;

/// What a page was assembled from: the items in key order and whether more keys follow.
#[derive(Debug)]
pub(crate) struct Assembled {
    pub(crate) items: Vec<KeyValue>,
    pub(crate) more: bool,
}

/// One page under `options`, from `current` — the current keys after `options.after`
/// (already limited to the prefix), in key order — and, for a past revision, `since`: the
/// events after that revision up to the revision `current` is at, in revision order,
/// filtered to the prefix by the caller. Without `since` the page is of the current keys.
pub(crate) fn assemble<C, S>(
    current: C,
    since: Option<S>,
    options: &ListOptions,
) -> Result<Assembled>
where
    C: Iterator<Item = Result<KeyValue>>,
    S: IntoIterator,
    S::Item: Borrow<Event>,
{
    let limit = if options.limit == 0 {
        usize::MAX
    } else {
        options.limit
    };
    let after = options.after.as_deref();
    // The value each key touched since R had at R.
    let mut past: BTreeMap<String, Option<KeyValue>> = BTreeMap::new();
    for event in since.into_iter().flatten() {
        let event = event.borrow();
        if after.is_some_and(|after| event.key() <= after) || past.contains_key(event.key()) {
            continue;
        }
        past.insert(event.kv.key.clone(), event.prev.clone());
    }
    let mut merged = Merge {
        current: current.peekable(),
        past: past.into_iter().peekable(),
    };
    let mut items = Vec::new();
    while let Some(value) = merged.next_value()? {
        if items.len() == limit {
            return Ok(Assembled { items, more: true });
        }
        items.push(value);
    }
    Ok(Assembled { items, more: false })
}

/// Checks that the keys can be read as of `requested` (non-zero) given where the store's
/// revisions stand: not compacted away, not in the future.
pub(crate) fn check_revision(requested: u64, revisions: Revisions) -> Result<()> {
    if requested < revisions.compacted {
        return Err(Error::Compacted {
            requested,
            compacted: revisions.compacted,
        });
    }
    if requested > revisions.current {
        return Err(Error::FutureRevision {
            requested,
            current: revisions.current,
        });
    }
    Ok(())
}

/// The current keys and the past values of the keys touched since, merged in key order,
/// the past value winning.
struct Merge<C: Iterator, P: Iterator> {
    current: Peekable<C>,
    past: Peekable<P>,
}

impl<C, P> Merge<C, P>
where
    C: Iterator<Item = Result<KeyValue>>,
    P: Iterator<Item = (String, Option<KeyValue>)>,
{
    /// The next key's value at the page's revision, skipping keys that did not exist then.
    fn next_value(&mut self) -> Result<Option<KeyValue>> {
        loop {
            let step = match (self.current.peek(), self.past.peek()) {
                (None, None) => return Ok(None),
                (Some(Err(_)), _) | (Some(Ok(_)), None) => Step::Current,
                (None, Some(_)) => Step::Past,
                (Some(Ok(now)), Some((key, _))) => match key.as_str().cmp(&now.key) {
                    Ordering::Less => Step::Past,
                    Ordering::Equal => Step::Both,
                    Ordering::Greater => Step::Current,
                },
            };
            let value = match step {
                Step::Current => self.current.next().transpose()?,
                Step::Both => {
                    self.current.next();
                    self.past.next().and_then(|(_, value)| value)
                }
                Step::Past => self.past.next().and_then(|(_, value)| value),
            };
            if value.is_some() {
                return Ok(value);
            }
        }
    }
}

/// Which side the next key comes from.
enum Step {
    Current,
    Past,
    /// The same key on both sides: its past value.
    Both,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, revision: u64) -> KeyValue {
        KeyValue {
            key: key.to_owned(),
            value: bytes::Bytes::from(format!("{key}@{revision}")),
            create_revision: revision,
            mod_revision: revision,
        }
    }

    fn current(items: &[KeyValue]) -> impl Iterator<Item = Result<KeyValue>> + '_ {
        items.iter().cloned().map(Ok)
    }

    fn keys(page: &Assembled) -> Vec<(String, u64)> {
        page.items
            .iter()
            .map(|kv| (kv.key.clone(), kv.mod_revision))
            .collect()
    }

    fn options(after: Option<&str>, limit: usize) -> ListOptions {
        ListOptions {
            after: after.map(str::to_owned),
            limit,
            revision: 0,
        }
    }

    #[test]
    fn current_pages_follow_the_limit() {
        let now = [kv("a", 1), kv("b", 2), kv("c", 3)];
        let page = assemble(current(&now), None::<Vec<Event>>, &options(None, 2)).expect("page");
        assert_eq!(keys(&page), [("a".into(), 1), ("b".into(), 2)]);
        assert!(page.more);
        let page = assemble(
            current(&now[2..]),
            None::<Vec<Event>>,
            &options(Some("b"), 2),
        )
        .expect("page");
        assert_eq!(keys(&page), [("c".into(), 3)]);
        assert!(!page.more);
    }

    #[test]
    fn a_past_page_undoes_creates_updates_and_deletes_since() {
        // At revision 3: a@1, b@2, d@3. Since: c created (4), b updated (5), d deleted (6),
        // a updated twice (7, 8).
        let now = [kv("a", 8), kv("b", 5), kv("c", 4)];
        let since = vec![
            Event::put(kv("c", 4), None),
            Event::put(kv("b", 5), Some(kv("b", 2))),
            Event::delete(kv("d", 3), 6),
            Event::put(kv("a", 7), Some(kv("a", 1))),
            Event::put(kv("a", 8), Some(kv("a", 7))),
        ];
        let page = assemble(current(&now), Some(since.clone()), &options(None, 0)).expect("page");
        assert_eq!(
            keys(&page),
            [("a".into(), 1), ("b".into(), 2), ("d".into(), 3)]
        );
        assert!(!page.more);
        // Paged by two, then after the last key of the first page.
        let first = assemble(current(&now), Some(since.clone()), &options(None, 2)).expect("page");
        assert_eq!(keys(&first), [("a".into(), 1), ("b".into(), 2)]);
        assert!(first.more);
        let rest = assemble(current(&now[2..]), Some(since), &options(Some("b"), 2)).expect("page");
        assert_eq!(keys(&rest), [("d".into(), 3)]);
        assert!(!rest.more);
    }

    #[test]
    fn more_is_false_when_only_keys_created_since_follow() {
        let now = [kv("a", 1), kv("b", 2)];
        let since = vec![Event::put(kv("b", 2), None)];
        let page = assemble(current(&now), Some(since), &options(None, 1)).expect("page");
        assert_eq!(keys(&page), [("a".into(), 1)]);
        assert!(!page.more);
    }
}
