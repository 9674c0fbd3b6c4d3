//! Random operation sequences applied to a store and to a `BTreeMap` model, compared after
//! every operation (listings also at past revisions, undone from the history); at the end,
//! listings, revisions and watch streams (live from the start,
//! replayed from the middle and from the compaction point) are compared with the model's
//! event log.
//!
//! Writes are submitted in groups of up to six, concurrently but queued in order, so that
//! they share write batches: a write later in a group must see the earlier ones.

use crate::{BoxFuture, Fixture, Rng, WAIT, events_through, join_in_order, next_event};
use bytes::Bytes;
use skiff_controlplane::store::{
    Config, DEFAULT_HISTORY_WINDOW, Deleted, Error, Event, EventKind, KeyValue, List, ListOptions,
    MemoryStore, Store,
};
use std::collections::BTreeMap;

const SEEDS: u64 = 200;
const OPS: usize = 300;
/// Seeds run at once against redb (the work is mostly waiting for fsync).
const PARALLEL: u64 = 4;
const KEYS: &[&str] = &["/a/1", "/a/2", "/a/3", "/a/10", "/ab", "/b/1", "/b/2"];
const PREFIXES: &[&str] = &["", "/a/", "/a", "/a/1", "/b/", "/c/"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        key: String,
        value: Bytes,
    },
    Update {
        key: String,
        value: Bytes,
        expected: u64,
    },
    Delete {
        key: String,
        expected: Option<u64>,
    },
    Compact {
        revision: u64,
    },
    Get {
        key: String,
    },
    List {
        prefix: String,
        options: ListOptions,
    },
}

/// What an operation returned, comparable between the store and the model.
#[derive(Debug, PartialEq)]
enum Outcome {
    Put(KeyValue),
    Deleted(Deleted),
    Compacted,
    Got(Option<KeyValue>),
    Listed(List),
    AlreadyExists(String),
    NotFound(String),
    Conflict {
        key: String,
        expected: u64,
        current: u64,
    },
    FutureRevision {
        requested: u64,
        current: u64,
    },
    /// A listing at a revision compaction has dropped.
    ListCompacted {
        requested: u64,
        compacted: u64,
    },
}

/// The contract, written plainly.
struct Model {
    kv: BTreeMap<String, KeyValue>,
    events: Vec<Event>,
    revision: u64,
    compacted: u64,
    window: u64,
}

impl Model {
    fn new(window: u64) -> Self {
        Self {
            kv: BTreeMap::new(),
            events: Vec::new(),
            revision: 0,
            compacted: 0,
            window,
        }
    }

