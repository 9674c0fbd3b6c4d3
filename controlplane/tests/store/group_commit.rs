//! Group commit: concurrent writes share transactions, and still each get their own
//! revision, contiguous, with preconditions checked in queue order.

use crate::{Fixture, WAIT};
use bytes::Bytes;
use skiff_controlplane::store::{Config, Error, Store};
use std::sync::Arc;
use std::time::Instant;

const WRITES: u64 = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_get_distinct_contiguous_revisions() {
    let fixture = Arc::new(Fixture::new(Config::default()));
    fixture
        .store
        .create("/first", Bytes::new())
        .await
        .expect("create");
    let started = Instant::now();
    let tasks: Vec<_> = (0..WRITES)
        .map(|i| {
            let fixture = fixture.clone();
            tokio::spawn(async move {
                let key = format!("/k/{i:04}");
                fixture.store.create(&key, Bytes::from(key.clone())).await
            })
        })
        .collect();
    let mut revisions = Vec::new();
    for task in tasks {
        let kv = tokio::time::timeout(WAIT, task)
            .await
            .expect("create timed out")
            .expect("task")
            .expect("create");
        assert_eq!(kv.create_revision, kv.mod_revision);
        revisions.push(kv.mod_revision);
    }
    let elapsed = started.elapsed();
    revisions.sort_unstable();
    assert_eq!(revisions, (2..=WRITES + 1).collect::<Vec<_>>());
    let list = fixture.store.list("/k/").await.expect("list");
    assert_eq!(list.items.len() as u64, WRITES);
    assert_eq!(list.revision, WRITES + 1);
    eprintln!("{WRITES} concurrent durable creates in {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_queued_together_see_each_other() {
    let fixture = Fixture::new(Config::default());
    let store = &fixture.store;
    // Queued in this order (each future sends its request when first polled, and join
    // polls in order), most likely into one batch: each write depends on the one before.
    let (created, updated, conflict, deleted, recreated) = tokio::time::timeout(WAIT, async {
        tokio::join!(
            store.create("/x", Bytes::from_static(b"1")),
            store.update("/x", Bytes::from_static(b"2"), 1),
            store.update("/x", Bytes::from_static(b"3"), 1),
            store.delete("/x", Some(2)),
            store.create("/x", Bytes::from_static(b"4")),
        )
    })
    .await
    .expect("writes timed out");
    assert_eq!(created.expect("create").mod_revision, 1);
    let updated = updated.expect("update");
    assert_eq!((updated.create_revision, updated.mod_revision), (1, 2));
    assert!(matches!(
        conflict,
        Err(Error::Conflict {
            expected: 1,
            current: 2,
            ..
        })
    ));
    assert_eq!(deleted.expect("delete").revision, 3);
    let recreated = recreated.expect("recreate");
    assert_eq!((recreated.create_revision, recreated.mod_revision), (4, 4));
}
