#![no_main]
//! Fuzz target `pcap_reader`: see `wiretale_fuzz::pcap_reader` for what the input means and which
//! properties are checked beyond "never panics".
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| wiretale_fuzz::pcap_reader(data));
