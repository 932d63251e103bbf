#!/usr/bin/env bash
# Writes tshark's view of the HTTP/3 lab captures (tests/data/quic/lab/*.pcapng, made by
# tests/lab/quic-captures.sh) to truth/: per capture NAME,
#   truth/NAME.quic.tsv         every QUIC packet, decrypted with NAME.keys
#   truth/NAME.nokeys.quic.tsv  the same without the key log (only Initials and Retry decode)
#   truth/NAME.hdr.tsv          header fields NAME.quic.tsv leaves out, decrypted with NAME.keys:
#                               the QUIC v2 packet type (v2 numbers them differently, RFC 9369
#                               §3.2; quic.long.packet_type is empty for v2 packets) and the
#                               1-RTT Key Phase bit (key updates, RFC 9001 §6)
#   truth/NAME.http2.tsv        (captures with TCP 443, e.g. chromium-altsvc) every HTTP/2
#                               HEADERS frame decrypted with NAME.keys: stream, method, path,
#                               status and every header name and value, `|`-separated
#                               (header values hold commas)
# with a header line naming the fields. A frame holding several coalesced QUIC packets
# (RFC 9000 §12.2) lists each field once per packet, comma-separated, in packet order;
# frame-level fields (quic.frame_type, stream ids, ...) list every frame of the datagram.
# The HTTP/3 truth is NAME.h3.tsv, the server's own request log: tshark 4.0 does not decode
# HTTP/3 headers (QPACK).
# Needs tshark (4.0 made the committed files: see README.md). Usage: make-truth.sh
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p truth
FIELDS=(frame.number udp.srcport udp.dstport quic.header_form quic.long.packet_type quic.version
  quic.dcid quic.scid quic.token_length quic.packet_number quic.length quic.frame_type
  quic.crypto.offset quic.crypto.length tls.handshake.type tls.handshake.extensions_server_name
  tls.handshake.extensions_alpn_str quic.stream.stream_id quic.stream.offset quic.stream.length
  quic.stream.fin quic.ack.largest_acknowledged quic.retry_token)
args=()
for f in "${FIELDS[@]}"; do args+=(-e "$f"); done
for pcap in *.pcapng; do
  case $pcap in *.dsb.pcapng) continue ;; esac
  n=${pcap%.pcapng}
  for mode in keys nokeys; do
    if [ $mode = keys ]; then opt=(-o "tls.keylog_file:$n.keys"); out=truth/$n.quic.tsv
    else opt=(-o tls.keylog_file:); out=truth/$n.nokeys.quic.tsv; fi
    {
      (IFS=$'\t'; echo "${FIELDS[*]}")
      tshark -r "$pcap" "${opt[@]}" -Y quic -T fields -E occurrence=a -E aggregator=, "${args[@]}" 2>/dev/null
    } >"$out"
  done
done
HDRFIELDS=(frame.number udp.srcport udp.dstport quic.version quic.long.packet_type
  quic.long.packet_type_v2 quic.packet_number quic.key_phase)
hdrargs=()
for f in "${HDRFIELDS[@]}"; do hdrargs+=(-e "$f"); done
for pcap in *.pcapng; do
  case $pcap in *.dsb.pcapng) continue ;; esac
  n=${pcap%.pcapng}
  {
    (IFS=$'\t'; echo "${HDRFIELDS[*]}")
    tshark -r "$pcap" -o "tls.keylog_file:$n.keys" -Y quic -T fields -E occurrence=a -E aggregator=, \
      "${hdrargs[@]}" 2>/dev/null
  } >"truth/$n.hdr.tsv"
done
# HTTP/2 over TCP + TLS beside the QUIC (the browser's race, issue 16): tshark decodes HPACK.
H2FIELDS=(frame.number tcp.stream tcp.srcport tcp.dstport http2.streamid http2.headers.method
  http2.headers.authority http2.headers.path http2.headers.status http2.header.name http2.header.value)
h2args=()
for f in "${H2FIELDS[@]}"; do h2args+=(-e "$f"); done
for pcap in *.pcapng; do
  case $pcap in *.dsb.pcapng) continue ;; esac
  n=${pcap%.pcapng}
  [ -n "$(tshark -r "$pcap" -Y 'tcp.port == 443' 2>/dev/null | head -1)" ] || continue
  {
    (IFS=$'\t'; echo "${H2FIELDS[*]}")
    tshark -r "$pcap" -o "tls.keylog_file:$n.keys" -Y 'http2.type == 1' -T fields -E occurrence=a \
      -E 'aggregator=|' "${h2args[@]}" 2>/dev/null
  } >"truth/$n.http2.tsv"
done
# The DSB copy must read the same as the capture plus its key log.
if [ -f chromium-h3.dsb.pcapng ]; then
  tshark -r chromium-h3.dsb.pcapng -Y quic -T fields -E occurrence=a -E aggregator=, "${args[@]}" 2>/dev/null |
    diff -q - <(tail -n +2 truth/chromium-h3.quic.tsv) >/dev/null ||
    { echo "make-truth.sh: chromium-h3.dsb.pcapng decodes differently from chromium-h3.pcapng + keys" >&2; exit 1; }
fi
tshark --version 2>/dev/null | head -1 >truth/TSHARK_VERSION
wc -l truth/*.tsv >&2
