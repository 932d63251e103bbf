#!/bin/sh
# Regenerates truth/*.tsv (tshark), zeek-states.tsv and zeek-conn.tsv (Zeek's own conn.log
# baselines) for tests/tunnels_decode.rs, tunnels_conns.rs and filter_tunnels.rs. Needs tshark and the Zeek snapshot; tests never run either.
set -eu
cd "$(dirname "$0")"
for f in *.pcap; do
    python3 truth.py "$f" > "truth/${f%.pcap}.tsv"
done
sh zeek-states.sh > zeek-states.tsv
sh zeek-conn.sh > zeek-conn.tsv
