#!/usr/bin/env bash
# Live capture of a replayed capture (issue 18): tcpreplay sends a capture file's frames
# from one network namespace through a veth pair to another, where `wiretale capture`
# records them. No addresses, IPv6 off: nothing but the replayed frames crosses the link,
# so the file written must hold exactly those frames, in order.
#
#   ${P}t: ${P}-t ── veth ── ${P}-r :${P}r   (wiretale capture -i ${P}-r -q -w OUT/live.pcap)
#
# Usage:  tests/lab/replay.sh OUTDIR PCAP [LOOPS]   (OUTDIR gets live.pcap, capture.err,
#         replay.txt, lab.log, steps.tsv)
# Env:    WIRETALE=path to the built binary, LAB_PREFIX=name prefix, REPLAY_ARGS=tcpreplay
#         rate flags (default --topspeed: the frames go out as fast as tcpreplay can)
# Needs root, iproute2, tcpreplay (tests/setup.sh). Every wait is bounded; processes are
# killed by PID and the namespaces removed on exit, even on failure.
set -euo pipefail

OUT=${1:?usage: replay.sh OUTDIR PCAP [LOOPS]}
PCAP=${2:?usage: replay.sh OUTDIR PCAP [LOOPS]}
LOOPS=${3:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WIRETALE=${WIRETALE:-$ROOT/target/debug/wiretale}
P=${LAB_PREFIX:-wr$$}
P=${P:0:8}
NS_T=${P}t NS_R=${P}r IF_T=${P}-t IF_R=${P}-r

[ "$(id -u)" = 0 ] || { echo "replay.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip tcpreplay; do
  command -v "$t" >/dev/null || { echo "replay.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done
[ -x "$WIRETALE" ] || { echo "replay.sh: $WIRETALE not built (cargo build)" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/lib.sh"

cleanup() {
  set +e
  stop_pids
  ip netns del "$NS_T" 2>/dev/null
  ip netns del "$NS_R" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for ns in "$NS_T" "$NS_R"; do
  ip netns add "$ns"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$IF_T" netns "$NS_T" type veth peer name "$IF_R" netns "$NS_R"
for pair in "$NS_T $IF_T" "$NS_R $IF_R"; do
  set -- $pair
  in_ns "$1" sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
  in_ns "$1" ip link set "$2" up
done
wait_links_up "$NS_T" "$IF_T" "$NS_R" "$IF_R"

CAP_ERR="$OUT/capture.err"
ip netns exec "$NS_R" "$WIRETALE" capture -i "$IF_R" -q -w "$OUT/live.pcap" >"$OUT/capture.out" 2>"$CAP_ERR" &
CAP_PID=$!
PIDS+=("$CAP_PID")
wait_capture "$CAP_PID" "$CAP_ERR"

# shellcheck disable=SC2086
step replay "$PCAP x$LOOPS into $IF_T" -- ip netns exec "$NS_T" tcpreplay ${REPLAY_ARGS:---topspeed} -l "$LOOPS" -i "$IF_T" "$PCAP"
grep -E "Actual|Rated|packets" "$LOG" >"$OUT/replay.txt" || true

sleep 0.5
kill -INT "$CAP_PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$CAP_PID" || break; sleep 0.1; done
alive "$CAP_PID" && { echo "replay.sh: the capture did not stop within 10 s of SIGINT" >&2; exit 1; }
cat "$CAP_ERR" >>"$LOG"
log "done: $OUT/live.pcap"
echo "$OUT/live.pcap"
