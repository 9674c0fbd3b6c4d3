//! The counters the request path updates: how many requests each endpoint has
//! outstanding ([`Load`]), answers by status code ([`CodeCounts`]), request durations
//! ([`Histogram`]), the requests delivered to each pod of this node ([`PodRequests`],
//! counted by a [`Delivery`]), and the [`Registry`] that hands them out to routing tables
//! so they outlive table rebuilds (a rebuild must not reset a counter or lose an in-flight
//! count). All are lock-free but [`PodRequests`], which takes a small uncontended lock per
//! pod twice a request so its busy time is exact.

use skiff_model::stats::RequestCounters;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Upper bounds (seconds) of the request-duration histogram's buckets: from half a
/// millisecond (a warm wasm instance answers in tens of microseconds, a peer hop adds a
/// few hundred) to 10 s (beyond which the request timeout usually steps in).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Distinct status codes counted without a lock per counter set; later codes go to a
/// locked map. A service answers with a handful of codes in practice (200, 404, 500, 503).
const CODE_SLOTS: usize = 8;

/// A request outstanding at an endpoint, counted from its creation until dropped (which
/// is when the response body has been sent on, or the attempt failed). Dropping it also
/// tells requests held for its Service because every endpoint was busy that one may have
/// room now ([`ServiceStats::vacated`]).
pub(crate) struct Load {
    counter: Arc<AtomicUsize>,
    service: Arc<ServiceStats>,
}

impl Load {
    /// Counts one more request of `service` outstanding on `counter`.
    pub(crate) fn start(counter: &Arc<AtomicUsize>, service: &Arc<ServiceStats>) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Self {
            counter: counter.clone(),
            service: service.clone(),
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.counter.fetch_sub(1, Ordering::Relaxed);
        self.service.vacated.notify_one();
    }
}

/// The requests delivered to one pod of this node, for the autoscalers: how many, how
/// many are outstanding, and the integral of the outstanding count over time. Each change
/// folds the time since the previous one into the integral (outstanding × elapsed), under
/// a lock held for a few arithmetic steps: the integral is exact and never goes back,
/// which reading separate atomics could not promise.
#[derive(Default)]
pub(crate) struct PodRequests(Mutex<Busy>);

#[derive(Default)]
struct Busy {
    total: u64,
    in_flight: u32,
    /// Request-nanoseconds up to `since` (wrapping, like any cumulative counter).
    busy_nanos: u64,
    /// When `in_flight` last changed (`None` before the first request).
    since: Option<Instant>,
}

impl Busy {
    /// Folds the time up to `now` into the integral.
    fn advance(&mut self, now: Instant) {
        if let Some(since) = self.since {
            let elapsed =
                u64::try_from(now.saturating_duration_since(since).as_nanos()).unwrap_or(u64::MAX);
            let busy = elapsed.saturating_mul(u64::from(self.in_flight));
            self.busy_nanos = self.busy_nanos.wrapping_add(busy);
        }
        // A reader's `now` may be a little older than a writer's: never move back.
        self.since = Some(self.since.map_or(now, |since| since.max(now)));
    }
}

impl PodRequests {
    /// The figures now.
    pub(crate) fn snapshot(&self) -> RequestCounters {
        let mut busy = lock(&self.0);
        busy.advance(Instant::now());
        RequestCounters {
            total: busy.total,
            busy_nanos: busy.busy_nanos,
            in_flight: busy.in_flight,
        }
    }

    /// Whether a request is outstanding.
    fn is_busy(&self) -> bool {
        lock(&self.0).in_flight > 0
    }
}

/// One request delivered to a pod: counted from its creation (the hand-over to the pod's
/// handler) until dropped (its response body sent on, or the exchange abandoned).
pub(crate) struct Delivery(Arc<PodRequests>);

impl Delivery {
    /// Counts one request delivered to `pod`.
    pub(crate) fn start(pod: &Arc<PodRequests>) -> Self {
        let now = Instant::now();
        {
            let mut busy = lock(&pod.0);
            busy.advance(now);
            busy.total += 1;
            busy.in_flight = busy.in_flight.saturating_add(1);
        }
        Self(pod.clone())
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut busy = lock(&self.0.0);
        busy.advance(now);
        busy.in_flight = busy.in_flight.saturating_sub(1);
    }
}

/// Requests by HTTP status code.
#[derive(Default)]
pub(crate) struct CodeCounts {
    slots: [(AtomicU16, AtomicU64); CODE_SLOTS],
    overflow: Mutex<HashMap<u16, u64>>,
}

