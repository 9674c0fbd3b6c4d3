//! Copies stdin to stdout, then prints `stdin: <n> bytes`.
use std::io::Read;
fn main() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("read stdin: {e}");
        std::process::exit(1);
    }
    print!("{}", String::from_utf8_lossy(&input));
    println!("stdin: {} bytes", input.len());
}
