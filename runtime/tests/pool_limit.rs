//! A pool larger than the address space: a clear error naming the largest that fits,
//! which can then be made. Its own test binary (its own process): finding the bound
//! reserves nearly all of the address space for a moment, which would fail engines other
//! tests create at the same time.

use skiff_runtime::{Error, Runtime, RuntimeConfig};

#[test]
fn a_pool_beyond_the_address_space_names_the_largest_that_fits() {
    // A gibibyte of linear memory per instance: a million slots cannot be reserved on any
    // 64-bit machine (47 bits of user address space).
    let requested = 1_000_000;
    let config = |max_instances| RuntimeConfig {
        max_instances,
        cache_dir: None,
        ..RuntimeConfig::default()
    };
    let error = Runtime::new(config(requested))
        .err()
        .expect("a million gibibyte slots do not fit");
    let Error::TooManyInstances {
        requested: asked,
        max,
    } = error
    else {
        panic!("not the pool's bound: {error}");
    };
    assert_eq!(asked, requested);
    assert!(max > 0 && max < requested, "{max}");
    assert!(
        error_text(asked, max).contains(&format!("at most {max}")),
        "the message names the bound"
    );
    Runtime::new(config(max)).expect("the bound it names fits");
}

fn error_text(requested: u32, max: u32) -> String {
    Error::TooManyInstances { requested, max }.to_string()
}
