//! Allocates and touches the number of MiB given as the first argument (default 4), prints
//! `holding <n> MiB`, then sleeps in the host for the milliseconds given as the second
//! argument (default: an hour) and exits 0.
fn main() {
    let mut args = std::env::args().skip(1);
    let mib: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3_600_000);
    let hoard: Vec<Vec<u8>> = (0..mib).map(|_| vec![0xA5; 1 << 20]).collect();
    println!("holding {mib} MiB");
    std::thread::sleep(std::time::Duration::from_millis(ms));
    std::hint::black_box(&hoard);
}
