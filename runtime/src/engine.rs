//! [`SharedEngine`]: the process's one wasmtime engine — pooling allocator sized from the
//! [`RuntimeConfig`], copy-on-write memory images, epoch interruption — together with the
//! [`EpochTicker`] that advances its epoch. It is what running an instance needs of the
//! runtime: the engine, the epoch tick and the pool's memory cap. The
//! [`Runtime`](crate::Runtime) holds one, and so does every HTTP handler, so the ticker
//! runs as long as anything may still start an instance.
//!
//! Parts: [`SharedEngine`]; the pool tuning constants ([`MEMORY_KEEP_RESIDENT`],
//! [`TABLE_KEEP_RESIDENT`], [`DECOMMIT_BATCH`], [`COMPACT_GUARD`]); `engine_config`, which
//! lays memories out as the [`MemoryLayout`] says (the guarded layout when the pool fits,
//! else the compact one).

use crate::config::{MemoryLayout, RuntimeConfig};
use crate::error::{Error, Result, one_line};
use crate::limits::Limits;
use crate::ticker::EpochTicker;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The size of a wasm page.
const WASM_PAGE: u64 = 64 * 1024;

/// Core instances a component may need per component instance: a Rust `wasm32-wasip2`
/// program is a main module plus adapter shims.
const CORE_INSTANCES_PER_COMPONENT: u32 = 4;

/// The engine, its configuration and its epoch ticker. Cheap to clone; clones share
/// everything, and the ticker stops when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct SharedEngine {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    config: RuntimeConfig,
    layout: MemoryLayout,
    // Dropped last: stops the ticker thread.
    _ticker: EpochTicker,
}

impl SharedEngine {
    /// Creates the engine, its pool and its ticker. A pool too large for the process's
    /// address space is [`Error::TooManyInstances`], naming the largest that fits.
    ///
    /// Without a chosen layout, the guarded one is tried first and the compact one when the
    /// guarded pool does not fit; the bound is then that of the compact layout.
    pub(crate) fn new(config: RuntimeConfig) -> Result<Self> {
        let (engine, layout) = match config.memory_layout {
            Some(layout) => (pool_engine(&config, layout)?, layout),
            None => match Engine::new(&engine_config(&config, MemoryLayout::Guarded)) {
                Ok(engine) => (engine, MemoryLayout::Guarded),
                Err(_) => (
                    pool_engine(&config, MemoryLayout::Compact)?,
                    MemoryLayout::Compact,
                ),
            },
        };
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick)
            .map_err(|e| Error::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                config,
                layout,
                _ticker: ticker,
            }),
        })
    }

    /// Checks that limits fit the engine's pool.
    pub(crate) fn check_limits(&self, limits: &Limits) -> Result<()> {
        let max = self.inner.config.max_memory_per_instance;
        match limits.memory {
            Some(requested) if requested > max => {
                Err(Error::MemoryLimitTooLarge { requested, max })
            }
            _ => Ok(()),
        }
    }

    /// The memory layout of the engine's pool.
    pub(crate) fn layout(&self) -> MemoryLayout {
        self.inner.layout
    }

    /// The configuration the engine was built with.
    pub(crate) fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn epoch_tick(&self) -> Duration {
        self.inner.config.epoch_tick
    }
}

/// Bytes of each linear memory reset with `memset` rather than returned to the kernel when
/// its instance ends. An HTTP request's instance touches a few pages of its heap and stack;
/// resetting those in place keeps the next instance from faulting them in again, and spares
/// the `madvise` whose TLB shootdown interrupts every core the process runs on — the largest
/// per-request cost of serving before this (a fifth of the agent's CPU). Bounded by the warm
/// slots wasmtime keeps (100): at most 6.4 MiB stays resident.
pub const MEMORY_KEEP_RESIDENT: usize = 64 * 1024;

/// Bytes of each table kept resident the same way (function tables are small and every
/// instance initializes them).
pub const TABLE_KEEP_RESIDENT: usize = 16 * 1024;

/// Slots whose remaining pages are returned to the kernel in one batch: one TLB shootdown
/// per batch instead of one per instance (wasmtime suggests batching under high churn).
pub const DECOMMIT_BATCH: usize = 16;

/// The engine of a pool laid out as `layout`; a pool too large for the address space is
/// [`Error::TooManyInstances`], naming the largest that fits.
fn pool_engine(config: &RuntimeConfig, layout: MemoryLayout) -> Result<Engine> {
    Engine::new(&engine_config(config, layout)).map_err(|e| match largest_pool(config, layout) {
        Some(max) => Error::TooManyInstances {
            requested: config.max_instances,
            max,
        },
        None => Error::Engine(one_line(&e)),
    })
}

/// The most instances a pool can be made for when one for `config.max_instances` could
/// not: the pool reserves every slot's address space up front, so the bound is the
/// address space left to the process, found by bisection (each try reserves and releases
/// the space, nothing is touched). `None` when even one instance fails, for another reason.
fn largest_pool(config: &RuntimeConfig, layout: MemoryLayout) -> Option<u32> {
    let headroom = RuntimeConfig {
        max_instances: HEADROOM_SLOTS,
        ..config.clone()
    };
    let fits = |instances: u32| {
        let config = RuntimeConfig {
            max_instances: instances,
            ..config.clone()
        };
        // The process needs room besides the pool (thread stacks, its heap): a pool only
        // counts as fitting if it does alongside a small one held for that room.
        let Ok(_room) = Engine::new(&engine_config(&headroom, MemoryLayout::Guarded)) else {
            return false;
        };
        Engine::new(&engine_config(&config, layout)).is_ok()
    };
    let (mut fitting, mut failing) = (0, config.max_instances);
    while failing - fitting > 1 {
        let middle = fitting + (failing - fitting) / 2;
        if fits(middle) {
            fitting = middle;
        } else {
            failing = middle;
        }
    }
    (fitting > 0).then_some(fitting)
}

/// Guarded slots' worth of address space (~275 GiB) a pool named as the largest that fits
/// leaves free for the rest of the process: its threads' stacks and its heap.
const HEADROOM_SLOTS: u32 = 32;

/// The guard after each memory of the compact layout: accesses at small constant offsets
/// from a checked address land in it and fault, so one bounds check covers them.
pub const COMPACT_GUARD: u64 = 64 * 1024;

/// The engine configuration: pooling sized from `config`, each memory laid out by
/// `layout`, CoW images, epochs.
fn engine_config(config: &RuntimeConfig, layout: MemoryLayout) -> Config {
    let n = config.max_instances.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * CORE_INSTANCES_PER_COMPONENT)
        .total_memories(n * 2)
        .total_tables(n * CORE_INSTANCES_PER_COMPONENT)
        .total_stacks(n)
        .max_memory_size(usize::try_from(config.max_memory_per_instance).unwrap_or(usize::MAX))
        .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT)
        .table_keep_resident(TABLE_KEEP_RESIDENT)
        .decommit_batch_size(DECOMMIT_BATCH);
    let mut cfg = Config::new();
    cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .memory_init_cow(true)
        .epoch_interruption(true);
    if layout == MemoryLayout::Compact {
        // Wasm pages are 64 KiB: the reservation is the limit rounded up to whole pages.
        let reservation = config.max_memory_per_instance.div_ceil(WASM_PAGE) * WASM_PAGE;
        cfg.memory_reservation(reservation)
            .memory_reservation_for_growth(0)
            .memory_guard_size(COMPACT_GUARD);
    }
    cfg
}
