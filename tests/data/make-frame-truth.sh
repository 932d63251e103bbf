#!/bin/sh
# Regenerates tests/data/frame-truth/<source>/<file>.tsv: per-frame addresses,
# protocols and ports as tshark decodes them, for every classic pcap in the shared
# corpus. The decode corpus test (tests/decode_corpus.rs) compares against these so that
# the test itself never needs tshark. Generated with tshark 4.0.17 (-n, default prefs).
#
#   sh tests/data/make-frame-truth.sh [CAPTURE_ROOT]   # default ../shared/captures
#
# Columns: frame.number, frame.protocols, eth.src, eth.dst, vlan.id, ip.src, ip.dst,
# ip.proto, ipv6.src, ipv6.dst, tcp.srcport, tcp.dstport, udp.srcport, udp.dstport,
# icmp.type, icmpv6.type, arp.opcode, ip.flags.mf, ip.frag_offset, tcp.len, and the
# Protocol and Info columns (with raw TCP sequence numbers and no TCP analysis, so the Info
# text is what a stateless decoder can produce).
# (multi-valued fields are comma-separated by tshark; occurrence order = outer first).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here/../../../shared/captures}
out=$here/frame-truth
export LC_ALL=C TZ=UTC
cfg=$(mktemp -d); export WIRESHARK_CONFIG_DIR=$cfg
find "$root" -name '*.pcap' | sort | while read -r f; do
  rel=${f#"$root"/}
  mkdir -p "$out/$(dirname "$rel")"
  tshark -n -r "$f" -o tcp.relative_sequence_numbers:FALSE -o tcp.analyze_sequence_numbers:FALSE \
    -T fields -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.number -e frame.protocols -e eth.src -e eth.dst -e vlan.id \
    -e ip.src -e ip.dst -e ip.proto -e ipv6.src -e ipv6.dst \
    -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport \
    -e icmp.type -e icmpv6.type -e arp.opcode -e ip.flags.mf -e ip.frag_offset -e tcp.len \
    -e _ws.col.Protocol -e _ws.col.Info \
    > "$out/$rel.tsv" 2>/dev/null || true
done
rm -rf "$cfg"
