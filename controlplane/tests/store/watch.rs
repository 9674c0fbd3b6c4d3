//! Watches: replay then live with no gap or duplicate while writers run; the compaction
//! point; slow watchers closed without slowing anyone else; watches ending with the store.

use crate::{Fixture, WAIT, events_through, next_event};
use bytes::Bytes;
use skiff_controlplane::store::{Config, Error, Event, EventKind, KeyValue, Store};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const WRITERS: u64 = 4;
const WRITES_PER_WRITER: u64 = 150;
const TOTAL: u64 = WRITERS * WRITES_PER_WRITER;

/// Each writer creates its keys and then updates them, so every write succeeds and the
/// store ends at revision [`TOTAL`].
async fn write(store: Arc<Fixture>, writer: u64) {
    let mut keys: Vec<KeyValue> = Vec::new();
    for i in 0..WRITES_PER_WRITER {
        let value = Bytes::from(format!("{writer}-{i}"));
        if i % 3 == 2 {
            let n = (i as usize) % keys.len();
            let old = &keys[n];
            keys[n] = store
                .store
                .update(&old.key, value, old.mod_revision)
                .await
                .expect("update");
        } else {
            let key = format!("/t{writer}/{i:03}");
            keys.push(store.store.create(&key, value).await.expect("create"));
        }
    }
}

