//! A pool larger than the address space: a clear error naming the largest that fits,
//! which can then be made — with compact memories where guarded ones do not fit. Its own test binary (its own process): finding the bound
//! reserves nearly all of the address space for a moment, which would fail engines other
//! tests create at the same time.

use skiff_runtime::{Error, MemoryLayout, Runtime, RuntimeConfig};

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
    let fits = Runtime::new(config(max)).expect("the bound it names fits");
    // That many only fit with compact memories; the guarded layout's own bound is lower.
    assert_eq!(fits.memory_layout(), MemoryLayout::Compact);
    drop(fits);
    let guarded = Runtime::new(RuntimeConfig {
        memory_layout: Some(MemoryLayout::Guarded),
        ..config(requested)
    })
    .err()
    .expect("a million guarded slots do not fit");
    let Error::TooManyInstances {
        max: guarded_max, ..
    } = guarded
    else {
        panic!("not the pool's bound: {guarded}");
    };
    // A compact slot reserves the 1 GiB limit instead of 4 GiB plus guards (its pool's
    // bound may then be the kernel's count of mappings, vm.max_map_count, rather than the
    // address space: at 65,530, some 32,700 pools' stacks with their guard pages).
    assert!(
        guarded_max * 2 < max,
        "guarded {guarded_max}, compact {max}"
    );
    eprintln!("largest pools: guarded {guarded_max}, compact {max}");
    let small = Runtime::new(config(guarded_max)).expect("the guarded bound fits");
    assert_eq!(small.memory_layout(), MemoryLayout::Guarded);
}

fn error_text(requested: u32, max: u32) -> String {
    Error::TooManyInstances { requested, max }.to_string()
}