impl CodeCounts {
    /// Counts one answer with `code`.
    pub(crate) fn add(&self, code: u16) {
        for (slot, count) in &self.slots {
            let claimed = match slot.load(Ordering::Acquire) {
                c if c == code => true,
                0 => match slot.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => true,
                    Err(other) => other == code,
                },
                _ => false,
            };
            if claimed {
                count.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        *lock(&self.overflow).entry(code).or_default() += 1;
    }

    /// Every code seen with its count, by code.
    pub(crate) fn snapshot(&self) -> Vec<(u16, u64)> {
        let mut all: HashMap<u16, u64> = lock(&self.overflow).clone();
        for (slot, count) in &self.slots {
            match slot.load(Ordering::Acquire) {
                0 => {}
                code => *all.entry(code).or_default() += count.load(Ordering::Relaxed),
            }
        }
        let mut all: Vec<_> = all.into_iter().filter(|(_, n)| *n > 0).collect();
        all.sort_unstable();
        all
    }
}

/// Request durations in [`DURATION_BUCKETS`].
#[derive(Default)]
pub(crate) struct Histogram {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    /// Records one duration.
    pub(crate) fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = DURATION_BUCKETS.partition_point(|&bound| bound < seconds);
        self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Cumulative counts per bucket (the last is the total) and the sum in seconds.
    pub(crate) fn snapshot(&self) -> (Vec<u64>, f64) {
        let mut total = 0;
        let cumulative = self
            .buckets
            .iter()
            .map(|b| {
                total += b.load(Ordering::Relaxed);
                total
            })
            .collect();
        let sum = Duration::from_nanos(self.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        (cumulative, sum)
    }
}

/// One Service's counters.
#[derive(Default)]
pub(crate) struct ServiceStats {
    /// Told (one waiter per request) whenever a request of the Service this agent sent to
    /// an endpoint ends: a request held because every endpoint was busy waits on it.
    pub(crate) vacated: tokio::sync::Notify,
    /// Durations of its requests, to the response head.
    pub(crate) durations: Histogram,
    /// Answers given without reaching a pod (no ready endpoint, every attempt failed).
    pub(crate) unrouted: CodeCounts,
}

/// `(namespace, name)` of a Service or pod.
pub(crate) type Key = (String, String);

/// The counters routing tables share, by what they count. Only the table builder and the
/// metrics renderer lock it; the request path holds `Arc`s taken from it.
#[derive(Default)]
pub(crate) struct Registry {
    /// By Service.
    pub(crate) services: HashMap<Key, Arc<ServiceStats>>,
    /// Answers by (Service, pod name): a pod's answers to that Service's requests.
    pub(crate) answers: HashMap<(Key, String), Arc<CodeCounts>>,
    /// Requests forwarded to peers by (Service, node name).
    pub(crate) forwarded: HashMap<(Key, String), Arc<AtomicU64>>,
    /// Outstanding requests by (pod, target port): a pod's load across every Service.
    pub(crate) loads: HashMap<(Key, u16), Arc<AtomicUsize>>,
    /// Requests delivered to pods of this node, by pod.
    pub(crate) requests: HashMap<Key, Arc<PodRequests>>,
}

impl Registry {
    /// The counters of `service`.
    pub(crate) fn service(&mut self, service: &Key) -> Arc<ServiceStats> {
        self.services.entry(service.clone()).or_default().clone()
    }

    /// The answer counts of `pod` for `service`.
    pub(crate) fn answers(&mut self, service: &Key, pod: &str) -> Arc<CodeCounts> {
        self.answers
            .entry((service.clone(), pod.to_string()))
            .or_default()
            .clone()
    }

    /// The forward count of `service` to `node`.
    pub(crate) fn forwarded(&mut self, service: &Key, node: &str) -> Arc<AtomicU64> {
        self.forwarded
            .entry((service.clone(), node.to_string()))
            .or_default()
            .clone()
    }

    /// The outstanding-request count of `pod`'s `port`.
    pub(crate) fn load(&mut self, pod: &Key, port: u16) -> Arc<AtomicUsize> {
        self.loads.entry((pod.clone(), port)).or_default().clone()
    }

    /// The delivered-request counters of `pod` (on this node).
    pub(crate) fn requests(&mut self, pod: &Key) -> Arc<PodRequests> {
        self.requests.entry(pod.clone()).or_default().clone()
    }

