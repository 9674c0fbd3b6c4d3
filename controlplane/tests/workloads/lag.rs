//! [`LaggingStore`]: a store whose watches deliver every event a fixed time after it
//! happened — an informer fed by it is always that far behind the writes, as a remote
//! or overloaded informer can be. Everything else passes straight through.

use async_trait::async_trait;
use bytes::Bytes;
use skiff_controlplane::store::{
    Deleted, Event, KeyValue, List, ListOptions, Result, Revisions, Store, Watch, WatchSource,
};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A store whose watches lag by `lag`.
pub struct LaggingStore {
    inner: Arc<dyn Store>,
    lag: Duration,
}

impl LaggingStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, lag: Duration) -> Self {
        Self { inner, lag }
    }
}

#[async_trait]
impl Store for LaggingStore {
    async fn create(&self, key: &str, value: Bytes) -> Result<KeyValue> {
        self.inner.create(key, value).await
    }

    async fn update(&self, key: &str, value: Bytes, expected: u64) -> Result<KeyValue> {
        self.inner.update(key, value, expected).await
    }

    async fn delete(&self, key: &str, expected: Option<u64>) -> Result<Deleted> {
        self.inner.delete(key, expected).await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        self.inner.get(key).await
    }

    async fn list_page(&self, prefix: &str, options: &ListOptions) -> Result<List> {
        self.inner.list_page(prefix, options).await
    }

    async fn watch(&self, prefix: &str, from_revision: u64) -> Result<Watch> {
        let mut inner = self.inner.watch(prefix, from_revision).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        // Stamp each event when it happens; the lagging side holds it until stamp + lag.
        tokio::spawn(async move {
            while let Some(item) = inner.next().await {
                if tx.send((Instant::now(), item)).is_err() {
                    return;
                }
            }
        });
        Ok(Watch::from_source(Box::new(Lagging {
            rx,
            lag: self.lag,
            revision: from_revision,
        })))
    }

    async fn revisions(&self) -> Result<Revisions> {
        self.inner.revisions().await
    }

    async fn compact(&self, revision: u64) -> Result<()> {
        self.inner.compact(revision).await
    }
}

/// The lagging side of one watch.
#[derive(Debug)]
struct Lagging {
    rx: mpsc::UnboundedReceiver<(Instant, Result<Event>)>,
    lag: Duration,
    revision: u64,
}

#[async_trait]
impl WatchSource for Lagging {
    async fn next(&mut self) -> Option<Result<Event>> {
        let (at, item) = self.rx.recv().await?;
        tokio::time::sleep_until(at + self.lag).await;
        if let Ok(event) = &item {
            self.revision = event.revision;
        }
        Some(item)
    }

    fn revision(&self) -> u64 {
        self.revision
    }
}
