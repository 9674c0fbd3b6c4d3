//! Tests of the hold machinery, with the activation call behind a scripted [`Activate`]
//! and routing tables built from hand-made objects.

use super::*;
use crate::dataplane::stats::Registry;
use crate::dataplane::table::tests::{node, service as service_object, slice};
use crate::dataplane::table::{ClusterObjects, build};
use activate::ActivateError;
use futures::future::BoxFuture;
use http_body_util::BodyExt;
use tokio::sync::Semaphore;

/// Every wait is bounded by this, so a hang fails the test instead.
const WAIT: Duration = Duration::from_secs(20);

/// What the scripted control plane answers.
#[derive(Clone)]
enum Script {
    Targets(Vec<String>),
    Fail,
}

/// A scripted activation endpoint: records the held count of every call, answers by its
/// script, and (when gated) only as permits are added.
struct Scripted {
    script: Mutex<Script>,
    calls: watch::Sender<Vec<u32>>,
    /// Calls running now, and the most ever at once.
    running: Mutex<(u32, u32)>,
    gate: Option<Semaphore>,
}

#[derive(Clone)]
struct Fake(Arc<Scripted>);

impl Fake {
    fn new(script: Script, gated: bool) -> Self {
        Self(Arc::new(Scripted {
            script: Mutex::new(script),
            calls: watch::Sender::new(Vec::new()),
            running: Mutex::new((0, 0)),
            gate: gated.then(|| Semaphore::new(0)),
        }))
    }

    fn scaled() -> Self {
        Self::new(Script::Targets(vec!["Deployment/web".into()]), false)
    }

    fn calls(&self) -> Vec<u32> {
        self.0.calls.borrow().clone()
    }

    async fn wait_for_calls(&self, n: usize) -> Vec<u32> {
        let mut calls = self.0.calls.subscribe();
        let calls = tokio::time::timeout(WAIT, calls.wait_for(|c| c.len() >= n))
            .await
            .expect("called in time")
            .expect("alive");
        calls.clone()
    }
}

impl Activate for Fake {
    fn activate(
        &self,
        namespace: &str,
        service: &str,
        held: u32,
    ) -> BoxFuture<'static, Result<Vec<String>, ActivateError>> {
        assert_eq!((namespace, service), ("default", "web"));
        let state = self.0.clone();
        Box::pin(async move {
            {
                let mut running = stats::lock(&state.running);
                running.0 += 1;
                running.1 = running.1.max(running.0);
            }
            state.calls.send_modify(|c| c.push(held));
            if let Some(gate) = &state.gate {
                gate.acquire().await.expect("open").forget();
            }
            stats::lock(&state.running).0 -= 1;
            let script = stats::lock(&state.script).clone();
            match script {
                Script::Targets(targets) => Ok(targets),
                Script::Fail => Err(ActivateError::Encode(
                    serde_json::from_str::<u8>("x").expect_err("not a number"),
                )),
            }
        })
    }
}

/// Service `web` (port 80, target 8080) with pod `web-1` on node `a`, ready or not.
fn table(ready: bool, registry: &mut Registry) -> Arc<RouteTable> {
    let objects = ClusterObjects {
        services: vec![service_object(
            "web",
            "ClusterIP",
            "10.96.0.10",
            &[("http", 80, None)],
        )],
        slices: vec![slice(
            "web",
            &[("http", 8080)],
            &[("web-1", "a", Some(ready))],
        )],
        nodes: vec![node("a", "127.0.0.2:10250".parse().expect("address"))],
    };
    Arc::new(build(&objects, &[], "a", registry))
}

struct Fixture {
    routes: watch::Sender<Arc<RouteTable>>,
    registry: Registry,
    activator: Arc<Activator>,
    fake: Fake,
}

impl Fixture {
    fn new(fake: Fake, config: ActivatorConfig) -> Self {
        let mut registry = Registry::default();
        let routes = watch::Sender::new(table(false, &mut registry));
        let activator = Arc::new(Activator::new(
            Arc::new(fake.clone()),
            routes.subscribe(),
            config,
            CancellationToken::new(),
        ));
        Self {
            routes,
            registry,
            activator,
            fake,
        }
    }

    fn target(&self) -> PortRef {
        let table = self.routes.borrow().clone();
        let service = table.service("default", "web").expect("web").clone();
        PortRef { service, index: 0 }
    }

    /// Holds a request with no endpoint in a task.
    fn hold(&self) -> tokio::task::JoinHandle<Outcome> {
        self.hold_for(Shortage::NoEndpoint, true)
    }

