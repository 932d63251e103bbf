#![no_main]
//! Fuzz target `tls_session`: see `wiretale_fuzz::tls_session` for what the input means and
//! which properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::tls_session(data));
