//! [`Shared`]: the collector's figures behind one lock, and the count of reports taken
//! in, which the autoscalers can wait on. Written by the stream followers, read by the
//! queries.

use super::figures::Figures;
use skiff_model::stats::NodeReport;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The figures and the report counter.
pub struct Shared {
    figures: Mutex<Figures>,
    reports: watch::Sender<u64>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            figures: Mutex::default(),
            reports: watch::Sender::new(0),
        }
    }
}

impl Shared {
    /// Takes in a report (see [`Figures::ingest`]) unless `stop` says its stream was let
    /// go meanwhile, and wakes whoever waits for reports.
    pub fn ingest(&self, report: NodeReport, fresh: bool, stop: Option<&CancellationToken>) {
        {
            let mut figures = self.figures();
            if stop.is_some_and(CancellationToken::is_cancelled) {
                return;
            }
            figures.ingest(report, fresh, Instant::now());
        }
        self.reports.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// The figures, locked (for a short, synchronous look).
    pub fn figures(&self) -> MutexGuard<'_, Figures> {
        self.figures.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A receiver of the report counter, changed with every report taken in.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.reports.subscribe()
    }
}
