//! [`RuntimeConfig`]: how the shared engine and its instance pool are sized.

use std::path::PathBuf;
use std::time::Duration;

/// Instances the pool holds by default: one per concurrently running container or
/// in-flight HTTP request. 1000 is wasmtime's and Spin's default and fits comfortably in
/// a 47-bit address space with 4 GiB memory reservations.
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;

/// Largest linear memory any one instance may grow to by default (a pod's
/// `resources.limits.memory` must fit under it).
pub const DEFAULT_MAX_MEMORY_PER_INSTANCE: u64 = 1 << 30;

/// Epoch tick: the granularity of CPU time slices, of wall-clock deadlines inside wasm
/// code, and the worst-case latency of a forced stop. 1 ms keeps forced stops well under
/// 10 ms while costing one thread wake-up per millisecond.
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(1);

/// How the pool lays out each linear memory's address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLayout {
    /// A 4 GiB reservation and guard regions per memory: compiled code needs no bounds
    /// checks (an access past the end faults in the guard and traps), at ~8.6 GiB of address
    /// space per instance slot — about 10,000 slots in a 47-bit address space.
    Guarded,
    /// A reservation of the per-instance memory limit and a small guard: compiled code
    /// checks bounds explicitly (a compare and branch per access), and a slot needs about a
    /// quarter of the address space — some 45,000 slots with 1 GiB per instance.
    Compact,
}

/// Configuration of a [`Runtime`](crate::Runtime).
#[derive(Clone, Debug)]
pub struct RuntimeConfig {
    /// Maximum concurrent instances (pool slots).
    pub max_instances: u32,
    /// Maximum linear memory of one instance, in bytes.
    pub max_memory_per_instance: u64,
    /// The memory layout; `None` picks [`MemoryLayout::Guarded`] when a pool of
    /// `max_instances` fits in the address space that way, else [`MemoryLayout::Compact`].
    pub memory_layout: Option<MemoryLayout>,
    /// Interval of the epoch ticker.
    pub epoch_tick: Duration,
    /// Directory for precompiled modules; `None` compiles in memory only.
    pub cache_dir: Option<PathBuf>,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            max_instances: DEFAULT_MAX_INSTANCES,
            max_memory_per_instance: DEFAULT_MAX_MEMORY_PER_INSTANCE,
            memory_layout: None,
            epoch_tick: DEFAULT_EPOCH_TICK,
            cache_dir: default_cache_dir(),
        }
    }
}

/// `$SKIFF_CACHE_DIR`, else `$XDG_CACHE_HOME/skiff/modules`, else
/// `$HOME/.cache/skiff/modules`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SKIFF_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("skiff").join("modules"))
}
