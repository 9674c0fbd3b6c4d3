//! Both memory layouts of the pool keep guests in their memory: an access past the end
//! traps (a guard-region fault, or an explicit bounds check), and the memory limit holds.

use crate::{run, shared_cache};
use skiff_runtime::{CommandSpec, Limits, MemoryLayout, Outcome, Runtime, RuntimeConfig, TrapKind};
use skiff_test_programs as programs;

fn runtime(layout: MemoryLayout) -> Runtime {
    let rt = Runtime::new(RuntimeConfig {
        max_instances: 16,
        memory_layout: Some(layout),
        cache_dir: Some(shared_cache()),
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    assert_eq!(rt.memory_layout(), layout);
    rt
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_past_the_end_of_memory_traps_in_either_layout() {
    for layout in [MemoryLayout::Guarded, MemoryLayout::Compact] {
        let rt = runtime(layout);
        for program in [programs::P1_OUT_OF_BOUNDS, programs::P2_OUT_OF_BOUNDS] {
            let (outcome, lines) = run(&rt, program, CommandSpec::default()).await;
            assert_eq!(
                outcome,
                Outcome::Trapped(TrapKind::MemoryOutOfBounds),
                "{layout:?} {program}: {lines:?}"
            );
            assert_eq!(
                lines,
                ["reading past the end of memory"],
                "{layout:?} {program}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_holds_in_either_layout() {
    for layout in [MemoryLayout::Guarded, MemoryLayout::Compact] {
        let rt = runtime(layout);
        for program in [programs::P1_MEMORY_BOMB, programs::P2_MEMORY_BOMB] {
            let limit = 16 << 20;
            let spec = CommandSpec {
                limits: Limits {
                    memory: Some(limit),
                    ..Limits::default()
                },
                ..CommandSpec::default()
            };
            let (outcome, lines) = run(&rt, program, spec).await;
            assert_eq!(
                outcome,
                Outcome::MemoryLimitExceeded { limit },
                "{layout:?} {program}"
            );
            assert!(lines.iter().any(|l| l == "holding 8 MiB"), "{lines:?}");
        }
    }
}
