#![no_main]
//! Fuzz target `display_filter`: see `wiretale_fuzz::display_filter` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::display_filter(data));
