#![no_main]
//! Fuzz target `dns`: see `wiretale_fuzz::dns` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::dns(data));
