#!/usr/bin/env bash
# Regenerates tests/data/dns-messages.tsv: the DNS-bearing payloads of every shared
# capture, so DNS tests need neither tshark nor the capture files at run time.
#
# Usage (from the project root, with ../shared/captures beside it):
#     tests/data/extract-dns.sh > tests/data/dns-messages.tsv
#
# Columns (tab-separated, one row per frame):
#   capture  frame  epoch_time  transport(udp|tcp)  src_ip  src_port  dst_ip  dst_port  hex  info
# (`info` is tshark's Info column for the frame, to test `text::info`.)
# UDP rows: the datagram payload (a whole DNS message; for IP fragments the reassembled
# payload, on the frame that completed reassembly). TCP rows: the raw segment payload
# (length-prefixed DNS, possibly several messages or a part of one), in capture order,
# for every TCP segment with payload on port 53, so the stream decoder can be tested.
# Generated with TShark 4.0.17; ports 53, 5353 (mDNS), 5355 (LLMNR) and anything tshark
# itself calls DNS.
set -euo pipefail
root="${1:-$(dirname "$0")/../../../shared/captures}"
export LC_ALL=C TZ=UTC
cd "$root"
for f in $(find . -name '*.pcap' -o -name '*.pcapng' | sed 's|^\./||' | grep -v '^truth/' | sort); do
  tshark -n -r "$f" -E occurrence=l -T fields \
    -Y '!icmp && !icmpv6 && ((udp && (dns || udp.port in {53, 5353, 5355}) && udp.length > 8) || (tcp.port == 53 && tcp.len > 0))' \
    -e frame.number -e frame.time_epoch -e ip.src -e ipv6.src -e udp.srcport -e tcp.srcport \
    -e ip.dst -e ipv6.dst -e udp.dstport -e tcp.dstport -e udp.payload -e tcp.payload -e _ws.col.Info 2>/dev/null |
  awk -F'\t' -v cap="$f" 'BEGIN { OFS = "\t" } {
    src = ($3 != "") ? $3 : $4; dst = ($7 != "") ? $7 : $8
    if ($11 != "") { t = "udp"; sp = $5; dp = $9; hex = $11 }
    else if ($12 != "") { t = "tcp"; sp = $6; dp = $10; hex = $12 }
    else next
    print cap, $1, $2, t, src, sp, dst, dp, hex, $13
  }' || true
done
