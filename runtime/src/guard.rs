//! [`Guard`]: the per-store state behind limits that need the epoch — CPU time slices and
//! the yields that keep a spinning instance from starving others — plus the memory
//! [`Limiter`] (which also counts memory in the container's usage). Every store's data type holds one and exposes it through [`Guarded`].

use crate::limits::{Limiter, Limits};
use crate::usage::Usage;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{Store, StoreContextMut, UpdateDeadline};

/// CFS-style accounting period for CPU limits: an instance limited to `m` millicores may
/// run `m/1000` of each period and then sleeps until the next one. Kubernetes uses 100 ms.
pub const CPU_PERIOD: Duration = Duration::from_millis(100);

/// Store data that carries a [`Guard`].
pub(crate) trait Guarded: Send + 'static {
    fn guard(&mut self) -> &mut Guard;
}

/// Limits state of one store.
pub(crate) struct Guard {
    pub(crate) limiter: Limiter,
    cpu: Option<CpuQuota>,
}

struct CpuQuota {
    /// Running time allowed per period.
    quota: Duration,
    /// Longest stretch credited between two ticks: time beyond it was spent waiting in
    /// the host or for a worker thread, not running.
    max_stretch: Duration,
    period_start: Instant,
    used: Duration,
    /// When the instance last resumed after a tick.
    resumed: Instant,
}

impl Guard {
    /// Limits state for a store whose memory counts towards `usage`.
    pub(crate) fn new(limits: &Limits, tick: Duration, usage: Arc<Usage>) -> Self {
        let now = Instant::now();
        let cpu = limits.cpu_millis.map(|millis| CpuQuota {
            quota: CPU_PERIOD * millis / 1000,
            max_stretch: tick * 2,
            period_start: now,
            used: Duration::ZERO,
            resumed: now,
        });
        Self {
            limiter: Limiter::new(limits, usage),
            cpu,
        }
    }

    /// Called each time the instance has run for about a tick: always yields to the
    /// executor (so that instances share worker threads fairly, and a pending stop or
    /// deadline can take effect), and sleeps out the rest of the period once the CPU
    /// quota is spent.
    fn on_tick(&mut self) -> UpdateDeadline {
        let Some(cpu) = &mut self.cpu else {
            return UpdateDeadline::Yield(1);
        };
        let now = Instant::now();
        cpu.used += now
            .saturating_duration_since(cpu.resumed)
            .min(cpu.max_stretch);
        if now.duration_since(cpu.period_start) >= CPU_PERIOD {
            cpu.period_start = now;
            cpu.used = Duration::ZERO;
        }
        if cpu.used < cpu.quota {
            cpu.resumed = now;
            return UpdateDeadline::Yield(1);
        }
        let next_period = cpu.period_start + CPU_PERIOD;
        cpu.period_start = next_period;
        cpu.used = Duration::ZERO;
        cpu.resumed = next_period;
        UpdateDeadline::YieldCustom(1, Box::pin(tokio::time::sleep_until(next_period.into())))
    }
}

/// Creates a store whose memory, tables and CPU are governed by the data's [`Guard`].
pub(crate) fn guarded_store<T: Guarded>(engine: &wasmtime::Engine, data: T) -> Store<T> {
    let mut store = Store::new(engine, data);
    store.limiter(|data| &mut data.guard().limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx: StoreContextMut<'_, T>| {
        Ok(cx.data_mut().guard().on_tick())
    });
    store
}
