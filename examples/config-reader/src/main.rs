//! `config-reader`: shows what configuration a pod receives, the guest of the ConfigMap and
//! Secret example (`examples/config-pod.yaml`).
//!
//! A WASI preview 1 command. It prints its environment variables (sorted by name), then
//! every file under `/etc/config` (path and contents) and under `/etc/secret` (path and
//! size only), and exits 0:
//!
//! ```text
//! env API_TOKEN=<redacted: 6 bytes>
//! env greeting=ahoy
//! /etc/config/greeting: ahoy
//! /etc/config/settings.toml:
//!   title = "Skiff example"
//! /etc/secret/token: 6 bytes (value not shown)
//! ```
//!
//! - Secrets are never printed: a secret file shows only its name and length, and so does an
//!   environment variable whose name contains `TOKEN`, `SECRET`, `PASSWORD`, `PASSWD` or
//!   `KEY` (a guest cannot tell which variables came from a Secret, so it goes by name).
//! - Newlines in variable values are shown as `\n`, so each variable stays on one line.
//! - A directory that is not mounted (not preopened) is reported and skipped. Entries whose
//!   names start with `..` are skipped: Kubernetes' own kubelet keeps its atomic-update
//!   bookkeeping (`..data`, `..2024_...`) there.
//! - `--watch DURATION` (`500ms`, `5s`, `1m`) repeats all of it at that interval, forever,
//!   with a `--- pass N ---` line before each pass, so a ConfigMap update appears in
//!   `kubectl logs -f config-reader`. Bad arguments print a usage line and exit 2.

use std::env;
use std::fs;
use std::io;
use std::path::Path;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// Where the manifest mounts the ConfigMap volume; files here are printed in full.
const CONFIG_DIR: &str = "/etc/config";

/// Where the manifest mounts the Secret volume; files here are printed by size only.
const SECRET_DIR: &str = "/etc/secret";

/// Parts of variable names that mark a value as secret (compared in upper case).
const SECRET_NAME_PARTS: [&str; 5] = ["TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY"];

const USAGE: &str = "usage: config-reader [--watch DURATION]   (DURATION: 500ms, 5s, 1m)";

fn main() -> ExitCode {
    let watch = match parse_args(env::args().skip(1)) {
        Ok(watch) => watch,
        Err(message) => {
            eprintln!("config-reader: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(interval) = watch else {
        print_all();
        return ExitCode::SUCCESS;
    };
    let mut pass: u64 = 0;
    loop {
        pass += 1;
        println!("--- pass {pass} ---");
        print_all();
        thread::sleep(interval);
    }
}

/// Prints the environment, the config files and the secret files' sizes.
fn print_all() {
    let mut vars: Vec<(String, String)> = env::vars().collect();
    vars.sort();
    for (name, value) in vars {
        if looks_secret(&name) {
            println!("env {name}=<redacted: {} bytes>", value.len());
        } else {
            println!("env {name}={}", value.replace('\n', "\\n"));
        }
    }
    print_dir(Path::new(CONFIG_DIR), &|path, bytes| {
        let text = String::from_utf8_lossy(bytes);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        if text.contains('\n') {
            println!("{}:", path.display());
            for line in text.lines() {
                println!("  {line}");
            }
        } else {
            println!("{}: {text}", path.display());
        }
    });
    print_dir(Path::new(SECRET_DIR), &|path, bytes| {
        println!(
            "{}: {} bytes (value not shown)",
            path.display(),
            bytes.len()
        );
    });
}

/// Calls `show` with every file under `dir`, in name order, descending into directories.
/// Errors are printed in place of what could not be read.
fn print_dir(dir: &Path, show: &dyn Fn(&Path, &[u8])) {
    let mut names = match fs::read_dir(dir).and_then(|entries| {
        entries
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()
    }) {
        Ok(names) => names,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!("{}: not mounted", dir.display());
            return;
        }
        Err(e) => {
            println!("{}: cannot list: {e}", dir.display());
            return;
        }
    };
    names.sort();
    for name in names {
        if name.to_string_lossy().starts_with("..") {
            continue;
        }
        let path = dir.join(name);
        // `metadata` follows symbolic links, as Kubernetes' key files are links into `..data`.
        match fs::metadata(&path) {
            Ok(meta) if meta.is_dir() => print_dir(&path, show),
            Ok(_) => match fs::read(&path) {
                Ok(bytes) => show(&path, &bytes),
                Err(e) => println!("{}: cannot read: {e}", path.display()),
            },
            Err(e) => println!("{}: cannot stat: {e}", path.display()),
        }
    }
}

/// Whether a variable's name suggests its value is a secret.
fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
}

/// Reads `--watch DURATION` or `--watch=DURATION`; anything else is an error.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Duration>, String> {
    let mut watch = None;
    while let Some(arg) = args.next() {
        let value = match arg.strip_prefix("--watch") {
            Some("") => args.next().ok_or("--watch needs a value")?,
            Some(rest) if rest.starts_with('=') => rest[1..].to_owned(),
            _ => return Err(format!("unexpected argument {arg:?}")),
        };
        let interval = parse_duration(&value)?;
        if interval.is_zero() {
            return Err("--watch must be more than zero".to_owned());
        }
        watch = Some(interval);
    }
    Ok(watch)
}

/// Parses a whole number with a unit: `ms`, `s` or `m`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let invalid = || format!("invalid duration {text:?} (expected e.g. 500ms, 5s, 1m)");
    let number: u64 = number.parse().map_err(|_| invalid())?;
    match unit {
        "ms" => Ok(Duration::from_millis(number)),
        "s" => Ok(Duration::from_secs(number)),
        "m" => Ok(Duration::from_secs(number.saturating_mul(60))),
        _ => Err(invalid()),
    }
}
