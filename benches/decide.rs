//! Placeholder replaced by the benchmark work; see issue "Measure it".
fn main() {}
