//! A cache watcher that stops reading never holds up the writers or a hundred fast watchers;
//! when it reads again it catches up from the cache's ring with every event, or, if it fell
//! out of the ring's window, is closed with `WatcherLagged`.

use crate::{BACKENDS, Backend, Fixture, bounded, events_through, next_event};
use bytes::Bytes;
use skiff_controlplane::store::{self, Error, Store};
use skiff_controlplane::watchcache;
use std::sync::Arc;
use tokio::sync::watch;

const BUFFER: usize = 16;
const WRITES: u64 = 300;
const FAST: usize = 100;

/// A window that holds every write of the run.
const WIDE: usize = 1_000;
/// A window the writes overrun many times.
const NARROW: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_catches_up_while_writers_and_fast_watchers_go_on() {
    for backend in BACKENDS {
        bounded("slow watcher run", run(backend, WIDE)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_out_of_the_window_is_closed_while_writers_and_fast_watchers_go_on() {
    for backend in BACKENDS {
        bounded("slow watcher run", run(backend, NARROW)).await;
    }
}

async fn run(backend: Backend, window: usize) {
    let fixture = Arc::new(
        Fixture::new(
            backend,
            store::Config::default(),
            watchcache::Config {
                watch_buffer: BUFFER,
                window,
                ..watchcache::Config::default()
            },
        )
        .await,
    );
    let mut slow = fixture
        .cache
        .watch_from_cache("/registry/", 0)
        .await
        .expect("slow watch");
    // Each fast watcher reports its progress; the writer lets them all stay within half
    // their buffer (however loaded the machine), while the slow one never reads at all.
    let mut progress = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..FAST {
        let mut fast = fixture
            .cache
            .watch_from_cache("/registry/", 0)
            .await
            .expect("fast watch");
        let (report, seen) = watch::channel(0);
        progress.push(seen);
        readers.push(tokio::spawn(async move {
            let mut revisions = Vec::new();
            while fast.revision() < WRITES {
                let event = next_event(&mut fast)
                    .await
                    .expect("an item")
                    .expect("event");
                let _ = report.send(event.revision);
                revisions.push(event.revision);
            }
            revisions
        }));
    }
    assert_eq!(fixture.cache.status().watchers, FAST + 1);
    let writer = {
        let fixture = fixture.clone();
        tokio::spawn(async move {
            for i in 1..=WRITES {
                let kv = fixture
                    .cache
                    .create(&format!("/registry/k/{i:03}"), Bytes::from_static(b"v"))
                    .await
                    .expect("create");
                if i % (BUFFER as u64 / 2) == 0 {
                    for seen in &mut progress {
                        bounded("fast watcher", seen.wait_for(|s| *s >= kv.mod_revision))
                            .await
                            .expect("fast watcher alive");
                    }
                }
            }
        })
    };
    // The writer finishes although the slow watcher never reads...
    bounded("writer", writer).await.expect("writer");
    // ...and every fast one got every event.
    for reader in readers {
        let revisions = bounded("fast reader", reader).await.expect("reader");
        assert_eq!(revisions, (1..=WRITES).collect::<Vec<_>>());
    }

    if window == WIDE {
        // The slow watcher gets every event, in order: what was buffered, then the rest
        // from the ring.
        let revisions: Vec<u64> = events_through(&mut slow, WRITES)
            .await
            .iter()
            .map(|e| e.revision)
            .collect();
        assert_eq!(revisions, (1..=WRITES).collect::<Vec<_>>());
    } else {
        // The slow watcher is over: at most its buffer, then WatcherLagged, then the end.
        let mut delivered = 0;
        let end = loop {
            match next_event(&mut slow).await {
                Some(Ok(_)) => delivered += 1,
                other => break other,
            }
        };
        assert!(delivered <= BUFFER, "{delivered} events delivered");
        assert!(matches!(end, Some(Err(Error::WatcherLagged))), "{end:?}");
        assert!(next_event(&mut slow).await.is_none());
    }

    // New watchers are unaffected.
    let mut after = fixture
        .cache
        .watch_from_cache("/registry/", WRITES - 5)
        .await
        .expect("watch");
    assert_eq!(events_through(&mut after, WRITES).await.len(), 5);
}
