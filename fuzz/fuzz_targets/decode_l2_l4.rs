#![no_main]
//! Fuzz target `decode_l2_l4`: see `wiretale_fuzz::decode_l2_l4` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::decode_l2_l4(data));
