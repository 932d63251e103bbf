#![no_main]
//! Fuzz target `pipeline`: see `wiretale_fuzz::pipeline` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::pipeline(data));
