//! Sleeps in the host (a blocking WASI call) for the number of milliseconds given as the
//! first argument (default: an hour), then prints `woke` and exits 0.
fn main() {
    let ms: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3_600_000);
    println!("sleeping {ms}ms");
    std::thread::sleep(std::time::Duration::from_millis(ms));
    println!("woke");
}
