//! A library with an exported function and no `main`: it builds to a module/component
//! that is neither a WASI command nor a `wasi:http` handler.

/// Adds two numbers.
#[unsafe(no_mangle)]
pub extern "C" fn add(a: i32, b: i32) -> i32 {
    a.wrapping_add(b)
}
