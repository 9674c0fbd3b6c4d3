//! Does nothing and exits 0: the smallest real command, for instantiation benchmarks.
fn main() {}
