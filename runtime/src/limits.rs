//! [`Limits`]: what one instance may use — memory, wall-clock time, CPU, tables and
//! instances — and the [`ResourceLimiter`](wasmtime::ResourceLimiter) that enforces the
//! memory and table parts while remembering whether it had to refuse memory.

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

/// Enforces [`Limits`] on memory and tables for one store.
pub(crate) struct Limiter {
    memory: Option<usize>,
    table_elements: usize,
    store_objects: usize,
    /// Set once a memory growth was refused: an instance that then fails failed because
    /// of its memory limit.
    pub(crate) memory_refused: bool,
}

impl Limiter {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            memory: limits
                .memory
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX)),
            table_elements: limits.table_elements,
            store_objects: limits.store_objects,
            memory_refused: false,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.memory.is_none_or(|cap| desired <= cap)
            && maximum.is_none_or(|max| desired <= max);
        if !allowed {
            self.memory_refused = true;
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.table_elements && maximum.is_none_or(|max| desired <= max))
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
        let mut limiter = Limiter::new(&Limits {
            memory: Some(1 << 20),
            ..Limits::default()
        });
        assert!(limiter.memory_growing(0, 1 << 20, None).expect("ok"));
        assert!(!limiter.memory_refused);
        assert!(!limiter.memory_growing(1 << 20, 2 << 20, None).expect("ok"));
        assert!(limiter.memory_refused);
    }
}
