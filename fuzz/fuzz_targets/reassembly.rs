#![no_main]
//! Fuzz target `reassembly`: see `wiretale_fuzz::reassembly` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::reassembly(data));
