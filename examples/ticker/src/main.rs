//! `ticker`: a long-running worker, the guest of the quick-start Deployment
//! (`examples/deployment.yaml`).
//!
//! A WASI preview 1 command. It prints one startup line naming itself and its version, then
//! a numbered line every interval, forever:
//!
//! ```text
//! ticker-7d9f8-x2kq4 v1 starting: a tick every 2s
//! ticker-7d9f8-x2kq4 v1 tick 1
//! ticker-7d9f8-x2kq4 v1 tick 2
//! ```
//!
//! - The name is the `POD_NAME` environment variable (the manifest sets it from the pod's
//!   `metadata.name` with the downward API), or `ticker` without it.
//! - The version is the `VERSION` environment variable, default `v1`; change it with
//!   `kubectl set env deploy/ticker VERSION=v2` to watch a rolling update replace the pods.
//! - `--interval DURATION` (`500ms`, `2s`, `1m`; default `2s`) sets the time between ticks.
//!
//! It waits with `std::thread::sleep`, which WASI implements with a clock subscription, so
//! an idle ticker costs no CPU. Bad arguments print a usage line and exit 2.

use std::env;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// Time between ticks without `--interval`: frequent enough to see pods working in
/// `kubectl logs -f`, sparse enough to keep their logs short.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);

/// Version reported without a `VERSION` variable; the manifest sets the same value.
const DEFAULT_VERSION: &str = "v1";

const USAGE: &str = "usage: ticker [--interval DURATION]   (DURATION: 500ms, 2s, 1m)";

fn main() -> ExitCode {
    let interval = match parse_args(env::args().skip(1)) {
        Ok(interval) => interval,
        Err(message) => {
            eprintln!("ticker: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let name = env::var("POD_NAME").unwrap_or_else(|_| "ticker".to_owned());
    let version = env::var("VERSION").unwrap_or_else(|_| DEFAULT_VERSION.to_owned());

    println!("{name} {version} starting: a tick every {interval:?}");
    let mut count: u64 = 0;
    loop {
        thread::sleep(interval);
        count += 1;
        println!("{name} {version} tick {count}");
    }
}

/// Reads `--interval DURATION` or `--interval=DURATION`; anything else is an error.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Duration, String> {
    let mut interval = DEFAULT_INTERVAL;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--interval") {
            Some("") => args.next().ok_or("--interval needs a value")?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        interval = parse_duration(&value)?;
        if interval.is_zero() {
            return Err("--interval must be more than zero".to_owned());
        }
    }
    Ok(interval)
}

/// Parses a whole number with a unit: `ms`, `s` or `m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid = || format!("invalid duration {text:?} (expected e.g. 500ms, 2s, 1m)");
    let number: u64 = number.parse().map_err(|_| invalid())?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        _ => Err(invalid()),
    }
}
