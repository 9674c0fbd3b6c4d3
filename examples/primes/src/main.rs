//! `primes`: a batch job, the guest of the Job example (`examples/job.yaml`).
//!
//! A WASI preview 1 command. It counts the primes below N (the first argument, default
//! 200000) with a sieve of Eratosthenes, prints the count and the time it took, and exits 0:
//!
//! ```text
//! primes below 100000: 9592 (3.1ms)
//! ```
//!
//! `--fail-rate P` (a number from 0 to 1) makes it exit 1 with probability P after printing,
//! to show a Job retrying failed pods up to its `backoffLimit`. The random draw is seeded
//! from the wall clock (nanoseconds), so each run, and each retry of a pod, draws afresh:
//! with `--fail-rate 0.3`, about three pods in ten fail and the Job replaces them. It is not
//! reproducible, and not meant to be.
//!
//! The sieve uses one byte per number below N, so N is bounded by the pod's memory limit.
//! Bad arguments print a usage line and exit 2.

use std::env;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// N without an argument: a few milliseconds of work, enough to show in the elapsed time.
const DEFAULT_LIMIT: usize = 200_000;

const USAGE: &str = "usage: primes [N] [--fail-rate P]   (N: count primes below it; P: 0..1)";

/// What the command line asks for.
struct Config {
    /// Count the primes below this.
    limit: usize,
    /// Probability of exiting 1 on purpose.
    fail_rate: f64,
}

fn main() -> ExitCode {
    let config = match parse_args(env::args().skip(1)) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("primes: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let start = Instant::now();
    let count = count_primes(config.limit);
    let elapsed = start.elapsed();
    println!("primes below {}: {count} ({elapsed:.1?})", config.limit);

    if config.fail_rate > 0.0 {
        let draw = clock_random();
        if draw < config.fail_rate {
            eprintln!(
                "primes: failing on purpose (--fail-rate {}, drew {draw:.3})",
                config.fail_rate
            );
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// Reads an optional N and `--fail-rate P` (or `--fail-rate=P`), in any order.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut config = Config {
        limit: DEFAULT_LIMIT,
        fail_rate: 0.0,
    };
    let mut limit_seen = false;
    while let Some(arg) = args.next() {
        if let Some(rest) = arg.strip_prefix("--fail-rate") {
            let value = match rest {
                "" => args.next().ok_or("--fail-rate needs a value")?,
                _ if rest.starts_with('=') => rest[1..].to_owned(),
                _ => return Err(format!("unexpected argument {arg:?}")),
            };
            config.fail_rate = value
                .parse()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| {
                    format!("--fail-rate must be a number from 0 to 1, not {value:?}")
                })?;
        } else if !limit_seen && !arg.starts_with('-') {
            config.limit = arg
                .replace('_', "")
                .parse()
                .map_err(|_| format!("N must be a whole number, not {arg:?}"))?;
            limit_seen = true;
        } else {
            return Err(format!("unexpected argument {arg:?}"));
        }
    }
    Ok(config)
}

/// The number of primes `p < limit`, by a sieve of Eratosthenes.
fn count_primes(limit: usize) -> usize {
    if limit <= 2 {
        return 0;
    }
    let mut composite = vec![false; limit];
    let mut count = 0;
    for n in 2..limit {
        if composite[n] {
            continue;
        }
        count += 1;
        // Smaller multiples of n were crossed out by smaller primes.
        let mut multiple = n.saturating_mul(n);
        while multiple < limit {
            composite[multiple] = true;
            multiple += n;
        }
    }
    count
}

/// A number in `[0, 1)` derived from the wall clock's nanoseconds (mixed with splitmix64 so
/// that nearby instants give unrelated draws).
fn clock_random() -> f64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // The top 53 bits fill an f64's mantissa exactly.
    (z >> 11) as f64 / (1u64 << 53) as f64
}
