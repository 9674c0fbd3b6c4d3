//! Closing and reopening the file restores everything: values with their create and mod
//! revisions, the revision counter, the history window and the compaction point.

use crate::{Fixture, events_through};
use bytes::Bytes;
use skiff_controlplane::store::{Config, Error, EventKind, ListOptions, Revisions, Store};

fn config() -> Config {
    Config {
        history_window: 20,
        ..Config::default()
    }
}

#[tokio::test]
async fn reopen_restores_values_revisions_and_history() {
    let fixture = Fixture::new(config());
    let store = &fixture.store;
    for i in 0..30 {
        store
            .create(&format!("/pods/p{i:02}"), Bytes::from(format!("v{i}")))
            .await
            .expect("create");
    }
    let updated = store
        .update("/pods/p03", Bytes::from_static(b"new"), 4)
        .await
        .expect("update");
    let deleted = store.delete("/pods/p05", Some(6)).await.expect("delete");
    store.compact(15).await.expect("compact");
    let before = store.list("").await.expect("list");
    let revisions = store.revisions().await.expect("revisions");
    assert_eq!(
        revisions,
        Revisions {
            current: 32,
            compacted: 15
        }
    );
    let mut replay = store.watch("", 15).await.expect("watch");
    let history = events_through(&mut replay, 32).await;
    assert_eq!(history.len(), 17);
    drop(replay);

    let fixture = fixture.reopen(config());
    let store = &fixture.store;
    assert_eq!(store.revisions().await.expect("revisions"), revisions);
    assert_eq!(store.list("").await.expect("list"), before);
    assert_eq!(store.get("/pods/p03").await.expect("get"), Some(updated));
    assert_eq!(store.get("/pods/p05").await.expect("get"), None);
    let mut replay = store.watch("", 15).await.expect("watch after reopen");
    assert_eq!(events_through(&mut replay, 32).await, history);
    let last = history.last().expect("history");
    assert_eq!(last.kind, EventKind::Delete);
    assert_eq!(last.prev.as_ref(), Some(&deleted.kv));
    assert!(matches!(
        store.watch("", 14).await,
        Err(Error::Compacted {
            requested: 14,
            compacted: 15
        })
    ));

    // Revision continuity: the next write gets the next revision, and the watch sees it.
    let next = store
        .create("/pods/new", Bytes::from_static(b"x"))
        .await
        .expect("create after reopen");
    assert_eq!((next.create_revision, next.mod_revision), (33, 33));
    let event = crate::next_event(&mut replay)
        .await
        .expect("an item")
        .expect("an event");
    assert_eq!(event.kv, next);
    // The window applies from the reopened counter on.
    assert_eq!(
        store.revisions().await.expect("revisions"),
        Revisions {
            current: 33,
            compacted: 15
        }
    );
}

#[tokio::test]
async fn reopen_keeps_window_compaction_and_pagination() {
    let fixture = Fixture::new(config());
    for i in 0..50 {
        let key = format!("/k/{i:02}");
        fixture
            .store
            .create(&key, Bytes::from(key.clone()))
            .await
            .expect("create");
    }
    assert_eq!(
        fixture.store.revisions().await.expect("revisions"),
        Revisions {
            current: 50,
            compacted: 30
        }
    );
    let fixture = fixture.reopen(config());
    let store = &fixture.store;
    assert_eq!(
        store.revisions().await.expect("revisions"),
        Revisions {
            current: 50,
            compacted: 30
        }
    );
    // Paging through the reopened store yields every key once, in order.
    let mut keys = Vec::new();
    let mut options = ListOptions {
        limit: 7,
        ..ListOptions::default()
    };
    loop {
        let page = store.list_page("/k/", &options).await.expect("page");
        assert!(page.items.len() <= 7);
        assert_eq!(page.revision, 50);
        keys.extend(page.items.iter().map(|kv| kv.key.clone()));
        if !page.more {
            break;
        }
        options.after = page.items.last().map(|kv| kv.key.clone());
    }
    let expected: Vec<_> = (0..50).map(|i| format!("/k/{i:02}")).collect();
    assert_eq!(keys, expected);
}
