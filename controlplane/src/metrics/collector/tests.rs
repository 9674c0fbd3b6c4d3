//! The collector against a real stream server on loopback: reconnection, the report
//! counter, following and letting go.

use super::*;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::routing::get;
use futures::StreamExt;
use skiff_model::stats::{ContainerReport, INTERVAL_PARAM, PodReport, STREAM_PATH};
use std::sync::atomic::{AtomicUsize, Ordering};

const BOUND: Duration = Duration::from_secs(20);

fn line(at: u64, cpu_ms: u64) -> String {
    let report = NodeReport {
        node: "n1".into(),
        timestamp_millis: 1_700_000_000_000 + at,
        full: true,
        cpu_nanos: cpu_ms * 1_000_000,
        memory_bytes: 0,
        pods: vec![PodReport {
            namespace: "default".into(),
            name: "a".into(),
            containers: vec![ContainerReport {
                name: "app".into(),
                cpu_nanos: cpu_ms * 1_000_000,
                memory_bytes: 0,
            }],
            requests: None,
        }],
        held: Vec::new(),
    };
    format!("{}\n", serde_json::to_string(&report).expect("json"))
}

struct Agent {
    connections: AtomicUsize,
    intervals: Mutex<Vec<String>>,
}

/// The first connection sends two reports and ends; every later one sends two reports
/// of an agent that restarted (counters higher than before, but a new connection) and
/// stays open.
async fn stream(
    State(agent): State<Arc<Agent>>,
    Query(query): Query<HashMap<String, String>>,
) -> Body {
    let n = agent.connections.fetch_add(1, Ordering::SeqCst);
    agent
        .intervals
        .lock()
        .expect("lock")
        .push(query.get(INTERVAL_PARAM).cloned().unwrap_or_default());
    let lines = if n == 0 {
        vec![line(1_000, 0), line(1_500, 100)]
    } else {
        vec![line(5_000, 200), line(5_500, 250)]
    };
    let lines = futures::stream::iter(lines.into_iter().map(Ok::<_, std::io::Error>));
    if n == 0 {
        Body::from_stream(lines)
    } else {
        Body::from_stream(lines.chain(futures::stream::pending()))
    }
}

async fn agent() -> (Arc<Agent>, String) {
    let agent = Arc::new(Agent {
        connections: AtomicUsize::new(0),
        intervals: Mutex::default(),
    });
    let app = Router::new()
        .route(STREAM_PATH, get(stream))
        .with_state(agent.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (agent, address)
}

async fn until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(start.elapsed() < BOUND, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn reconnects_and_starts_the_node_afresh() {
    let (agent, address) = agent().await;
    let collector = Collector::with_interval(Duration::from_millis(100));
    let mut reports = collector.subscribe();
    let shutdown = CancellationToken::new();
    collector.follow("n1", &address, &shutdown);
    assert_eq!(collector.followed(), [("n1".to_string(), address.clone())]);
    // After the reconnection the rate is taken over the new connection's reports only:
    // 50 ms over 500 ms. Across the connections it would be 150 ms over 4 s.
    let restarted = std::time::UNIX_EPOCH + Duration::from_millis(1_700_000_005_000);
    let usage = until("the reconnected stream's figures", || {
        collector
            .pod("default", "a", RESOURCE_WINDOW)
            .filter(|u| u.timestamp > restarted)
    })
    .await;
    assert!((usage.cpu_cores() - 0.1).abs() < 1e-9, "{usage:?}");
    assert_eq!(usage.window, Duration::from_millis(500));
    assert!(agent.connections.load(Ordering::SeqCst) >= 2);
    assert!(
        agent
            .intervals
            .lock()
            .expect("lock")
            .iter()
            .all(|i| i == "100"),
        "the interval asked for"
    );
    assert!(*reports.borrow_and_update() >= 4, "every report counted");
    // Letting the node go forgets its figures.
    collector.unfollow("n1");
    assert!(collector.followed().is_empty());
    assert!(collector.pod("default", "a", RESOURCE_WINDOW).is_none());
    assert!(collector.node("n1", RESOURCE_WINDOW).is_none());
    shutdown.cancel();
}

#[tokio::test]
async fn a_node_that_cannot_be_reached_is_retried_and_can_move() {
    // Nothing listens on this port once the listener is dropped.
    let dead = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").to_string()
    };
    let collector = Collector::with_interval(Duration::from_millis(100));
    let shutdown = CancellationToken::new();
    collector.follow("n1", &dead, &shutdown);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(collector.nodes(RESOURCE_WINDOW).is_empty());
    // The node's address changes: the stream moves to the live agent.
    let (agent, address) = agent().await;
    collector.follow("n1", &address, &shutdown);
    until("figures from the new address", || {
        collector.node("n1", RESOURCE_WINDOW)
    })
    .await;
    assert!(agent.connections.load(Ordering::SeqCst) >= 1);
    shutdown.cancel();
}

#[tokio::test]
async fn reports_for_another_node_are_refused() {
    let (agent, address) = agent().await;
    let collector = Collector::with_interval(Duration::from_millis(100));
    let shutdown = CancellationToken::new();
    collector.follow("n2", &address, &shutdown);
    until("a few attempts", || {
        (agent.connections.load(Ordering::SeqCst) >= 2).then_some(())
    })
    .await;
    assert!(collector.pods(None, RESOURCE_WINDOW).is_empty());
    assert!(collector.nodes(RESOURCE_WINDOW).is_empty());
    shutdown.cancel();
}
