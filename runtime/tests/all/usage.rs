//! [`Usage`]: CPU time counts while guest code runs and not while it sleeps in the host;
//! memory follows the instances' linear memory and is given back when they end — for
//! commands and for HTTP requests.

use crate::http::get;
use crate::{WAIT, argv, load, runtime};
use hyper::StatusCode;
use skiff_runtime::{CommandSpec, HttpConfig, Outcome, Usage};
use skiff_test_programs as programs;
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: u64 = 1 << 20;

/// Waits until `usage` satisfies `check`, failing after [`WAIT`].
async fn until(usage: &Usage, what: &str, check: impl Fn(&Usage) -> bool) {
    tokio::time::timeout(WAIT, async {
        while !check(usage) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "{what}: cpu {} ns, memory {} bytes",
            usage.cpu_nanos(),
            usage.memory_bytes()
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spinning_command_is_charged_about_the_time_it_ran() {
    let rt = runtime();
    let spin = load(&rt, programs::P2_SPIN);
    let usage = Arc::new(Usage::new());
    let started = Instant::now();
    let instance = rt
        .spawn(
            &spin,
            CommandSpec {
                usage: usage.clone(),
                ..CommandSpec::default()
            },
        )
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stop = instance.stop_handle();
    stop.force();
    let outcome = tokio::time::timeout(WAIT, instance.wait())
        .await
        .expect("stops");
    let wall = started.elapsed();
    assert_eq!(outcome, Outcome::Stopped);
    let cpu = Duration::from_nanos(usage.cpu_nanos());
    // The guest was polled without pause but for the scheduler's gaps: charged most of its
    // wall time, never more.
    assert!(cpu <= wall, "cpu {cpu:?} > wall {wall:?}");
    assert!(cpu >= wall / 4, "cpu {cpu:?} for a spinner alive {wall:?}");
    assert_eq!(usage.memory_bytes(), 0, "the ended instance holds nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_sleeping_in_the_host_is_not_charged_for_the_sleep() {
    let rt = runtime();
    let sleep = load(&rt, programs::P2_SLEEP);
    let usage = Arc::new(Usage::new());
    let started = Instant::now();
    let instance = rt
        .spawn(
            &sleep,
            CommandSpec {
                args: argv(&["600"]),
                usage: usage.clone(),
                ..CommandSpec::default()
            },
        )
        .expect("spawn");
    let outcome = tokio::time::timeout(WAIT, instance.wait())
        .await
        .expect("ends");
    let wall = started.elapsed();
    assert_eq!(outcome, Outcome::Exited(0));
    let cpu = Duration::from_nanos(usage.cpu_nanos());
    assert!(cpu > Duration::ZERO, "instantiation and start-up ran");
    assert!(
        cpu < wall / 3,
        "cpu {cpu:?} for a guest that slept 600 ms of {wall:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_follows_growth_and_is_given_back_when_the_instance_ends() {
    let rt = runtime();
    let hold = load(&rt, programs::P1_HOLD);
    let usage = Arc::new(Usage::new());
    let instance = rt
        .spawn(
            &hold,
            CommandSpec {
                args: argv(&["16"]),
                usage: usage.clone(),
                ..CommandSpec::default()
            },
        )
        .expect("spawn");
    // 16 MiB of vectors, grown by memory.grow past the module's initial memory.
    until(&usage, "memory grows", |u| u.memory_bytes() >= 16 * MIB).await;
    let held = usage.memory_bytes();
    assert!(held < 64 * MIB, "{held} bytes for 16 MiB of data");
    instance.stop_handle().force();
    tokio::time::timeout(WAIT, instance.wait())
        .await
        .expect("stops");
    assert_eq!(usage.memory_bytes(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_requests_are_charged_to_the_handler_usage() {
    let rt = runtime();
    let module = load(&rt, programs::P2_HTTP_GUEST);
    let usage = Arc::new(Usage::new());
    let h = rt
        .http_handler(
            &module,
            HttpConfig {
                usage: usage.clone(),
                ..HttpConfig::default()
            },
        )
        .expect("handler");

    let (status, body) = get(&h, "/sleep/500").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "slept 500"));
    let after_sleep = Duration::from_nanos(usage.cpu_nanos());
    assert!(after_sleep > Duration::ZERO);
    assert!(after_sleep < Duration::from_millis(250), "{after_sleep:?}");

    let started = Instant::now();
    let (status, body) = get(&h, "/burn/400").await;
    let wall = started.elapsed();
    assert_eq!((status, body.as_str()), (StatusCode::OK, "burned 400"));
    let burned = Duration::from_nanos(usage.cpu_nanos()) - after_sleep;
    assert!(burned <= wall, "{burned:?} > {wall:?}");
    assert!(burned >= Duration::from_millis(100), "{burned:?}");

    // A request in progress holds its instance's memory; it is given back after.
    let slow = tokio::spawn({
        let h = h.clone();
        async move { get(&h, "/sleep/300").await }
    });
    until(&usage, "memory while serving", |u| u.memory_bytes() > 0).await;
    assert_eq!(slow.await.expect("request task").0, StatusCode::OK);
    until(&usage, "memory given back", |u| u.memory_bytes() == 0).await;
}
