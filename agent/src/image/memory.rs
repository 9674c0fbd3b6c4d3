//! [`Memory`]: the bytes of recently used blobs, digest → [`Bytes`], so that pods of an image
//! already on the node share one copy and start without touching the disk. Bounded by a byte
//! budget, evicting the least recently used blob; an evicted blob stays alive for as long as
//! the pods holding it do, and is re-read from disk when next needed.

use std::collections::HashMap;

use bytes::Bytes;

/// Default byte budget: room for dozens of typical modules and components (1–20 MiB each)
/// while bounding a node that has pulled many distinct images.
pub(crate) const DEFAULT_MEMORY_BUDGET: usize = 256 << 20;

/// Recently used blobs.
#[derive(Debug)]
pub(crate) struct Memory {
    budget: usize,
    used: usize,
    /// Logical clock for recency.
    clock: u64,
    blobs: HashMap<String, (Bytes, u64)>,
}

impl Memory {
    /// An empty cache holding at most `budget` bytes.
    pub(crate) fn new(budget: usize) -> Self {
        Memory {
            budget,
            used: 0,
            clock: 0,
            blobs: HashMap::new(),
        }
    }

    /// The blob with `digest`, marked as just used.
    pub(crate) fn get(&mut self, digest: &str) -> Option<Bytes> {
        self.clock += 1;
        let (bytes, used_at) = self.blobs.get_mut(digest)?;
        *used_at = self.clock;
        Some(bytes.clone())
    }

    /// Keeps `bytes` as the blob `digest`, evicting the least recently used blobs to stay
    /// within budget. A blob larger than the whole budget is not kept.
    pub(crate) fn insert(&mut self, digest: &str, bytes: Bytes) {
        if bytes.len() > self.budget {
            return;
        }
        self.clock += 1;
        self.used += bytes.len();
        if let Some((old, _)) = self.blobs.insert(digest.to_owned(), (bytes, self.clock)) {
            self.used -= old.len();
        }
        while self.used > self.budget {
            let Some(oldest) = self
                .blobs
                .iter()
                .min_by_key(|(_, (_, used_at))| *used_at)
                .map(|(d, _)| d.clone())
            else {
                break;
            };
            if let Some((evicted, _)) = self.blobs.remove(&oldest) {
                self.used -= evicted.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_within_budget() {
        let mut memory = Memory::new(10);
        memory.insert("a", Bytes::from_static(b"aaaa"));
        memory.insert("b", Bytes::from_static(b"bbbb"));
        assert!(memory.get("a").is_some()); // b is now the least recently used
        memory.insert("c", Bytes::from_static(b"cccc"));
        assert!(memory.get("b").is_none());
        assert_eq!(memory.get("a").as_deref(), Some(&b"aaaa"[..]));
        assert_eq!(memory.get("c").as_deref(), Some(&b"cccc"[..]));
        assert_eq!(memory.used, 8);
    }

    #[test]
    fn shares_one_copy_and_skips_oversized_blobs() {
        let mut memory = Memory::new(10);
        memory.insert("a", Bytes::from(vec![1u8; 4]));
        let one = memory.get("a").expect("present");
        let two = memory.get("a").expect("present");
        assert_eq!(one.as_ptr(), two.as_ptr(), "clones share the allocation");
        memory.insert("big", Bytes::from(vec![0u8; 11]));
        assert!(memory.get("big").is_none());
        assert!(memory.get("a").is_some());
        memory.insert("a", Bytes::from(vec![2u8; 6]));
        assert_eq!(
            memory.used, 6,
            "replacing an entry accounts for the old size"
        );
    }
}
