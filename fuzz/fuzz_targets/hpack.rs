#![no_main]
//! Fuzz target `hpack`: see `hpack` in `src/h2.rs` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

#[path = "../src/h2.rs"]
mod h2;

fuzz_target!(|data: &[u8]| h2::hpack(data));
