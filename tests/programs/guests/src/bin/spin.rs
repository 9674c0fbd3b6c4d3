//! Spins forever in pure wasm code, never calling the host.
fn main() {
    println!("spinning");
    let mut x: u64 = 0;
    loop {
        x = std::hint::black_box(x.wrapping_add(1));
    }
}
