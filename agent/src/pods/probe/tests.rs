//! [`supervise`] on paused time with scripted attempts: when attempts run (initial delay,
//! period), startup gating, what is reported, and when a kill is asked for.

use super::*;
use futures::future::BoxFuture;
use k8s_openapi::api::core::v1::Probe as ProbeSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use spec::{Action, DEFAULT_FAILURE_THRESHOLD, DEFAULT_PERIOD, DEFAULT_TIMEOUT};
use std::collections::HashMap;
use std::sync::Mutex;

/// Attempts answer from a script per probe kind (then keep answering the last entry), and
/// are logged with the (virtual) time since the start.
struct Script {
    start: Instant,
    answers: Mutex<HashMap<&'static str, Vec<bool>>>,
    log: Mutex<Vec<(&'static str, u64)>>,
}

impl Script {
    fn new(answers: &[(Kind, &[bool])]) -> Self {
        Self {
            start: Instant::now(),
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|(kind, list)| (kind.as_str(), list.to_vec()))
                    .collect(),
            ),
            log: Mutex::default(),
        }
    }

    /// Seconds since the start of each attempt of `kind`.
    fn times(&self, kind: Kind) -> Vec<u64> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|(k, _)| *k == kind.as_str())
            .map(|(_, t)| *t)
            .collect()
    }
}

impl Check for Script {
    fn run<'a>(&'a self, probe: &'a Probe) -> BoxFuture<'a, Result<(), String>> {
        let kind = probe.kind.as_str();
        let elapsed = self.start.elapsed().as_secs();
        self.log.lock().expect("log").push((kind, elapsed));
        let mut answers = self.answers.lock().expect("answers");
        let list = answers.entry(kind).or_default();
        let passed = match list.len() {
            0 => true,
            1 => list[0],
            _ => list.remove(0),
        };
        Box::pin(async move {
            if passed {
                Ok(())
            } else {
                Err(format!("{kind} said no"))
            }
        })
    }
}

#[derive(Default)]
struct Heard {
    events: Mutex<Vec<String>>,
}

impl Heard {
    fn events(&self) -> Vec<String> {
        self.events.lock().expect("events").clone()
    }
}

impl Observer for Heard {
    fn started(&self) {
        self.events.lock().expect("events").push("started".into());
    }

    fn ready(&self, ready: bool) {
        self.events
            .lock()
            .expect("events")
            .push(format!("ready={ready}"));
    }

    fn failed(&self, kind: Kind, message: &str) {
        self.events
            .lock()
            .expect("events")
            .push(format!("{} failed: {message}", kind.as_str()));
    }
}

fn probe(kind: Kind, initial_delay: u64, period: u64, success: u32, failure: u32) -> Probe {
    Probe {
        kind,
        action: Action::Unsupported("scripted"),
        initial_delay: Duration::from_secs(initial_delay),
        period: Duration::from_secs(period),
        timeout: Duration::from_secs(1),
        success_threshold: success,
        failure_threshold: failure,
        termination_grace: None,
    }
}

/// Runs `supervise` for `secs` of virtual time; its kill, if it asked for one.
async fn run_for(probes: &Probes, script: &Script, heard: &Heard, secs: u64) -> Option<Kill> {
    tokio::time::timeout(
        Duration::from_secs(secs),
        supervise(probes, script.start, script, heard),
    )
    .await
    .ok()
}

#[tokio::test(start_paused = true)]
async fn liveness_kills_after_the_failure_threshold_counting_from_the_initial_delay() {
    let probes = Probes {
        liveness: Some(probe(Kind::Liveness, 5, 10, 1, 3)),
        ..Probes::default()
    };
    let script = Script::new(&[(Kind::Liveness, &[true, false, false, false])]);
    let heard = Heard::default();
    let kill = run_for(&probes, &script, &heard, 3600).await;
    assert_eq!(
        kill,
        Some(Kill {
            kind: Kind::Liveness,
            grace: None
        })
    );
    assert_eq!(script.times(Kind::Liveness), [5, 15, 25, 35]);
    assert_eq!(heard.events(), vec!["Liveness failed: Liveness said no"; 3]);
}

#[tokio::test(start_paused = true)]
async fn a_passing_liveness_probe_never_kills() {
    let probes = Probes {
        liveness: Some(probe(Kind::Liveness, 0, 10, 1, 1)),
        ..Probes::default()
    };
    let script = Script::new(&[(Kind::Liveness, &[true])]);
    let heard = Heard::default();
    assert_eq!(run_for(&probes, &script, &heard, 95).await, None);
    assert_eq!(
        script.times(Kind::Liveness),
        [0, 10, 20, 30, 40, 50, 60, 70, 80, 90]
    );
    assert!(heard.events().is_empty());
}

