//! Running commands: exit codes, traps, arguments and environment, deny-by-default.

use crate::{argv, run, runtime};
use skiff_runtime::{CommandSpec, Outcome, TrapKind};
use skiff_test_programs as programs;

fn with_args(args: &[&str]) -> CommandSpec {
    CommandSpec {
        args: argv(args),
        ..CommandSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p1_exit_codes_pass_through() {
    let rt = runtime();
    // WASI preview 1 exit statuses are 0..126; wasmtime treats others as a trap.
    for code in [0, 3, 42, 125] {
        let (outcome, lines) =
            run(&rt, programs::P1_EXIT_CODE, with_args(&[&code.to_string()])).await;
        assert_eq!(outcome, Outcome::Exited(code));
        assert_eq!(
            lines.first().map(String::as_str),
            Some(&*format!("exiting with {code}"))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p1_exit_status_out_of_range_is_a_trap() {
    let (outcome, _) = run(&runtime(), programs::P1_EXIT_CODE, with_args(&["200"])).await;
    let Outcome::Trapped(TrapKind::Other(message)) = outcome else {
        panic!("expected a trap, got {outcome:?}");
    };
    assert!(message.contains("invalid exit status"), "{message}");
    assert!(!message.contains("backtrace"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p2_command_exit_status() {
    let rt = runtime();
    let (outcome, _) = run(&rt, programs::P2_EXIT_CODE, with_args(&["0"])).await;
    assert_eq!(outcome, Outcome::Exited(0));
    // WASI 0.2's `exit` carries only success or failure: every failure is 1.
    let (outcome, _) = run(&rt, programs::P2_EXIT_CODE, with_args(&["7"])).await;
    assert_eq!(outcome, Outcome::Exited(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traps_are_reported_with_their_kind() {
    let rt = runtime();
    for program in [programs::P1_TRAP, programs::P2_TRAP] {
        let (outcome, lines) = run(&rt, program, CommandSpec::default()).await;
        assert_eq!(
            outcome,
            Outcome::Trapped(TrapKind::Unreachable),
            "{program}"
        );
        assert!(lines.contains(&"about to trap".to_string()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn args_and_env_reach_the_guest() {
    let rt = runtime();
    let spec = CommandSpec {
        args: argv(&["Skiff", "two words"]),
        env: vec![("GREETING".into(), "ahoy".into())],
        ..CommandSpec::default()
    };
    let (outcome, lines) = run(&rt, programs::HELLO, spec).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(lines[0], "Hello, Skiff!");
    assert!(lines.contains(&"arg[2]=two words".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"env GREETING=ahoy".to_string()),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_environment_unless_granted() {
    // The host process has PATH, HOME...; the guest must see none of it.
    let (outcome, lines) = run(&runtime(), programs::HELLO, CommandSpec::default()).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert!(!lines.iter().any(|l| l.starts_with("env ")), "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdin_is_empty_by_default_and_can_be_given() {
    let rt = runtime();
    let (outcome, lines) = run(&rt, programs::P1_CAT, CommandSpec::default()).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(lines, vec!["stdin: 0 bytes".to_string()]);

    let spec = CommandSpec {
        stdin: Some(bytes::Bytes::from_static(b"fed in\n")),
        ..CommandSpec::default()
    };
    let (outcome, lines) = run(&rt, programs::P2_CAT, spec).await;
    assert_eq!(outcome, Outcome::Exited(0));
    assert_eq!(
        lines,
        vec!["fed in".to_string(), "stdin: 7 bytes".to_string()]
    );
}
