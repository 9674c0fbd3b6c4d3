//! Prints the contents of the file named by the first argument. With a second argument,
//! also writes that text to `<first argument>.out` and prints `wrote`. Exits 1 with the
//! error on stderr when a step fails.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: read_file PATH [TEXT]");
        std::process::exit(2);
    };
    match std::fs::read_to_string(path) {
        Ok(text) => print!("{text}"),
        Err(e) => {
            eprintln!("read {path}: {e}");
            std::process::exit(1);
        }
    }
    if let Some(text) = args.get(2) {
        let out = format!("{path}.out");
        match std::fs::write(&out, text) {
            Ok(()) => println!("wrote"),
            Err(e) => {
                eprintln!("write {out}: {e}");
                std::process::exit(1);
            }
        }
    }
}