    fn apply(&mut self, op: &Op) -> Outcome {
        match op.clone() {
            Op::Create { key, value } => {
                if self.kv.contains_key(&key) {
                    return Outcome::AlreadyExists(key);
                }
                self.revision += 1;
                let kv = KeyValue {
                    key: key.clone(),
                    value,
                    create_revision: self.revision,
                    mod_revision: self.revision,
                };
                self.kv.insert(key, kv.clone());
                self.record(EventKind::Put, kv.clone(), None);
                Outcome::Put(kv)
            }
            Op::Update {
                key,
                value,
                expected,
            } => {
                let Some(old) = self.kv.get(&key).cloned() else {
                    return Outcome::NotFound(key);
                };
                if old.mod_revision != expected {
                    return Outcome::Conflict {
                        key,
                        expected,
                        current: old.mod_revision,
                    };
                }
                self.revision += 1;
                let kv = KeyValue {
                    key: key.clone(),
                    value,
                    create_revision: old.create_revision,
                    mod_revision: self.revision,
                };
                self.kv.insert(key, kv.clone());
                self.record(EventKind::Put, kv.clone(), Some(old));
                Outcome::Put(kv)
            }
            Op::Delete { key, expected } => {
                let Some(old) = self.kv.get(&key).cloned() else {
                    return Outcome::NotFound(key);
                };
                if let Some(expected) = expected
                    && expected != old.mod_revision
                {
                    return Outcome::Conflict {
                        key,
                        expected,
                        current: old.mod_revision,
                    };
                }
                self.revision += 1;
                self.kv.remove(&key);
                let tombstone = KeyValue {
                    mod_revision: self.revision,
                    ..old.clone()
                };
                self.record(EventKind::Delete, tombstone, Some(old.clone()));
                Outcome::Deleted(Deleted {
                    kv: old,
                    revision: self.revision,
                })
            }
            Op::Compact { revision } => {
                if revision > self.revision {
                    return Outcome::FutureRevision {
                        requested: revision,
                        current: self.revision,
                    };
                }
                self.compacted = self.compacted.max(revision);
                Outcome::Compacted
            }
            Op::Get { key } => Outcome::Got(self.kv.get(&key).cloned()),
            Op::List { prefix, options } => {
                let at = match options.revision {
                    0 => self.revision,
                    at if at < self.compacted => {
                        return Outcome::ListCompacted {
                            requested: at,
                            compacted: self.compacted,
                        };
                    }
                    at if at > self.revision => {
                        return Outcome::FutureRevision {
                            requested: at,
                            current: self.revision,
                        };
                    }
                    at => at,
                };
                let mut items: Vec<_> = self
                    .state_at(at)
                    .into_values()
                    .filter(|kv| kv.key.starts_with(&prefix))
                    .filter(|kv| options.after.as_ref().is_none_or(|a| kv.key > *a))
                    .collect();
                let more = options.limit != 0 && items.len() > options.limit;
                if more {
                    items.truncate(options.limit);
                }
                Outcome::Listed(List {
                    items,
                    revision: at,
                    more,
                })
            }
        }
    }

    /// Every key as it was at `revision`: the log replayed from the start.
    fn state_at(&self, revision: u64) -> BTreeMap<String, KeyValue> {
        let mut kv = BTreeMap::new();
        for event in self.events.iter().take_while(|e| e.revision <= revision) {
            match event.kind {
                EventKind::Put => {
                    kv.insert(event.kv.key.clone(), event.kv.clone());
                }
                EventKind::Delete => {
                    kv.remove(&event.kv.key);
                }
            }
        }
        kv
    }

    fn record(&mut self, kind: EventKind, kv: KeyValue, prev: Option<KeyValue>) {
        self.events.push(Event {
            kind,
            revision: self.revision,
            kv,
            prev,
        });
    }

    /// After a group of writes has been acknowledged: the window's compaction.
    fn end_group(&mut self) {
        if self.window > 0 {
            self.compacted = self
                .compacted
                .max(self.revision.saturating_sub(self.window));
        }
    }

    fn events_after(&self, prefix: &str, after: u64) -> Vec<Event> {
        self.events
            .iter()
            .filter(|e| e.revision > after && e.kv.key.starts_with(prefix))
            .cloned()
            .collect()
    }

    fn expected_revision(&self, rng: &mut Rng, key: &str) -> u64 {
        match self.kv.get(key) {
            Some(kv) if rng.chance(75) => kv.mod_revision,
            _ => rng.below(self.revision + 2),
        }
    }

    fn write_op(&self, rng: &mut Rng) -> Op {
        let key = rng.pick(KEYS).to_string();
        let value = Bytes::from(format!("v{}", rng.below(1000)));
        match rng.below(100) {
            0..=39 => Op::Create { key, value },
            40..=74 => Op::Update {
                expected: self.expected_revision(rng, &key),
                key,
                value,
            },
            75..=97 => Op::Delete {
                expected: (!rng.chance(20)).then(|| self.expected_revision(rng, &key)),
                key,
            },
            _ => Op::Compact {
                revision: rng.below(self.revision + 2),
            },
        }
    }

