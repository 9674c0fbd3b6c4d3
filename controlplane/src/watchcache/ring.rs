//! The bounded window of recent events a cache watch replays from: [`Ring`].

use crate::store::Event;
use std::collections::VecDeque;
use std::sync::Arc;

/// The most recent events under the cache's root, oldest first, at most `capacity` of them.
///
/// Invariant: the ring holds every root event with a revision above [`Ring::floor`] up to
/// the cache's revision. So a watch can start after any revision from the floor on; the
/// floor is the revision of the last event evicted (or the revision of the listing the ring
/// started after).
#[derive(Debug)]
pub(crate) struct Ring {
    events: VecDeque<Arc<Event>>,
    capacity: usize,
    floor: u64,
}

impl Ring {
    /// An empty ring of `capacity` events, complete from `floor` on.
    pub(crate) fn new(capacity: usize, floor: u64) -> Self {
        Self {
            events: VecDeque::new(),
            capacity,
            floor,
        }
    }

    /// The oldest revision a watch may start after.
    pub(crate) fn floor(&self) -> u64 {
        self.floor
    }

    /// Appends `event` (newer than every event held), evicting the oldest beyond capacity.
    pub(crate) fn push(&mut self, event: Arc<Event>) {
        self.events.push_back(event);
        while self.events.len() > self.capacity {
            if let Some(evicted) = self.events.pop_front() {
                self.floor = evicted.revision;
            }
        }
    }

    /// Forgets every event: the ring is complete from `floor` on (after a relist at it).
    pub(crate) fn reset(&mut self, floor: u64) {
        self.events.clear();
        self.floor = floor;
    }

    /// The events above `after` whose key starts with `prefix`, oldest first.
    pub(crate) fn since(&self, prefix: &str, after: u64) -> VecDeque<Arc<Event>> {
        let start = self.events.partition_point(|e| e.revision <= after);
        self.events
            .range(start..)
            .filter(|e| e.key().starts_with(prefix))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventKind, KeyValue};
    use bytes::Bytes;

    fn event(revision: u64, key: &str) -> Arc<Event> {
        Arc::new(Event {
            kind: EventKind::Put,
            revision,
            kv: KeyValue {
                key: key.to_owned(),
                value: Bytes::new(),
                create_revision: revision,
                mod_revision: revision,
            },
            prev: None,
        })
    }

    fn revisions(events: &VecDeque<Arc<Event>>) -> Vec<u64> {
        events.iter().map(|e| e.revision).collect()
    }

    #[test]
    fn eviction_raises_the_floor_and_replay_filters() {
        let mut ring = Ring::new(3, 4);
        for (revision, key) in [(5, "/a/1"), (7, "/b/1"), (8, "/a/2"), (10, "/a/3")] {
            ring.push(event(revision, key));
        }
        // 5 was evicted: the ring is complete after 5 only.
        assert_eq!(ring.floor(), 5);
        assert_eq!(revisions(&ring.since("", 5)), [7, 8, 10]);
        assert_eq!(revisions(&ring.since("/a/", 6)), [8, 10]);
        assert_eq!(revisions(&ring.since("/a/", 10)), Vec::<u64>::new());
        ring.reset(12);
        assert_eq!(ring.floor(), 12);
        assert!(ring.since("", 0).is_empty());
    }

    #[test]
    fn a_ring_of_no_capacity_keeps_the_floor_at_the_last_event() {
        let mut ring = Ring::new(0, 0);
        ring.push(event(3, "/a"));
        assert_eq!(ring.floor(), 3);
        assert!(ring.since("", 0).is_empty());
    }
}