/// Applies watch events to a listing, as a watch cache does.
fn apply(state: &mut BTreeMap<String, KeyValue>, events: &[Event]) {
    for event in events {
        match event.kind {
            EventKind::Put => state.insert(event.kv.key.clone(), event.kv.clone()),
            EventKind::Delete => state.remove(&event.kv.key),
        };
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_then_watch_sees_every_revision_once_while_writers_run() {
    let fixture = Arc::new(Fixture::new(Config {
        // Small pages: replays take many reads, interleaved with commits.
        history_page: 5,
        ..Config::default()
    }));
    let mut prefix_watch = fixture.store.watch("/t1/", 0).await.expect("prefix watch");
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(write(fixture.clone(), w)))
        .collect();

    // Watchers start at different moments during the writes, each from a list's revision
    // (or from an older revision, to replay more), and read concurrently with the writers.
    let mut watchers = Vec::new();
    for i in 0..12u64 {
        tokio::time::sleep(Duration::from_millis(3)).await;
        let store = fixture.clone();
        watchers.push(tokio::spawn(async move {
            let list = store.store.list("").await.expect("list");
            // Every third watch starts "from now": it must see everything after the
            // revision it reports having started at.
            let from = match i % 3 {
                0 => list.revision / 2,
                1 => list.revision,
                _ => 0,
            };
            let mut watch = store.store.watch("", from).await.expect("watch");
            let start = watch.revision();
            assert!(from == 0 || start == from);
            let events = events_through(&mut watch, TOTAL).await;
            let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
            let expected: Vec<u64> = (start + 1..=TOTAL).collect();
            assert_eq!(
                revisions, expected,
                "watch {i} from {from} (start {start}): gap or duplicate"
            );
            if from == 0 {
                return None;
            }
            let mut state: BTreeMap<_, _> = list
                .items
                .into_iter()
                .map(|kv| (kv.key.clone(), kv))
                .collect();
            let since_list: Vec<_> = events
                .into_iter()
                .filter(|e| e.revision > list.revision)
                .collect();
            apply(&mut state, &since_list);
            Some(state)
        }));
    }
    for writer in writers {
        tokio::time::timeout(WAIT, writer)
            .await
            .expect("writer timed out")
            .expect("writer");
    }
    let fin = fixture.store.list("").await.expect("final list");
    assert_eq!(fin.revision, TOTAL);
    let fin: BTreeMap<_, _> = fin
        .items
        .into_iter()
        .map(|kv| (kv.key.clone(), kv))
        .collect();
    for watcher in watchers {
        let state = tokio::time::timeout(WAIT, watcher)
            .await
            .expect("watcher timed out")
            .expect("watcher");
        if let Some(state) = state {
            assert_eq!(state, fin, "list + events must rebuild the final state");
        }
    }

    // A prefix watch sees exactly the events under its prefix, which rebuild its state.
    let t1: BTreeMap<_, _> = fin
        .into_iter()
        .filter(|(key, _)| key.starts_with("/t1/"))
        .collect();
    let last = t1
        .values()
        .map(|kv| kv.mod_revision)
        .max()
        .expect("t1 keys");
    let events = events_through(&mut prefix_watch, last).await;
    assert_eq!(events.len() as u64, WRITES_PER_WRITER);
    assert!(events.iter().all(|e| e.kv.key.starts_with("/t1/")));
    assert!(events.windows(2).all(|w| w[0].revision < w[1].revision));
    let mut state = BTreeMap::new();
    apply(&mut state, &events);
    assert_eq!(state, t1);
}

#[tokio::test]
async fn watch_below_the_compaction_point_is_refused() {
    let fixture = Fixture::new(Config {
        history_window: 10,
        ..Config::default()
    });
    let store = &fixture.store;
    for i in 0..30 {
        store
            .create(&format!("/k/{i}"), Bytes::new())
            .await
            .expect("create");
    }
    // The window keeps revisions 21..=30: a watch may start after 20, not before.
    let refused = store.watch("", 19).await;
    assert!(
        matches!(
            refused,
            Err(Error::Compacted {
                requested: 19,
                compacted: 20
            })
        ),
        "{refused:?}"
    );
    let mut watch = store.watch("/k/", 20).await.expect("watch at the point");
    let events = events_through(&mut watch, 30).await;
    assert_eq!(events.first().map(|e| e.revision), Some(21));
    assert_eq!(events.len(), 10);
    // From 0 is "from now", never compacted.
    store.watch("", 0).await.expect("watch from now");

    // An explicit compaction moves the point further; a future revision is refused.
    store.compact(25).await.expect("compact");
    assert!(matches!(
        store.watch("", 24).await,
        Err(Error::Compacted { compacted: 25, .. })
    ));
    assert!(matches!(
        store.compact(31).await,
        Err(Error::FutureRevision {
            requested: 31,
            current: 30
        })
    ));
    // Compaction never removes current values.
    assert_eq!(store.list("").await.expect("list").items.len(), 30);

    // A replay that compaction overtakes ends with Compacted.
    let mut late = store.watch("", 25).await.expect("watch");
    store.compact(28).await.expect("compact");
    let first = next_event(&mut late).await.expect("an item");
    assert!(
        matches!(first, Err(Error::Compacted { compacted: 28, .. })),
        "{first:?}"
    );
    assert!(next_event(&mut late).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_watcher_catches_up_from_the_history_while_writers_and_fast_watchers_go_on() {
    const BUFFER: usize = 16;
    const WRITES: u64 = 300;
    let fixture = Arc::new(Fixture::new(Config {
        watch_buffer: BUFFER,
        ..Config::default()
    }));
    let mut slow = fixture.store.watch("", 0).await.expect("slow watch");
    let mut fast = fixture.store.watch("", 0).await.expect("fast watch");
    // The fast watcher reports its progress; the writer lets it stay within half its
    // buffer (however loaded the machine), while the slow one never reads at all.
    let (progress, mut seen) = tokio::sync::watch::channel(0);
    let reader = tokio::spawn(async move {
        let mut events = Vec::new();
        while fast.revision() < WRITES {
            let event = next_event(&mut fast)
                .await
                .expect("an item")
                .expect("event");
            let _ = progress.send(event.revision);
            events.push(event);
        }
        events
    });
    let writer = {
        let fixture = fixture.clone();
        tokio::spawn(async move {
            for i in 1..=WRITES {
                let kv = fixture
                    .store
                    .create(&format!("/k/{i:03}"), Bytes::from_static(b"v"))
                    .await
                    .expect("create");
                if i % (BUFFER as u64 / 2) == 0 {
                    let caught_up = seen.wait_for(|seen| *seen >= kv.mod_revision);
                    tokio::time::timeout(WAIT, caught_up)
                        .await
                        .expect("fast watcher fell behind")
                        .expect("fast watcher alive");
                }
            }
        })
    };
    // Writers finish although the slow watcher never reads...
    tokio::time::timeout(WAIT, writer)
        .await
        .expect("writers blocked")
        .expect("writer");
    // ...and the fast one got every event.
    let events = tokio::time::timeout(WAIT, reader)
        .await
        .expect("fast watcher blocked")
        .expect("reader");
    let revisions: Vec<u64> = events.iter().map(|e| e.revision).collect();
    assert_eq!(revisions, (1..=WRITES).collect::<Vec<_>>());

    // The slow watcher, whose buffer overflowed long ago, still gets every event, in order:
    // what was buffered, then the rest from the history.
    let caught_up: Vec<u64> = events_through(&mut slow, WRITES)
        .await
        .iter()
        .map(|e| e.revision)
        .collect();
    assert_eq!(caught_up, (1..=WRITES).collect::<Vec<_>>());

    // One that overflows and is then overtaken by compaction ends with Compacted: at most
    // its buffer, then the error, then the end.
    let mut overtaken = fixture.store.watch("", 0).await.expect("watch");
    for i in 1..=BUFFER as u64 * 2 {
        fixture
            .store
            .create(&format!("/late/{i:03}"), Bytes::from_static(b"v"))
            .await
            .expect("create");
    }
    let current = fixture.store.revisions().await.expect("revisions").current;
    fixture.store.compact(current).await.expect("compact");
    let mut delivered = 0;
    let end = loop {
        match next_event(&mut overtaken).await {
            Some(Ok(_)) => delivered += 1,
            other => break other,
        }
    };
    assert!(delivered <= BUFFER, "{delivered} events delivered");
    assert!(matches!(end, Some(Err(Error::Compacted { .. }))), "{end:?}");
    assert!(next_event(&mut overtaken).await.is_none());

    // New watchers are unaffected.
    let mut after = fixture.store.watch("", current).await.expect("watch");
    for i in 1..=5 {
        fixture
            .store
            .create(&format!("/after/{i}"), Bytes::from_static(b"v"))
            .await
            .expect("create");
    }
    assert_eq!(events_through(&mut after, current + 5).await.len(), 5);
}

#[tokio::test]
async fn watches_end_when_the_store_closes() {
    let fixture = Fixture::new(Config::default());
    for key in ["/a", "/b"] {
        fixture
            .store
            .create(key, Bytes::new())
            .await
            .expect("create");
    }
    let mut live = fixture.store.watch("", 0).await.expect("watch");
    let mut replaying = fixture.store.watch("", 1).await.expect("watch");
    let fixture = fixture.reopen(Config::default());
    for watch in [&mut live, &mut replaying] {
        let end = next_event(watch).await;
        assert!(matches!(end, Some(Err(Error::Closed))), "{end:?}");
        assert!(next_event(watch).await.is_none());
    }
    // The reopened store serves new watches.
    fixture
        .store
        .create("/c", Bytes::new())
        .await
        .expect("create");
    let mut watch = fixture.store.watch("", 1).await.expect("watch");
    assert_eq!(events_through(&mut watch, 3).await.len(), 2);
}