    /// Forgets the counters of Services that are gone and of pods no longer in any of
    /// their EndpointSlices (ready or not: a pod whose readiness flaps keeps its counts).
    pub(crate) fn retain(&mut self, services: &HashSet<Key>, pods: &HashSet<Key>) {
        self.services.retain(|k, _| services.contains(k));
        self.forwarded.retain(|(k, _), _| services.contains(k));
        self.answers.retain(|(service, pod), _| {
            services.contains(service) && pods.contains(&(service.0.clone(), pod.clone()))
        });
        // A count still held by a request in flight stays, so it is not lost if the pod
        // comes back while that request runs.
        self.loads
            .retain(|(pod, _), load| pods.contains(pod) || Arc::strong_count(load) > 1);
        self.requests
            .retain(|pod, requests| pods.contains(pod) || requests.is_busy());
    }
}

/// Locks a mutex whose data stays consistent even if a holder panicked (single-step
/// edits only).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_counted_past_the_lock_free_slots() {
        let counts = CodeCounts::default();
        for code in 200..200 + CODE_SLOTS as u16 + 2 {
            counts.add(code);
        }
        counts.add(200);
        counts.add(209);
        let snapshot = counts.snapshot();
        assert_eq!(snapshot.len(), CODE_SLOTS + 2);
        assert_eq!(snapshot[0], (200, 2));
        assert_eq!(snapshot.last(), Some(&(209, 2)));
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100));
        h.observe(Duration::from_millis(3));
        h.observe(Duration::from_secs(60));
        let (buckets, sum) = h.snapshot();
        assert_eq!(buckets[0], 1, "0.5 ms bucket");
        assert_eq!(buckets[3], 2, "5 ms bucket");
        assert_eq!(buckets[DURATION_BUCKETS.len() - 1], 2, "10 s bucket");
        assert_eq!(buckets[DURATION_BUCKETS.len()], 3, "+Inf");
        assert!((sum - 60.0031).abs() < 1e-6, "{sum}");
    }

    #[test]
    fn deliveries_count_requests_and_their_busy_time() {
        let pod = Arc::new(PodRequests::default());
        assert_eq!(pod.snapshot(), RequestCounters::default());

        let a = Delivery::start(&pod);
        let b = Delivery::start(&pod);
        let two = pod.snapshot();
        assert_eq!((two.total, two.in_flight), (2, 2));
        std::thread::sleep(Duration::from_millis(20));
        drop(a);
        let one = pod.snapshot();
        assert_eq!((one.total, one.in_flight), (2, 1));
        // Two requests outstanding for at least 20 ms.
        assert!(one.busy_nanos >= 40_000_000, "{one:?}");
        std::thread::sleep(Duration::from_millis(20));
        drop(b);
        let none = pod.snapshot();
        assert_eq!((none.total, none.in_flight), (2, 0));
        // ...and then one for at least 20 ms more.
        assert!(none.busy_nanos >= one.busy_nanos + 20_000_000, "{none:?}");

        // Idle: the integral stands still, and readings never go back.
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(pod.snapshot().busy_nanos, none.busy_nanos);
    }

    #[test]
    fn busy_time_is_the_sum_of_request_durations() {
        let pod = Arc::new(PodRequests::default());
        let started = Instant::now();
        let deliveries: Vec<_> = (0..4).map(|_| Delivery::start(&pod)).collect();
        let before = pod.snapshot().busy_nanos;
        std::thread::sleep(Duration::from_millis(10));
        drop(deliveries);
        let whole = u64::try_from(started.elapsed().as_nanos()).expect("fits");
        let busy = pod.snapshot().busy_nanos;
        // Four requests, each outstanding at least 10 ms and at most the whole span.
        assert!(busy >= 40_000_000 && busy <= 4 * whole, "{busy} {whole}");
        assert!(busy >= before);
    }

    #[test]
    fn request_counters_outlive_rebuilds_while_busy() {
        let mut registry = Registry::default();
        let key: Key = ("default".into(), "web-1".into());
        let idle: Key = ("default".into(), "web-2".into());
        let delivery = Delivery::start(&registry.requests(&key));
        registry.requests(&idle);
        registry.retain(&HashSet::new(), &HashSet::new());
        assert!(registry.requests.contains_key(&key), "in flight: kept");
        assert!(!registry.requests.contains_key(&idle), "gone and idle");
        drop(delivery);
        assert_eq!(registry.requests(&key).snapshot().total, 1);
        registry.retain(&HashSet::new(), &HashSet::new());
        assert!(registry.requests.is_empty());
    }

    #[test]
    fn a_load_counts_until_dropped() {
        let counter = Arc::new(AtomicUsize::new(0));
        let service = Arc::new(ServiceStats::default());
        let a = Load::start(&counter, &service);
        let b = Load::start(&counter, &service);
        assert_eq!(counter.load(Ordering::Relaxed), 2);
        drop(a);
        drop(b);
        assert_eq!(counter.load(Ordering::Relaxed), 0);
        use futures::FutureExt;
        assert!(
            service.vacated.notified().now_or_never().is_some(),
            "an ending request tells a waiter its Service may have room"
        );
    }
}
