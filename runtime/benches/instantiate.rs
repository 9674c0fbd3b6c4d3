//! Instantiation benchmarks, printing figures (run with `cargo bench -p skiff-runtime`):
//!
//! 1. instantiate a trivial WASI preview 1 command from its template and run it to
//!    completion; 2. the same for a preview 2 command component; 3. how long a forced
//!    stop of a spinning instance takes to end it; 4. how much CPU a `--cpu 250m`
//!    spinning instance gets.
//!
//! Each figure is over many iterations after a warm-up; percentiles are of single runs.

use skiff_runtime::{CommandSpec, Limits, Module, Runtime, RuntimeConfig};
use skiff_test_programs as programs;
use std::time::{Duration, Instant};

const WARMUP: usize = 2_000;
const ITERATIONS: usize = 20_000;
const STOPS: usize = 200;

fn main() {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    println!("machine: {}", machine());

    for (name, path) in [
        ("p1 command (noop, wasm32-wasip1)", programs::P1_NOOP),
        ("p2 command (noop, wasm32-wasip2)", programs::P2_NOOP),
    ] {
        let module = runtime.load_file(path).expect("load");
        for (flavour, rt) in [("multi-thread", &tokio), ("current-thread", &current)] {
            // Driven from a task on the runtime, as the node agent drives instances.
            let samples = rt
                .block_on(rt.spawn(instantiate_and_run(runtime.clone(), module.clone())))
                .expect("benchmark task");
            report(&format!("instantiate+run {name}, {flavour} tokio"), samples);
        }
    }

    let spin = runtime.load_file(programs::P1_SPIN).expect("load spin");
    let samples = tokio.block_on(forced_stop(&runtime, &spin));
    report("forced stop of a spinning instance -> ended", samples);

    let share = tokio.block_on(cpu_share(&runtime, &spin, 250));
    println!(
        "cpu limit 250m: spinning instance used {:.0}m of CPU",
        share * 1000.0
    );
}

async fn instantiate_and_run(runtime: Runtime, module: Module) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(ITERATIONS);
    for i in 0..WARMUP + ITERATIONS {
        let start = Instant::now();
        let instance = runtime
            .spawn(&module, CommandSpec::default())
            .expect("spawn");
        let outcome = instance.wait().await;
        let elapsed = start.elapsed();
        assert!(outcome.is_success(), "{outcome:?}");
        if i >= WARMUP {
            samples.push(elapsed);
        }
    }
    samples
}

async fn forced_stop(runtime: &Runtime, spin: &Module) -> Vec<Duration> {
    let mut samples = Vec::with_capacity(STOPS);
    for _ in 0..STOPS {
        let instance = runtime.spawn(spin, CommandSpec::default()).expect("spawn");
        let stop = instance.stop_handle();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let start = Instant::now();
        stop.force();
        instance.wait().await;
        samples.push(start.elapsed());
    }
    samples
}

/// Runs a spinning instance under a CPU limit for two seconds and returns the share of
/// one core it consumed (process CPU time over wall time).
async fn cpu_share(runtime: &Runtime, spin: &Module, millis: u32) -> f64 {
    let wall = Duration::from_secs(2);
    let spec = CommandSpec {
        limits: Limits {
            cpu_millis: Some(millis),
            deadline: Some(wall),
            ..Limits::default()
        },
        ..CommandSpec::default()
    };
    let before = process_cpu();
    let start = Instant::now();
    runtime.spawn(spin, spec).expect("spawn").wait().await;
    let used = process_cpu() - before;
    used.as_secs_f64() / start.elapsed().as_secs_f64()
}

/// User + system CPU time of this process, from `/proc/self/stat` (clock ticks of 10 ms).
fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    Duration::from_millis(ticks * 10)
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name}: n={} median={:.1?} p90={:.1?} p99={:.1?} max={:.1?} mean={:.1?}",
        samples.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        samples[samples.len() - 1],
        mean
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown cpu".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}
