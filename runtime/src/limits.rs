//! [`Limits`]: what one instance may use — memory, wall-clock time, CPU, tables and
//! instances — and the [`ResourceLimiter`](wasmtime::ResourceLimiter) that enforces the
//! memory and table parts while remembering whether it had to refuse memory, and counts
//! what it lets grow in the container's [`Usage`].

use crate::usage::{TABLE_ELEMENT_BYTES, Usage};
use std::sync::Arc;
use std::time::Duration;

/// Default cap on table elements per table: generous for real programs (Rust binaries use
/// a few hundred), small enough that a hostile module cannot balloon host memory.
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 100_000;

/// Default cap on core instances, tables and memories created within one store. A
/// component of a Rust program uses a handful of each.
pub const DEFAULT_MAX_STORE_OBJECTS: usize = 32;

/// Per-instance limits. `None` means "no limit beyond the engine's pool".
#[derive(Clone, Debug)]
pub struct Limits {
    /// Cap on linear memory, in bytes.
    pub memory: Option<u64>,
    /// Wall-clock deadline from the start of the instance.
    pub deadline: Option<Duration>,
    /// CPU bound in millicores (1000 = one full core), enforced in epoch time slices.
    pub cpu_millis: Option<u32>,
    /// Cap on elements of any one table.
    pub table_elements: usize,
    /// Cap on instances, tables and memories within the store.
    pub store_objects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory: None,
            deadline: None,
            cpu_millis: None,
            table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            store_objects: DEFAULT_MAX_STORE_OBJECTS,
        }
    }
}

/// Enforces [`Limits`] on memory and tables for one store, and counts the bytes it lets
/// grow in a [`Usage`] until the store (and so this limiter) is dropped.
pub(crate) struct Limiter {
    memory: Option<usize>,
    table_elements: usize,
    store_objects: usize,
    /// Set once a memory growth was refused: an instance that then fails failed because
    /// of its memory limit.
    pub(crate) memory_refused: bool,
    usage: Arc<Usage>,
    /// Bytes this store has added to `usage`.
    held: u64,
    /// Bytes of the last growth allowed, taken back if wasmtime reports that it failed.
    last_memory_growth: u64,
    last_table_growth: u64,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits, usage: Arc<Usage>) -> Self {
        Self {
            memory: limits
                .memory
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            table_elements: limits.table_elements,
            store_objects: limits.store_objects,
            memory_refused: false,
            usage,
            held: 0,
            last_memory_growth: 0,
            last_table_growth: 0,
        }
    }

    fn hold(&mut self, bytes: u64) {
        self.held += bytes;
        self.usage.add_memory(bytes);
    }

    fn give_back(&mut self, bytes: u64) {
        let bytes = bytes.min(self.held);
        self.held -= bytes;
        self.usage.release_memory(bytes);
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        self.usage.release_memory(self.held);
    }
}

/// Growth from `current` to `desired` units, in bytes.
fn growth(current: usize, desired: usize, unit: u64) -> u64 {
    u64::try_from(desired.saturating_sub(current))
        .unwrap_or(u64::MAX)
        .saturating_mul(unit)
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.memory.is_none_or(|cap| desired <= cap)
            && maximum.is_none_or(|max| desired <= max);
        if allowed {
            // Instantiation passes here too, growing each memory from 0 to its minimum.
            self.last_memory_growth = growth(current, desired, 1);
            self.hold(self.last_memory_growth);
        } else {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        // Called when growth this limiter allowed did not happen after all. (It is also
        // called for a growth wasmtime refused before asking, possible only with 1-byte
        // pages; then a growth that did happen is taken back until the store is dropped.)
        let failed = std::mem::take(&mut self.last_memory_growth);
        self.give_back(failed);
        Ok(())
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.table_elements && maximum.is_none_or(|max| desired <= max);
        if allowed {
            self.last_table_growth = growth(current, desired, TABLE_ELEMENT_BYTES);
            self.hold(self.last_table_growth);
        }
        Ok(allowed)
    }

    fn table_grow_failed(&mut self, _error: wasmtime::Error) -> wasmtime::Result<()> {
        let failed = std::mem::take(&mut self.last_table_growth);
        self.give_back(failed);
        Ok(())
    }

    fn instances(&self) -> usize {
        self.store_objects
    }

    fn tables(&self) -> usize {
        self.store_objects
    }

    fn memories(&self) -> usize {
        self.store_objects
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::ResourceLimiter as _;

    #[test]
    fn refusing_memory_is_remembered() {
        let mut limiter = Limiter::new(
            &Limits {
                memory: Some(1 << 20),
                ..Limits::default()
            },
            Arc::default(),
        );
        assert!(limiter.memory_growing(0, 1 << 20, None).expect("ok"));
        assert!(!limiter.memory_refused);
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).expect("ok"));
        assert!(limiter.memory_refused);
    }

    #[test]
    fn growth_is_counted_until_the_limiter_is_dropped() {
        let usage = Arc::new(Usage::new());
        let mut limiter = Limiter::new(&Limits::default(), usage.clone());
        assert!(limiter.memory_growing(0, 65536, None).expect("ok"));
        assert!(limiter.table_growing(0, 10, None).expect("ok"));
        assert_eq!(usage.memory_bytes(), 65536 + 10 * TABLE_ELEMENT_BYTES);
        assert!(limiter.memory_growing(65536, 131072, None).expect("ok"));
        limiter
            .memory_grow_failed(wasmtime::format_err!("no room"))
            .expect("ok");
        assert_eq!(usage.memory_bytes(), 65536 + 10 * TABLE_ELEMENT_BYTES);
        assert!(!limiter.table_growing(10, 1 << 30, None).expect("ok"));
        assert_eq!(usage.memory_bytes(), 65536 + 10 * TABLE_ELEMENT_BYTES);
        drop(limiter);
        assert_eq!(usage.memory_bytes(), 0);
    }
}