    fn read_op(&self, rng: &mut Rng) -> Op {
        if rng.chance(40) {
            return Op::Get {
                key: rng.pick(KEYS).to_string(),
            };
        }
        let after = match rng.below(3) {
            0 => None,
            1 => Some(rng.pick(KEYS).to_string()),
            _ => Some("/a/2x".to_string()),
        };
        Op::List {
            prefix: rng.pick(PREFIXES).to_string(),
            options: ListOptions {
                after,
                limit: rng.below(4) as usize,
                revision: if rng.chance(50) {
                    0
                } else {
                    rng.below(self.revision + 2)
                },
            },
        }
    }
}

async fn execute(store: &dyn Store, op: Op) -> Outcome {
    let result = match op {
        Op::Create { key, value } => store.create(&key, value).await.map(Outcome::Put),
        Op::Update {
            key,
            value,
            expected,
        } => store.update(&key, value, expected).await.map(Outcome::Put),
        Op::Delete { key, expected } => store.delete(&key, expected).await.map(Outcome::Deleted),
        Op::Compact { revision } => store.compact(revision).await.map(|()| Outcome::Compacted),
        Op::Get { key } => store.get(&key).await.map(Outcome::Got),
        Op::List { prefix, options } => store
            .list_page(&prefix, &options)
            .await
            .map(Outcome::Listed),
    };
    result.unwrap_or_else(|error| match error {
        Error::AlreadyExists { key } => Outcome::AlreadyExists(key),
        Error::NotFound { key } => Outcome::NotFound(key),
        Error::Conflict {
            key,
            expected,
            current,
        } => Outcome::Conflict {
            key,
            expected,
            current,
        },
        Error::FutureRevision { requested, current } => {
            Outcome::FutureRevision { requested, current }
        }
        Error::Compacted {
            requested,
            compacted,
        } => Outcome::ListCompacted {
            requested,
            compacted,
        },
        other => panic!("store failed: {other:?}"),
    })
}

/// A random configuration for `seed`: windows small enough to compact, pages small enough
/// to split replays, batches of every size.
fn config(rng: &mut Rng) -> Config {
    Config {
        history_window: *rng.pick(&[0, 8, 40, DEFAULT_HISTORY_WINDOW]),
        history_page: *rng.pick(&[1, 2, 5, 256]),
        max_batch: *rng.pick(&[1, 3, 1024]),
        ..Config::default()
    }
}

