//! `skiff run`: exit statuses, the one-line causes on stderr, directories, signals,
//! serving HTTP, and the precompiled cache across processes.

use crate::{WAIT, eventually, output, signal, skiff};
use skiff_test_programs as programs;
use std::io::{Read, Write};
use std::process::Stdio;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn hello_prints_args_and_env_and_exits_zero() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = output(skiff(cache.path()).args([
        "run",
        programs::HELLO,
        "--env",
        "COLOR=teal",
        "--",
        "Skiff",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("Hello, Skiff!\n"), "{stdout}");
    assert!(stdout.contains("env COLOR=teal\n"), "{stdout}");
    assert!(
        !stdout.contains("env PATH="),
        "host environment leaked: {stdout}"
    );
}

#[test]
fn guest_exit_code_is_the_process_exit_code() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = output(skiff(cache.path()).args(["run", programs::P1_EXIT_CODE, "--", "42"]));
    assert_eq!(out.status.code(), Some(42));
    assert_eq!(text(&out.stdout), "exiting with 42\n");
    assert_eq!(text(&out.stderr), "to stderr\n");
}

#[test]
fn trap_prints_its_cause_and_exits_134() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = output(skiff(cache.path()).args(["run", programs::P1_TRAP]));
    assert_eq!(out.status.code(), Some(134));
    assert_eq!(
        text(&out.stderr),
        "skiff: guest trapped: unreachable instruction executed\n"
    );
}

#[test]
fn memory_limit_prints_its_cause_and_exits_137() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out =
        output(skiff(cache.path()).args(["run", "--memory", "16Mi", programs::P1_MEMORY_BOMB]));
    assert_eq!(out.status.code(), Some(137));
    let stderr = text(&out.stderr);
    assert_eq!(
        stderr.lines().last(),
        Some("skiff: memory limit of 16Mi exceeded"),
        "{stderr}"
    );
}

#[test]
fn timeout_prints_its_cause_and_exits_124() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = output(skiff(cache.path()).args(["run", "--timeout", "300ms", programs::P1_SPIN]));
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(text(&out.stderr), "skiff: deadline of 300ms exceeded\n");
}

#[test]
fn bad_input_is_one_line_and_exit_125() {
    let cache = tempfile::tempdir().expect("tempdir");
    let dir = tempfile::tempdir().expect("tempdir");
    let not_wasm = dir.path().join("script.wasm");
    std::fs::write(&not_wasm, "#!/bin/sh\n").expect("write");
    let truncated = dir.path().join("truncated.wasm");
    let hello = programs::read(programs::HELLO);
    std::fs::write(&truncated, &hello[..hello.len() / 3]).expect("write");

    let cases: [(&str, &str); 5] = [
        (
            programs::P1_UNKNOWN_IMPORT,
            "unknown import: `skiff_test::mystery`",
        ),
        (programs::P2_REACTOR, "unsupported component world"),
        (not_wasm.to_str().expect("utf8"), "not a WebAssembly binary"),
        (truncated.to_str().expect("utf8"), "unexpected end-of-file"),
        ("/no/such/file.wasm", "cannot read /no/such/file.wasm"),
    ];
    for (file, expected) in cases {
        let out = output(skiff(cache.path()).args(["run", file]));
        assert_eq!(out.status.code(), Some(125), "{file}");
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("skiff: ") && stderr.contains(expected),
            "{stderr}"
        );
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let cache = tempfile::tempdir().expect("tempdir");
    let out = output(skiff(cache.path()).args(["run", "--memory", "12Q", programs::HELLO]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("invalid quantity \"12Q\""),
        "{}",
        text(&out.stderr)
    );
    let out = output(skiff(cache.path()).args(["run", "--timeout", "soon", programs::HELLO]));
    assert_eq!(out.status.code(), Some(2));
    let out = output(skiff(cache.path()).args(["run", "--listen", "127.0.0.1:0", programs::HELLO]));
    assert_eq!(out.status.code(), Some(125));
    assert!(
        text(&out.stderr).contains("drop --listen"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn directories_are_granted_read_write_or_read_only() {
    let cache = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("note.txt"), "from the host\n").expect("write");
    let host = data.path().to_str().expect("utf8");

    let rw = format!("{host}::/data");
    let out = output(skiff(cache.path()).args([
        "run",
        "--dir",
        &rw,
        programs::P1_READ_FILE,
        "--",
        "/data/note.txt",
        "hi",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "from the host\nwrote\n");
    assert_eq!(
        std::fs::read_to_string(data.path().join("note.txt.out")).expect("out"),
        "hi"
    );

    std::fs::remove_file(data.path().join("note.txt.out")).expect("rm");
    let out = output(skiff(cache.path()).args([
        "run",
        "--dir-ro",
        &rw,
        programs::P1_READ_FILE,
        "--",
        "/data/note.txt",
        "hi",
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("write /data/note.txt.out"),
        "{}",
        text(&out.stderr)
    );
    assert!(!data.path().join("note.txt.out").exists());
}

#[test]
fn sigint_stops_a_running_guest() {
    let cache = tempfile::tempdir().expect("tempdir");
    let mut child = skiff(cache.path())
        .args(["run", programs::P1_SPIN])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 9];
    stdout.read_exact(&mut first).expect("the guest starts");
    assert_eq!(&first, b"spinning\n");
    signal(child.id(), "INT");
    let status = eventually("skiff to exit", || child.try_wait().expect("wait"));
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read");
    assert_eq!(stderr, "skiff: stopped by SIGINT\n");
}

#[test]
fn listen_serves_http_until_sigterm() {
    let cache = tempfile::tempdir().expect("tempdir");
    // Find a free port, then hand it to skiff.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = skiff(cache.path())
        .args(["run", "--listen", &addr, programs::HTTP_HELLO])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let response = eventually("skiff to answer", || {
        let mut stream = std::net::TcpStream::connect(&addr).ok()?;
        stream.set_read_timeout(Some(WAIT)).ok()?;
        stream
            .write_all(b"GET /ahoy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        Some(response)
    });
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("Hello from Skiff! You asked for GET /ahoy\n"),
        "{response}"
    );
    signal(child.id(), "TERM");
    let status = eventually("skiff to exit", || child.try_wait().expect("wait"));
    assert_eq!(status.code(), Some(0));
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still listening"
    );
}

#[test]
fn second_run_reuses_the_precompiled_module() {
    let cache = tempfile::tempdir().expect("tempdir");
    let run = || {
        output(
            skiff(cache.path())
                .env("SKIFF_LOG", "skiff_runtime=debug")
                .args(["run", programs::HELLO]),
        )
    };
    let first = run();
    assert_eq!(first.status.code(), Some(0));
    assert!(
        text(&first.stderr).contains("source=Compiled"),
        "{}",
        text(&first.stderr)
    );
    let second = run();
    assert_eq!(second.status.code(), Some(0));
    assert!(
        text(&second.stderr).contains("source=DiskCache"),
        "{}",
        text(&second.stderr)
    );
}
