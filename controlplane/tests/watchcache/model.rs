//! Random operations through the cache, with every read compared to the same read of the
//! inner store (the model), after every write. Keys inside and outside the cached root;
//! conditional updates and deletes that succeed and fail; compactions of the inner store.
//! At the end, a live cache watch, a replaying cache watch and an inner watch must agree.

use crate::{BACKENDS, Backend, Fixture, Rng, bounded, events_through};
use bytes::Bytes;
use skiff_controlplane::store::{self, Event, ListOptions, Store};
use skiff_controlplane::watchcache::CachedStore;

const KEYS: &[&str] = &[
    "/registry/a/1",
    "/registry/a/2",
    "/registry/a/10",
    "/registry/ab",
    "/registry/b/1",
    "/registry/b/2",
    "/other/1",
    "/other/2",
];
const PREFIXES: &[&str] = &[
    "/registry/",
    "/registry/a/",
    "/registry/a",
    "/registry/b/",
    "/registry/c/",
    "/other/",
    "",
];
const ROOT: &str = "/registry/";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_through_the_cache_match_the_inner_store() {
    for backend in BACKENDS {
        let (seeds, ops) = match backend {
            Backend::Memory => (40, 250),
            // Every write is an fsync.
            Backend::Redb => (3, 150),
        };
        for seed in 0..seeds {
            bounded("model run", run(backend, seed, ops)).await;
        }
    }
}

async fn run(backend: Backend, seed: u64, ops: usize) {
    let fixture = Fixture::default(backend).await;
    let (cache, inner) = (&fixture.cache, &fixture.inner);
    let mut live = cache.watch_from_cache(ROOT, 0).await.expect("cache watch");
    let mut inner_live = inner.watch(ROOT, 0).await.expect("inner watch");
    let mut rng = Rng::new(seed);
    let mut last_root_write = 0;
    let mut middle = 0;
    for step in 0..ops {
        let key = *rng.pick(KEYS);
        let current = inner.get(key).await.expect("inner get");
        let wrote = match rng.below(10) {
            0..=2 => cache
                .create(key, value(&mut rng))
                .await
                .map(|kv| kv.mod_revision),
            3..=5 => {
                let expected = match &current {
                    Some(kv) if rng.chance(80) => kv.mod_revision,
                    _ => rng.below(step as u64 + 2),
                };
                let outcome = cache.update(key, value(&mut rng), expected).await;
                outcome.map(|kv| kv.mod_revision)
            }
            6 | 7 => {
                let expected = match &current {
                    Some(kv) if rng.chance(50) => Some(kv.mod_revision),
                    _ if rng.chance(50) => None,
                    _ => Some(rng.below(step as u64 + 2)),
                };
                cache.delete(key, expected).await.map(|d| d.revision)
            }
            8 if rng.chance(20) => {
                let current = inner.revisions().await.expect("revisions").current;
                let revision = rng.below(current + 1);
                cache.compact(revision).await.expect("compact");
                Err(store::Error::Closed)
            }
            _ => Err(store::Error::Closed),
        };
        if let Ok(revision) = wrote
            && key.starts_with(ROOT)
        {
            last_root_write = revision;
        }
        if step == ops / 2 {
            middle = last_root_write;
        }
        compare(cache, &mut rng, last_root_write).await;
    }

    // A live watch, a watch replayed from the middle, and the inner store's watch agree.
    let end = last_root_write;
    let cached = events_through(&mut live, end).await;
    let mut from_inner = Vec::new();
    while inner_live.revision() < end {
        let event = inner_live.next().await.expect("an item").expect("event");
        from_inner.push(event);
    }
    assert_eq!(cached, from_inner, "seed {seed}: live cache watch");
    let mut replay = cache
        .watch_from_cache("/registry/a/", middle)
        .await
        .expect("replaying watch");
    let expected: Vec<Event> = cached
        .iter()
        .filter(|e| e.revision > middle && e.key().starts_with("/registry/a/"))
        .cloned()
        .collect();
    let replayed = match expected.last() {
        Some(last) => events_through(&mut replay, last.revision).await,
        None => Vec::new(),
    };
    assert_eq!(replayed, expected, "seed {seed}: replay from {middle}");
}

/// Reads of every kind through the cache and from the inner store, compared.
async fn compare(cache: &CachedStore, rng: &mut Rng, last_root_write: u64) {
    let inner = cache.inner();
    for key in KEYS {
        assert_eq!(
            cache.get(key).await.expect("cache get"),
            inner.get(key).await.expect("inner get"),
            "get {key}"
        );
    }
    let prefix = *rng.pick(PREFIXES);
    let options = ListOptions {
        after: rng.chance(50).then(|| rng.pick(KEYS).to_string()),
        limit: rng.below(4) as usize,
        revision: 0,
    };
    let cached = cache.list_page(prefix, &options).await.expect("cache list");
    let model = inner.list_page(prefix, &options).await.expect("inner list");
    assert_eq!(cached.items, model.items, "list {prefix} {options:?}");
    assert_eq!(cached.more, model.more, "list {prefix} {options:?}");
    if prefix.starts_with(ROOT) {
        // The cache's revision is that of the latest write under its root.
        assert_eq!(cached.revision, last_root_write, "list {prefix}");
    } else {
        assert_eq!(cached.revision, model.revision, "list {prefix}");
    }
    // The same page at a past revision: where both can still read it, they agree; only
    // compaction (of the inner store's history or of the cache's ring) may refuse it.
    if last_root_write > 0 {
        let past = ListOptions {
            revision: 1 + rng.below(last_root_write),
            ..options
        };
        let cached = cache.list_page(prefix, &past).await;
        let model = inner.list_page(prefix, &past).await;
        if let (Ok(cached), Ok(model)) = (&cached, &model) {
            assert_eq!(cached, model, "list {prefix} {past:?}");
        }
        for result in [&cached, &model] {
            assert!(
                matches!(result, Ok(_) | Err(store::Error::Compacted { .. })),
                "list {prefix} {past:?}: {result:?}"
            );
        }
    }
    let full = cache.list(ROOT).await.expect("cache list");
    assert_eq!(full.items, inner.list(ROOT).await.expect("list").items);
    let revisions = cache.revisions().await.expect("revisions");
    assert_eq!(revisions.current, last_root_write);
}

fn value(rng: &mut Rng) -> Bytes {
    Bytes::from(format!("v{}", rng.below(1000)))
}
