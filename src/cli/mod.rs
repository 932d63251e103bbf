//! The batch command-line face (to be built).

/// Entry point used by `main.rs`; returns the process exit status.
pub fn main() -> i32 {
    0
}
