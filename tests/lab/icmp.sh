#!/usr/bin/env bash
# The ICMP-error lab (issue 17 item 3): errors the kernel sends, tied to the flows they
# quote. Three network namespaces, the client two hops from the server:
#
#   client 198.18.4.10 ── veth ── 198.18.4.1 router 198.18.5.1 ── veth ── server 198.18.5.80
#                                                                          198.18.5.53
# Steps (each logged in OUTDIR/steps.tsv with its start and end time):
#   dns-refused   a DNS query (A refused.lab.example, sent by python3) to 198.18.5.53:53,
#                 where nothing listens: the server's kernel answers port unreachable
#   host-unreach  one UDP datagram to 198.18.5.99:9, an address nobody has: the router's
#                 ARP fails and it answers host unreachable (~3 s)
#   traceroute    `traceroute -n -q 2 -m 4 198.18.5.80` (UDP probes to rising ports): the
#                 router answers TTL exceeded, the server port unreachable
#   traceroute-I  `traceroute -I -n -q 2 -m 4 198.18.5.80` (echo requests): TTL exceeded
#                 from the router, echo replies from the server
#
# Usage:  tests/lab/icmp.sh OUTDIR      (OUTDIR gets lab.pcap, steps.tsv, lab.log)
# Env:    LAB_CAPTURE="wiretale" (default; WIRETALE=path to the built binary) or "tcpdump"
#         LAB_PREFIX=name prefix for namespaces (default wi$$)
# Needs root, iproute2, python3, traceroute (tests/setup.sh). Every loop is bounded;
# processes are killed by PID and the namespaces removed on exit, even on failure.
set -euo pipefail

OUT=${1:?usage: icmp.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CAPTURE=${LAB_CAPTURE:-wiretale}
WIRETALE=${WIRETALE:-$ROOT/target/debug/wiretale}
P=${LAB_PREFIX:-wi$$}
NS_C=${P}c NS_R=${P}r NS_S=${P}s
CLI=198.18.4.10 RTR_C=198.18.4.1 RTR_S=198.18.5.1 SRV=198.18.5.80 DNS=198.18.5.53

[ "$(id -u)" = 0 ] || { echo "icmp.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip python3 traceroute; do
  command -v "$t" >/dev/null || { echo "icmp.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/wiretale-icmp.XXXXXX)

cleanup() {
  set +e
  stop_pids
  for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ------------------------------------------------------------------ network
for ns in "$NS_C" "$NS_R" "$NS_S"; do
  ip netns add "$ns"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  # No ICMP rate limit: every probe gets its answer (Linux limits errors per peer).
  in_ns "$ns" sysctl -qw net.ipv4.icmp_ratelimit=0
  in_ns "$ns" ip link set lo up
done
in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
ip link add "${P}-c" netns "$NS_C" type veth peer name "${P}-rc" netns "$NS_R"
ip link add "${P}-s" netns "$NS_S" type veth peer name "${P}-rs" netns "$NS_R"
in_ns "$NS_C" ip addr add "$CLI/24" dev "${P}-c"
in_ns "$NS_R" ip addr add "$RTR_C/24" dev "${P}-rc"
in_ns "$NS_R" ip addr add "$RTR_S/24" dev "${P}-rs"
in_ns "$NS_S" ip addr add "$SRV/24" dev "${P}-s"
in_ns "$NS_S" ip addr add "$DNS/24" dev "${P}-s"
for pair in "$NS_C ${P}-c" "$NS_R ${P}-rc" "$NS_R ${P}-rs" "$NS_S ${P}-s"; do
  set -- $pair
  in_ns "$1" ip link set "$2" up
done
in_ns "$NS_C" ip route add default via "$RTR_C"
in_ns "$NS_S" ip route add default via "$RTR_S"
wait_links_up "$NS_C" "${P}-c" "$NS_S" "${P}-s"

# ------------------------------------------------------------------ capture
CAP_ERR="$WORK/capture.err"
case "$CAPTURE" in
  wiretale)
    [ -x "$WIRETALE" ] || { echo "icmp.sh: $WIRETALE not built (cargo build)" >&2; exit 1; }
    ip netns exec "$NS_C" "$WIRETALE" capture -i "${P}-c" -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    ;;
  tcpdump)
    ip netns exec "$NS_C" tcpdump -i "${P}-c" -n -s 0 -U -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    ;;
  *) echo "icmp.sh: LAB_CAPTURE must be wiretale or tcpdump" >&2; exit 2 ;;
esac
CAP_PID=$!
PIDS+=($CAP_PID)
wait_capture "$CAP_PID" "$CAP_ERR"


# A DNS query over UDP from a connected socket: the kernel reports the port unreachable
# as ECONNREFUSED on the next receive (RFC 1122 §4.1.3.3), as a stub resolver sees it.
udp_send() { # udp_send HOST PORT WAIT_S DNS_NAME|-
  in_ns "$NS_C" timeout 10 python3 - "$@" <<'PY'
import socket, struct, sys
host, port, wait, name = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
if name == "-":
    msg = b"wiretale icmp lab\n"
else:
    qname = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    msg = struct.pack(">HHHHHH", 0x1717, 0x0100, 1, 0, 0, 0) + qname + struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((host, port))
s.send(msg)
s.settimeout(wait)
try:
    s.recv(2048)
    print("udp_send: got a reply")
except ConnectionRefusedError:
    print("udp_send: connection refused (ICMP port unreachable)")
except OSError as e:
    print("udp_send:", e)
PY
}

step dns-refused "A refused.lab.example to $DNS:53 (closed)" -- udp_send "$DNS" 53 2 refused.lab.example
step host-unreach "UDP to 198.18.5.99:9 (no such host)" -- udp_send 198.18.5.99 9 5 -
step traceroute "UDP probes to $SRV" -- in_ns "$NS_C" timeout 20 traceroute -n -q 2 -w 2 -m 4 "$SRV"
step traceroute-I "echo probes to $SRV" -- in_ns "$NS_C" timeout 20 traceroute -I -n -q 2 -w 2 -m 4 "$SRV"

sleep 0.5
kill -INT "$CAP_PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$CAP_PID" || break; sleep 0.1; done
cat "$CAP_ERR" >>"$LOG"
log "done: $OUT/lab.pcap"
echo "$OUT/lab.pcap"
