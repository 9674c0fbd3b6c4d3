//! Read-your-writes: a read through the cache right after a write through it reflects the
//! write, for every kind of read, from many tasks at once.
//!
//! Over a `MemoryStore` a write returns before the cache's feed task has even been
//! scheduled, so without the wait for the cache's revision these reads would be stale.

use crate::{BACKENDS, Fixture, bounded};
use bytes::Bytes;
use skiff_controlplane::store::{ListOptions, Store};
use std::sync::Arc;

const TASKS: u64 = 8;
const ROUNDS: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_after_a_write_reflects_it() {
    for backend in BACKENDS {
        let fixture = Arc::new(Fixture::default(backend).await);
        let tasks: Vec<_> = (0..TASKS)
            .map(|task| tokio::spawn(rounds(fixture.clone(), task)))
            .collect();
        for task in tasks {
            bounded("read-your-writes task", task)
                .await
                .expect("task panicked");
        }
        let status = fixture.cache.status();
        // Three writes a round, and a recreate in the first.
        assert_eq!(status.revision, TASKS * (ROUNDS * 3 + 1), "{backend:?}");
    }
}

/// Creates, updates and deletes keys of its own, checking each with every kind of read.
async fn rounds(fixture: Arc<Fixture>, task: u64) {
    let cache = &fixture.cache;
    let prefix = format!("/registry/rw/{task}/");
    for round in 0..ROUNDS {
        let key = format!("{prefix}{round:03}");
        let created = cache
            .create(&key, Bytes::from(format!("{round}")))
            .await
            .expect("create");
        assert_eq!(cache.get(&key).await.expect("get"), Some(created.clone()));
        let list = cache.list(&prefix).await.expect("list");
        assert!(list.revision >= created.mod_revision);
        assert_eq!(list.items.last(), Some(&created));

        let updated = cache
            .update(&key, Bytes::from_static(b"updated"), created.mod_revision)
            .await
            .expect("update");
        let page = cache
            .list_page(
                &prefix,
                &ListOptions {
                    after: (round > 0).then(|| format!("{prefix}{:03}", round - 1)),
                    limit: 1,
                    revision: 0,
                },
            )
            .await
            .expect("list page");
        assert_eq!(page.items, std::slice::from_ref(&updated));
        assert!(!page.more);
        let revisions = cache.revisions().await.expect("revisions");
        assert!(revisions.current >= updated.mod_revision);

        // Delete the previous round's key, so that every round has three writes.
        let deleted = match round {
            0 => cache.delete(&key, None).await.expect("delete"),
            _ => {
                let previous = format!("{prefix}{:03}", round - 1);
                cache.delete(&previous, None).await.expect("delete")
            }
        };
        assert_eq!(cache.get(&deleted.kv.key).await.expect("get"), None);
        if round == 0 {
            // Recreate it, so that the next round has a previous key to delete.
            cache
                .create(&key, Bytes::from_static(b"again"))
                .await
                .expect("recreate");
            assert!(cache.get(&key).await.expect("get").is_some());
        }
    }
}
