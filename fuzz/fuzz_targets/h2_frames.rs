#![no_main]
//! Fuzz target `h2_frames`: see `h2_frames` in `src/h2.rs` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

#[path = "../src/h2.rs"]
mod h2;

fuzz_target!(|data: &[u8]| h2::h2_frames(data));
