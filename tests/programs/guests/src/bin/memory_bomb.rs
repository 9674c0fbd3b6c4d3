//! Allocates memory in 1 MiB steps, touching every page, until the host refuses to grow
//! linear memory; prints how much it got before each step.
fn main() {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mb = hoard.len();
        if mb % 8 == 0 {
            println!("holding {mb} MiB");
        }
        hoard.push(vec![0xA5; 1 << 20]);
    }
}
