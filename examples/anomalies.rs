//! Prints docs/anomalies.md from the anomaly registry (`crates/engine/src/base/anomalies.rs`):
//! `cargo run --example anomalies > docs/anomalies.md`. A unit test checks the file.
fn main() {
    print!("{}", wiretale::base::AnomalyKind::markdown());
}
