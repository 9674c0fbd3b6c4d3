//! Prints what the guest was given: for each argument, `NAME=value` of that environment
//! variable, or, for an argument containing `/`, `PATH=contents` of that file (`PATH!error`
//! when it cannot be read). An argument `PATH=TEXT` (a path, then `=`) writes TEXT to
//! that file instead and prints `wrote PATH`. With no arguments, prints the whole
//! environment, sorted.
//!
//! `--every MS` (first) repeats forever, printing `round N` before each round and sleeping
//! MS milliseconds between rounds: a long-running guest whose output changes over time.
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let every = if args.first().map(String::as_str) == Some("--every") {
        let ms = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
        args.drain(..2.min(args.len()));
        Some(std::time::Duration::from_millis(ms))
    } else {
        None
    };
    let mut round = 0u64;
    loop {
        if every.is_some() {
            println!("round {round}");
        }
        show(&args);
        let Some(every) = every else { return };
        round += 1;
        std::thread::sleep(every);
    }
}

fn show(args: &[String]) {
    if args.is_empty() {
        let mut vars: Vec<(String, String)> = std::env::vars().collect();
        vars.sort();
        for (name, value) in vars {
            println!("{name}={value}");
        }
        return;
    }
    for arg in args {
        if let Some((path, text)) = arg.split_once('=').filter(|(p, _)| p.contains('/')) {
            match std::fs::write(path, text) {
                Ok(()) => println!("wrote {path}"),
                Err(e) => println!("{path}!{e}"),
            }
        } else if arg.contains('/') {
            match std::fs::read_to_string(arg) {
                Ok(text) => println!("{arg}={}", text.trim_end()),
                Err(e) => println!("{arg}!{e}"),
            }
        } else {
            println!("{arg}={}", std::env::var(arg).unwrap_or_default());
        }
    }
}
