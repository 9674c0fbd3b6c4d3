//! Writes numbered lines to stdout: as many as the first argument says, or forever.
use std::io::Write;
fn main() {
    let count: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(u64::MAX);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for i in 0..count {
        if writeln!(out, "line {i} of a flood of output that should stay bounded").is_err() {
            std::process::exit(3);
        }
    }
}
