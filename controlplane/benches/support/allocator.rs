//! The global allocator of the `skiff` binary, so that an in-process bench measures the
//! control plane as `skiff server` runs it.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
