//! Limits: memory cap, wall-clock deadline, and infinite loops that never starve others.

use crate::{WAIT, argv, load, run, runtime};
use skiff_runtime::{CommandSpec, Error, Limits, Outcome};
use skiff_test_programs as programs;
use std::time::Duration;

fn limited(limits: Limits) -> CommandSpec {
    CommandSpec {
        limits,
        ..CommandSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_hits_its_limit() {
    let rt = runtime();
    for program in [programs::P1_MEMORY_BOMB, programs::P2_MEMORY_BOMB] {
        let limit = 16 << 20;
        let spec = limited(Limits {
            memory: Some(limit),
            ..Limits::default()
        });
        let (outcome, lines) = run(&rt, program, spec).await;
        assert_eq!(outcome, Outcome::MemoryLimitExceeded { limit }, "{program}");
        // It got some memory before the wall: the limit, not an early failure, stopped it.
        assert!(lines.iter().any(|l| l == "holding 8 MiB"), "{lines:?}");
        assert!(!lines.iter().any(|l| l == "holding 16 MiB"), "{lines:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_limit_above_the_pool_is_refused() {
    let rt = runtime();
    let module = load(&rt, programs::P1_NOOP);
    let too_big = rt.config().max_memory_per_instance + 1;
    let err = rt
        .spawn(
            &module,
            limited(Limits {
                memory: Some(too_big),
                ..Limits::default()
            }),
        )
        .err()
        .expect("refused");
    assert!(matches!(err, Error::MemoryLimitTooLarge { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_ends_a_spinning_guest() {
    let deadline = Duration::from_millis(200);
    let rt = runtime();
    for program in [programs::P1_SPIN, programs::P2_SPIN] {
        let spec = limited(Limits {
            deadline: Some(deadline),
            ..Limits::default()
        });
        let (outcome, _) = run(&rt, program, spec).await;
        assert_eq!(outcome, Outcome::DeadlineExceeded { deadline }, "{program}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_ends_a_guest_blocked_in_the_host() {
    let deadline = Duration::from_millis(200);
    let spec = CommandSpec {
        args: argv(&["600000"]),
        limits: Limits {
            deadline: Some(deadline),
            ..Limits::default()
        },
        ..CommandSpec::default()
    };
    let (outcome, _) = run(&runtime(), programs::P1_SLEEP, spec).await;
    assert_eq!(outcome, Outcome::DeadlineExceeded { deadline });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guests_do_not_block_others() {
    let rt = runtime();
    let spin = load(&rt, programs::P1_SPIN);
    // Four times as many spinners as worker threads.
    let spinners: Vec<_> = (0..8)
        .map(|_| {
            rt.spawn(&spin, CommandSpec::default())
                .expect("spawn spinner")
        })
        .collect();
    let (outcome, lines) = run(&rt, programs::HELLO, CommandSpec::default()).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(lines[0], "Hello, world!");
    for spinner in spinners {
        assert!(!spinner.stop_handle().is_finished(), "spinners still spin");
        spinner.stop_handle().force();
        let outcome = tokio::time::timeout(WAIT, spinner.wait())
            .await
            .expect("stops");
        assert_eq!(outcome, Outcome::Stopped);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_limited_guest_still_runs_to_its_end() {
    // A CPU bound slows a guest down; it must not change what it computes.
    let spec = CommandSpec {
        args: argv(&["2000"]),
        limits: Limits {
            cpu_millis: Some(100),
            ..Limits::default()
        },
        ..CommandSpec::default()
    };
    let (outcome, lines) = run(&runtime(), programs::P1_FLOOD, spec).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(lines.len(), 2000);
}
