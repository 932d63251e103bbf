#!/bin/sh
# Regenerates tests/data/streams/ from the shared capture corpus (needs tshark + python3;
# the tests themselves only read the committed output).
#
# For every TCP stream of the listed captures that carries HTTP or TLS (recognised by
# content, so odd ports count too) and is at most MAX bytes, writes:
#   <capture-with-slashes-as-__>--<stream>.c2s.bin / .s2c.bin   reassembled payload bytes
#   <capture...>--<stream>.idx   one event per line, in capture order:
#       P <frame> <c|s> <offset> <len> <ts_ns>   payload bytes [offset, offset+len) of dir
#       G <frame> <c|s> <len> <ts_ns>            bytes missing from the capture (a hole)
#       F <frame> <c|s> <ts_ns>                  FIN or RST from that side
# The reassembly is tshark's per-frame tcp.seq_raw/tcp.len (what `-z follow,tcp,raw`
# shows): retransmitted bytes are dropped, a jump forward is a gap. The client is the
# sender of the SYN without ACK, else the sender of the first frame.
#
# Usage: tests/data/extract-streams.sh [CAPTURE_ROOT]   (default ../shared/captures)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$here/../../../shared/captures}
out=$here/streams
mkdir -p "$out"
rm -f "$out"/*.bin "$out"/*.idx
export LC_ALL=C TZ=UTC
for cap in \
  zeek/http-pipelined-requests.pcap zeek/http-get-gzip.pcap zeek/http-post.pcap \
  zeek/http-206_example_b.pcap zeek/http-docker-http-upgrade.pcap zeek/http-get_nosyn.pcap \
  zeek/web.pcap zeek/wikipedia.pcap zeek/workshop_2011_browse.pcap \
  zeek/ipv6-http-atomic-frag.pcap \
  suricata-verify/http-event-chunk.pcap suricata-verify/http-mime-truncated.pcap \
  suricata-verify/detect-pcre-02.pcap zeek/tls-chrome-34-google.pcap \
  suricata-verify/tls_DER-incomplete-header.pcap zeek/var-services-std-ports.pcap \
  suricata-verify/ethernet-eve.pcap suricata-verify/syn_retransmit_with_ts.pcap \
  tcpdump/print-flags.pcap
do
  tshark -n -r "$root/$cap" -Y tcp -T fields -E separator=/t -E occurrence=l \
    -e frame.number -e frame.time_epoch -e tcp.stream -e ip.src -e ipv6.src \
    -e tcp.srcport -e tcp.seq_raw -e tcp.len -e tcp.flags.syn -e tcp.flags.ack \
    -e tcp.flags.fin -e tcp.flags.reset -e tcp.payload 2>/dev/null |
  python3 "$here/extract_streams.py" "$cap" "$out"
done
du -sh "$out"
