//! [`StopHandle`]: stops a running instance from outside. WASI has no signals, so a
//! graceful stop is a grace period in which the guest may finish on its own (and an HTTP
//! handler drains); then the stop is forced, which takes effect at the guest's next epoch
//! tick or immediately if it is waiting in the host.

use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Handle to stop one instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct StopHandle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    forced: CancellationToken,
    stopping: CancellationToken,
    finished: watch::Sender<bool>,
}

impl StopHandle {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                forced: CancellationToken::new(),
                stopping: CancellationToken::new(),
                finished: watch::Sender::new(false),
            }),
        }
    }

    /// Asks the instance to stop: waits up to `grace` for it to finish by itself, then
    /// forces it. Returns once it has ended.
    pub async fn stop(&self, grace: Duration) {
        self.inner.stopping.cancel();
        let mut finished = self.inner.finished.subscribe();
        let ended = finished.wait_for(|done| *done);
        if tokio::time::timeout(grace, ended).await.is_err() {
            self.force();
            let _ = finished.wait_for(|done| *done).await;
        }
    }

    /// Forces the instance to stop now, without waiting.
    pub fn force(&self) {
        self.inner.stopping.cancel();
        self.inner.forced.cancel();
    }

    /// Whether a stop has been asked for.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.is_cancelled()
    }

    /// Whether the instance has ended.
    pub fn is_finished(&self) -> bool {
        *self.inner.finished.borrow()
    }

    pub(crate) async fn forced(&self) {
        self.inner.forced.cancelled().await;
    }

    pub(crate) fn mark_finished(&self) {
        self.inner.finished.send_replace(true);
    }
}
