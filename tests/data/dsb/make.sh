#!/usr/bin/env bash
# Makes editcap-dsb.pcapng: zeek's http-get-gzip capture as pcapng with a Decryption
# Secrets Block that editcap (Wireshark's own writer) injects, so the reader is tested
# against a DSB nobody here wrote. The key log is made up (no TLS in that capture);
# only its bytes matter. Needs editcap (wireshark-common). Run from this directory.
set -euo pipefail
printf '%s\n' \
  "# made-up keys for a reader test" \
  "CLIENT_RANDOM 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f000102030405060708090a0b0c0d0e0f" \
  > keys.txt
editcap -F pcapng --inject-secrets tls,keys.txt ../../../../shared/captures/zeek/http-get-gzip.pcap editcap-dsb.pcapng