#[tokio::test(start_paused = true)]
async fn readiness_follows_its_thresholds_both_ways() {
    let probes = Probes {
        readiness: Some(probe(Kind::Readiness, 0, 1, 2, 2)),
        ..Probes::default()
    };
    let script = Script::new(&[(
        Kind::Readiness,
        &[true, true, false, true, false, false, true, true],
    )]);
    let heard = Heard::default();
    assert_eq!(run_for(&probes, &script, &heard, 30).await, None);
    let changes: Vec<String> = heard
        .events()
        .into_iter()
        .filter(|e| e.starts_with("ready="))
        .collect();
    assert_eq!(changes, ["ready=true", "ready=false", "ready=true"]);
}

#[tokio::test(start_paused = true)]
async fn startup_gates_liveness_and_readiness() {
    let probes = Probes {
        startup: Some(probe(Kind::Startup, 0, 2, 1, 10)),
        liveness: Some(probe(Kind::Liveness, 0, 10, 1, 1)),
        readiness: Some(probe(Kind::Readiness, 0, 10, 1, 1)),
    };
    let script = Script::new(&[
        (Kind::Startup, &[false, false, true]),
        (Kind::Liveness, &[true]),
        (Kind::Readiness, &[true]),
    ]);
    let heard = Heard::default();
    assert_eq!(run_for(&probes, &script, &heard, 15).await, None);
    assert_eq!(script.times(Kind::Startup), [0, 2, 4]);
    // Nothing else ran before the startup probe passed at 4 s; then both run at once.
    assert_eq!(script.times(Kind::Liveness), [4, 14]);
    assert_eq!(script.times(Kind::Readiness), [4, 14]);
    assert_eq!(
        heard.events(),
        [
            "Startup failed: Startup said no",
            "Startup failed: Startup said no",
            "started",
            "ready=true",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_failing_startup_probe_kills_and_nothing_else_runs() {
    let mut startup = probe(Kind::Startup, 1, 1, 1, 3);
    startup.termination_grace = Some(Duration::from_secs(7));
    let probes = Probes {
        startup: Some(startup),
        liveness: Some(probe(Kind::Liveness, 0, 1, 1, 1)),
        readiness: Some(probe(Kind::Readiness, 0, 1, 1, 1)),
    };
    let script = Script::new(&[(Kind::Startup, &[false])]);
    let heard = Heard::default();
    let kill = run_for(&probes, &script, &heard, 3600).await;
    assert_eq!(
        kill,
        Some(Kill {
            kind: Kind::Startup,
            grace: Some(Duration::from_secs(7))
        })
    );
    assert_eq!(script.times(Kind::Startup), [1, 2, 3]);
    assert!(script.times(Kind::Liveness).is_empty());
    assert!(script.times(Kind::Readiness).is_empty());
    assert!(!heard.events().contains(&"started".to_string()));
}

#[tokio::test(start_paused = true)]
async fn an_attempt_past_its_timeout_fails() {
    struct Hangs;
    impl Check for Hangs {
        fn run<'a>(&'a self, _: &'a Probe) -> BoxFuture<'a, Result<(), String>> {
            Box::pin(std::future::pending())
        }
    }
    let probes = Probes {
        liveness: Some(probe(Kind::Liveness, 0, 10, 1, 2)),
        ..Probes::default()
    };
    let heard = Heard::default();
    let kill = tokio::time::timeout(
        Duration::from_secs(3600),
        supervise(&probes, Instant::now(), &Hangs, &heard),
    )
    .await
    .ok();
    assert_eq!(kill.map(|k| k.kind), Some(Kind::Liveness));
    assert_eq!(
        heard.events(),
        vec!["Liveness failed: timed out after 1s"; 2]
    );
}

#[test]
fn specs_get_kubernetes_defaults() {
    let spec: ProbeSpec = serde_json::from_value(serde_json::json!({
        "httpGet": {"port": "http", "path": "healthz", "httpHeaders": [{"name": "X-A", "value": "1"}]},
        "successThreshold": 5,
    }))
    .expect("probe");
    let liveness = Probe::new(Kind::Liveness, &spec);
    assert_eq!(
        liveness.action,
        Action::HttpGet {
            path: "/healthz".into(),
            port: IntOrString::String("http".into()),
            headers: vec![("X-A".into(), "1".into())],
        }
    );
    assert_eq!(liveness.period, DEFAULT_PERIOD);
    assert_eq!(liveness.timeout, DEFAULT_TIMEOUT);
    assert_eq!(liveness.failure_threshold, DEFAULT_FAILURE_THRESHOLD);
    assert_eq!(liveness.initial_delay, Duration::ZERO);
    assert_eq!(liveness.success_threshold, 1, "liveness allows only 1");
    assert_eq!(Probe::new(Kind::Readiness, &spec).success_threshold, 5);

    let exec: ProbeSpec =
        serde_json::from_value(serde_json::json!({"exec": {"command": ["true"]}})).expect("probe");
    assert!(matches!(
        Probe::new(Kind::Readiness, &exec).action,
        Action::Unsupported(why) if why.contains("exec")
    ));
}
