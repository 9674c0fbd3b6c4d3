//! Stopping from outside: forced, graceful (the guest finishes in its grace period), and
//! a guest waiting in the host.

use crate::{WAIT, argv, load, runtime};
use skiff_runtime::{CommandSpec, Outcome};
use skiff_test_programs as programs;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_stop_ends_a_spinning_guest() {
    let rt = runtime();
    for program in [programs::P1_SPIN, programs::P2_SPIN] {
        let instance = rt
            .spawn(&load(&rt, program), CommandSpec::default())
            .expect("spawn");
        let stop = instance.stop_handle();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!stop.is_finished());
        stop.force();
        let outcome = tokio::time::timeout(WAIT, instance.wait())
            .await
            .expect("stops");
        assert_eq!(outcome, Outcome::Stopped);
        assert!(stop.is_finished());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_stop_ends_a_guest_waiting_in_the_host() {
    let rt = runtime();
    let spec = CommandSpec {
        args: argv(&["600000"]),
        ..CommandSpec::default()
    };
    let instance = rt
        .spawn(&load(&rt, programs::P2_SLEEP), spec)
        .expect("spawn");
    tokio::time::sleep(Duration::from_millis(50)).await;
    instance.stop_handle().force();
    let outcome = tokio::time::timeout(WAIT, instance.wait())
        .await
        .expect("stops");
    assert_eq!(outcome, Outcome::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_lets_the_guest_finish() {
    let rt = runtime();
    let spec = CommandSpec {
        args: argv(&["100"]),
        ..CommandSpec::default()
    };
    let instance = rt
        .spawn(&load(&rt, programs::P1_SLEEP), spec)
        .expect("spawn");
    let stop = instance.stop_handle();
    tokio::time::timeout(WAIT, stop.stop(Duration::from_secs(30)))
        .await
        .expect("stop returns");
    assert!(stop.is_finished());
    assert_eq!(instance.wait().await, Outcome::Exited(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_forces_after_the_grace_period() {
    let rt = runtime();
    let instance = rt
        .spawn(&load(&rt, programs::P1_SPIN), CommandSpec::default())
        .expect("spawn");
    let stop = instance.stop_handle();
    tokio::time::timeout(WAIT, stop.stop(Duration::from_millis(100)))
        .await
        .expect("stop returns");
    assert_eq!(instance.wait().await, Outcome::Stopped);
}

/// A guest still spinning when its `Runtime` handle and then its tokio runtime are dropped:
/// the tokio runtime's shutdown must not wait on it forever (it drops the guest's task at
/// the guest's next yield, which needs the epoch to keep ticking).
#[test]
fn dropping_everything_under_a_spinning_guest_ends_it() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let tokio = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let instances = tokio.block_on(async {
            let rt = runtime();
            let instances: Vec<_> = [programs::P1_SPIN, programs::P2_SPIN]
                .into_iter()
                .map(|program| {
                    rt.spawn(&load(&rt, program), CommandSpec::default())
                        .expect("spawn")
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert!(instances.iter().all(|i| !i.stop_handle().is_finished()));
            instances
        });
        drop(instances);
        drop(tokio);
        let _ = done.send(());
    });
    finished
        .recv_timeout(WAIT)
        .expect("the tokio runtime shut down with a spinning guest on it");
}