    /// Holds a request in a task, for `shortage`; listed endpoints have `room` or not.
    fn hold_for(&self, shortage: Shortage, room: bool) -> tokio::task::JoinHandle<Outcome> {
        let activator = self.activator.clone();
        let target = self.target();
        tokio::spawn(async move {
            let request = Request::new(ProxyBody::full("held body"));
            let deadline = activator.deadline();
            activator
                .hold(&target, request, shortage, deadline, |port| {
                    room && !port.endpoints.is_empty()
                })
                .await
        })
    }

    async fn wait_for_held(&self, count: u32) {
        let check = async {
            loop {
                let held: u32 = self.activator.held().iter().map(|h| h.count).sum();
                if held == count {
                    return;
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::time::timeout(WAIT, check)
            .await
            .expect("held in time");
    }

    fn publish(&mut self, ready: bool) {
        let table = table(ready, &mut self.registry);
        self.activator.retain(&table);
        self.routes.send_replace(table);
    }
}

fn config(queue_depth: u32, timeout: Duration) -> ActivatorConfig {
    ActivatorConfig {
        queue_depth,
        timeout,
    }
}

async fn answered(outcome: tokio::task::JoinHandle<Outcome>) -> (StatusCode, String) {
    let outcome = tokio::time::timeout(WAIT, outcome)
        .await
        .expect("in time")
        .expect("no panic");
    match outcome {
        Outcome::Answered(response) => {
            let status = response.status();
            let body = response.into_body().collect().await.expect("body");
            (
                status,
                String::from_utf8_lossy(&body.to_bytes()).into_owned(),
            )
        }
        Outcome::Released(..) => panic!("released, not answered"),
    }
}

#[tokio::test]
async fn a_held_request_goes_on_once_an_endpoint_appears() {
    let mut fixture = Fixture::new(Fake::scaled(), ActivatorConfig::default());
    let held = fixture.hold();
    assert_eq!(fixture.fake.wait_for_calls(1).await, [1]);
    fixture.wait_for_held(1).await;
    assert_eq!(
        fixture.activator.held(),
        [HeldRequests {
            namespace: "default".into(),
            service: "web".into(),
            count: 1
        }]
    );

    // A rebuild without an endpoint keeps it held; one with an endpoint releases it.
    fixture.publish(false);
    tokio::task::yield_now().await;
    assert!(!held.is_finished());
    fixture.publish(true);
    let outcome = tokio::time::timeout(WAIT, held)
        .await
        .expect("in time")
        .expect("ok");
    let Outcome::Released(target, request) = outcome else {
        panic!("answered, not released");
    };
    assert_eq!(target.port().endpoints.len(), 1);
    let body = request
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(&body[..], b"held body", "the request is intact");
    assert!(
        fixture.activator.held().is_empty(),
        "its place is given back"
    );
    // Held, it was no pod's request.
    let pod = ("default".to_string(), "web-1".to_string());
    assert_eq!(fixture.registry.requests(&pod).snapshot().total, 0);
}

#[tokio::test]
async fn one_call_at_a_time_and_reposts_with_the_held_count() {
    let fixture = Fixture::new(
        Fake::new(Script::Targets(vec!["Deployment/web".into()]), true),
        ActivatorConfig::default(),
    );
    let first = fixture.hold();
    fixture.fake.wait_for_calls(1).await;
    let more: Vec<_> = (0..4).map(|_| fixture.hold()).collect();
    fixture.wait_for_held(5).await;
    assert_eq!(fixture.fake.calls(), [1], "the first call is still out");
    fixture.fake.0.gate.as_ref().expect("gated").add_permits(1);
    // Posted again after the interval, with the count held then.
    let calls = fixture.fake.wait_for_calls(2).await;
    assert_eq!(calls, [1, 5]);
    assert_eq!(
        stats::lock(&fixture.fake.0.running).1,
        1,
        "never two at once"
    );
    first.abort();
    for request in more {
        request.abort();
    }
    fixture.wait_for_held(0).await;
}

#[tokio::test]
async fn nobody_scaling_means_503_and_that_answer_is_kept_a_while() {
    let fixture = Fixture::new(
        Fake::new(Script::Targets(vec![]), false),
        ActivatorConfig::default(),
    );
    let (status, body) = answered(fixture.hold()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "no ready endpoints for service default/web\n");
    assert_eq!(fixture.fake.calls(), [1]);

    // At once again, without asking.
    let (status, _) = answered(fixture.hold()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(fixture.fake.calls(), [1]);

    // Once the answer has run out, asked again: now someone scales it.
    tokio::time::sleep(REFUSAL_TTL).await;
    *stats::lock(&fixture.fake.0.script) = Script::Targets(vec!["Deployment/web".into()]);
    let held = fixture.hold();
    assert_eq!(fixture.fake.wait_for_calls(2).await, [1, 1]);
    fixture.wait_for_held(1).await;
    held.abort();
}

#[tokio::test]
async fn a_failed_call_refuses_unless_someone_already_scales() {
    let fixture = Fixture::new(Fake::new(Script::Fail, false), ActivatorConfig::default());
    let (status, _) = answered(fixture.hold()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);

    tokio::time::sleep(REFUSAL_TTL).await;
    *stats::lock(&fixture.fake.0.script) = Script::Targets(vec!["Deployment/web".into()]);
    let held = fixture.hold();
    fixture.fake.wait_for_calls(2).await;
    *stats::lock(&fixture.fake.0.script) = Script::Fail;
    // The next post fails: the request keeps waiting, and it is posted again.
    fixture.fake.wait_for_calls(4).await;
    assert!(!held.is_finished());
    fixture.wait_for_held(1).await;
    held.abort();
}

#[tokio::test]
async fn a_full_queue_answers_503_and_a_client_gone_gives_its_place_back() {
    let fixture = Fixture::new(Fake::scaled(), config(2, WAIT));
    let a = fixture.hold();
    let b = fixture.hold();
    fixture.wait_for_held(2).await;
    let (status, body) = answered(fixture.hold()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.contains("queue of held requests is full (2)"),
        "{body}"
    );

    a.abort();
    fixture.wait_for_held(1).await;
    let c = fixture.hold();
    fixture.wait_for_held(2).await;
    b.abort();
    c.abort();
    fixture.wait_for_held(0).await;
}

#[tokio::test]
async fn a_request_held_too_long_gets_504() {
    let fixture = Fixture::new(Fake::scaled(), config(10, Duration::from_millis(100)));
    let (status, body) = answered(fixture.hold()).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(
        body,
        "no ready endpoint for service default/web within 100ms\n"
    );
    assert!(fixture.activator.held().is_empty());
}

#[tokio::test]
async fn a_service_deleted_while_requests_wait_answers_them() {
    let fixture = Fixture::new(Fake::scaled(), ActivatorConfig::default());
    let held = fixture.hold();
    fixture.wait_for_held(1).await;
    fixture.routes.send_replace(Arc::default());
    let (status, body) = answered(held).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("went away"), "{body}");
}

/// Time a busy hold takes to be released, on a paused clock.
async fn released_after(fixture: &Fixture, held: tokio::task::JoinHandle<Outcome>) -> Duration {
    let started = tokio::time::Instant::now();
    let outcome = tokio::time::timeout(WAIT, held)
        .await
        .expect("in time")
        .expect("no panic");
    assert!(
        matches!(outcome, Outcome::Released(..)),
        "released, not answered"
    );
    assert!(
        fixture.activator.held().is_empty(),
        "its place is given back"
    );
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_request_held_for_busy_endpoints_goes_on_when_one_of_its_service_requests_ends() {
    let mut fixture = Fixture::new(Fake::scaled(), ActivatorConfig::default());
    fixture.publish(true);
    let held = fixture.hold_for(Shortage::Busy, true);
    fixture.wait_for_held(1).await;
    assert_eq!(
        fixture.fake.wait_for_calls(1).await,
        [1],
        "the autoscaler hears of it"
    );
    // The endpoint is listed, yet the request waits for room rather than going back at once.
    tokio::task::yield_now().await;
    assert!(!held.is_finished());
    fixture.target().service.stats.vacated.notify_one();
    let waited = released_after(&fixture, held).await;
    assert!(
        waited < BUSY_RECHECK,
        "released by the ending request, after {waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_held_for_busy_endpoints_looks_again_after_the_recheck_interval() {
    let mut fixture = Fixture::new(Fake::scaled(), ActivatorConfig::default());
    fixture.publish(true);
    let held = fixture.hold_for(Shortage::Busy, true);
    let waited = released_after(&fixture, held).await;
    assert!(waited >= BUSY_RECHECK, "released after {waited:?}");
}

#[tokio::test]
async fn busy_requests_nobody_scales_get_a_busy_503() {
    let mut fixture = Fixture::new(
        Fake::new(Script::Targets(Vec::new()), false),
        ActivatorConfig::default(),
    );
    fixture.publish(true);
    let (status, body) = answered(fixture.hold_for(Shortage::Busy, false)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        "every endpoint of service default/web is busy (too many requests in flight); try again\n"
    );
}
