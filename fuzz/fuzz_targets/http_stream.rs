#![no_main]
//! Fuzz target `http_stream`: see `wiretale_fuzz::http_stream` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::http_stream(data));
