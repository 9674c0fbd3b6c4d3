//! `hello`: a WASI preview 1 command. Prints a greeting, then each argument and each
//! environment variable it was given, one per line, and exits 0.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let name = args.get(1).map(String::as_str).unwrap_or("world");
    println!("Hello, {name}!");
    for (i, arg) in args.iter().enumerate() {
        println!("arg[{i}]={arg}");
    }
    let mut vars: Vec<(String, String)> = std::env::vars().collect();
    vars.sort();
    for (key, value) in vars {
        println!("env {key}={value}");
    }
}
