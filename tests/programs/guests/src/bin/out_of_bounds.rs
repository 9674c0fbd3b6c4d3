//! Reads the byte just past the end of its linear memory: an out-of-bounds trap, however
//! the host lays memory out (guard regions or explicit bounds checks).
fn main() {
    println!("reading past the end of memory");
    #[cfg(target_arch = "wasm32")]
    {
        let end = core::arch::wasm32::memory_size(0) * 65536;
        // SAFETY: none, deliberately: the load must trap, which is what is being tested.
        let byte = unsafe { core::ptr::read_volatile(end as *const u8) };
        println!("read {byte}");
    }
}