/// Runs one seed's sequence against `store`, opened with `config`.
async fn run(store: &dyn Store, seed: u64, rng: &mut Rng, config: &Config) {
    let mut model = Model::new(config.history_window);
    let mut all = store.watch("", 0).await.expect("watch all");
    let mut under_a = store.watch("/a/", 0).await.expect("watch /a/");
    let mut middle = None;
    let mut done = 0;
    while done < OPS {
        if middle.is_none() && done >= OPS / 2 {
            let from = (model.compacted + rng.below(model.revision - model.compacted + 1)).max(1);
            let watch = store.watch("", from).await;
            middle = Some((from, watch.expect("watch from the middle")));
        }
        let ops: Vec<Op> = if rng.chance(30) {
            vec![model.read_op(rng)]
        } else {
            (0..1 + rng.below(6)).map(|_| model.write_op(rng)).collect()
        };
        // The model applies the group in order; the store gets it all at once, in order.
        let mut expected = Vec::new();
        for op in &ops {
            expected.push(model.apply(op));
        }
        let futures: Vec<BoxFuture<'_, Outcome>> = ops
            .iter()
            .map(|op| Box::pin(execute(store, op.clone())) as BoxFuture<'_, Outcome>)
            .collect();
        let actual = tokio::time::timeout(WAIT, join_in_order(futures))
            .await
            .expect("operations timed out");
        for (i, ((op, expected), actual)) in ops.iter().zip(expected).zip(actual).enumerate() {
            assert_eq!(actual, expected, "seed {seed}, op {}: {op:?}", done + i);
        }
        model.end_group();
        let revisions = store.revisions().await.expect("revisions");
        assert_eq!(
            (revisions.current, revisions.compacted),
            (model.revision, model.compacted),
            "seed {seed}, after op {}",
            done + ops.len()
        );
        done += ops.len();
    }

    // Listings and history at the end.
    let list = store.list("").await.expect("list");
    assert_eq!(
        list.items,
        model.kv.values().cloned().collect::<Vec<_>>(),
        "seed {seed}"
    );
    assert_eq!(list.revision, model.revision, "seed {seed}");
    let mut watches = Vec::new();
    let events = events_through(&mut all, model.revision).await;
    assert_eq!(
        events, model.events,
        "seed {seed}: live watch of everything"
    );
    watches.push(("", all));
    let expected = model.events_after("/a/", 0);
    let last = expected.last().map_or(0, |e| e.revision);
    assert_eq!(
        events_through(&mut under_a, last).await,
        expected,
        "seed {seed}: live /a/"
    );
    watches.push(("/a/", under_a));
    if let Some((from, mut watch)) = middle {
        if from < model.compacted {
            let first = next_event(&mut watch).await.expect("an item");
            assert!(
                matches!(first, Err(Error::Compacted { .. })),
                "seed {seed}: {first:?}"
            );
            assert!(
                next_event(&mut watch).await.is_none(),
                "seed {seed}: ends after error"
            );
        } else {
            let events = events_through(&mut watch, model.revision).await;
            assert_eq!(
                events,
                model.events_after("", from),
                "seed {seed}: replay from {from}"
            );
            watches.push(("", watch));
        }
    }
    for prefix in PREFIXES {
        let from = model.compacted.max(1);
        let expected = model.events_after(prefix, from);
        let last = expected.last().map_or(from, |e| e.revision);
        let mut replay = store
            .watch(prefix, from)
            .await
            .expect("watch from compaction point");
        let events = events_through(&mut replay, last).await;
        assert_eq!(
            events, expected,
            "seed {seed}: replay of {prefix:?} from {from}"
        );
        watches.push((prefix, replay));
    }
    if model.compacted >= 2 {
        let refused = store.watch("", model.compacted - 1).await;
        assert!(
            matches!(refused, Err(Error::Compacted { requested, compacted })
                if requested == model.compacted - 1 && compacted == model.compacted),
            "seed {seed}: {refused:?}"
        );
    }

    // Nothing more is pending on any watch: after one sentinel write per prefix, the next
    // event of each watch is the first sentinel under its prefix. (Only where the sentinels
    // cannot compact history that a replaying watch has yet to read.)
    let sentinels_compact =
        model.window != 0 && model.revision + PREFIXES.len() as u64 > model.window;
    if sentinels_compact {
        return;
    }
    let mut sentinels = Vec::new();
    for prefix in PREFIXES {
        let kv = store.create(&format!("{prefix}~end"), Bytes::new()).await;
        sentinels.push(kv.expect("sentinel"));
    }
    for (prefix, mut watch) in watches {
        let sentinel = sentinels.iter().find(|kv| kv.key.starts_with(prefix));
        let sentinel = sentinel.expect("a sentinel for every prefix");
        let next = next_event(&mut watch)
            .await
            .expect("an item")
            .expect("an event");
        assert_eq!(
            &next.kv, sentinel,
            "seed {seed}: next event of a watch of {prefix:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_matches_model() {
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..PARALLEL {
        workers.spawn(async move {
            for seed in (worker..SEEDS).step_by(PARALLEL as usize) {
                let mut rng = Rng::new(seed);
                let config = config(&mut rng);
                let fixture = Fixture::new(config.clone());
                run(&fixture.store, seed, &mut rng, &config).await;
            }
        });
    }
    let all = tokio::time::timeout(WAIT * 10, workers.join_all());
    all.await.expect("model test timed out");
}

#[tokio::test]
async fn memory_matches_model() {
    for seed in 0..SEEDS {
        let mut rng = Rng::new(seed);
        let config = config(&mut rng);
        let store = MemoryStore::new(config.clone());
        run(&store, seed, &mut rng, &config).await;
    }
}
