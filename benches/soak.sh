#!/usr/bin/env bash
# Soak test for long live captures (issue 9, item 4): `wiretale capture -i lo` runs for
# DURATION seconds (default 600) while a churn client opens and closes loopback TCP
# connections to a local HTTP server as fast as it can, plus a stream of UDP DNS-shaped
# datagrams. wiretale's resident set size is sampled every INTERVAL seconds (default 10)
# into a TSV (seconds, rss_kib, connections_made), so a flat curve shows that finished
# and idle connections are released instead of accumulating.
#
# Needs root (or cap_net_raw,cap_net_admin on the binary) to capture on `lo`.
# Usage: benches/soak.sh [OUT.tsv]   env: DURATION=600 INTERVAL=10 PAUSE=0.004 WIRETALE=path
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/soak.tsv}
DURATION=${DURATION:-600}
INTERVAL=${INTERVAL:-10}
PORT=${PORT:-18089}
PAUSE=${PAUSE:-0.004}   # seconds between connections (~200/s): churn, not a CPU hog
WIRETALE=${WIRETALE:-target/debug/wiretale}
[ -x "$WIRETALE" ] || cargo build --bin wiretale
work=$(mktemp -d)
cleanup() {
    [ -n "${CHURN:-}" ] && kill "$CHURN" 2>/dev/null || true
    [ -n "${SERVER:-}" ] && kill "$SERVER" 2>/dev/null || true
    [ -n "${WT:-}" ] && kill -INT "$WT" 2>/dev/null || true
    sleep 1
    rm -rf "$work"
}
trap cleanup EXIT

python3 -m http.server "$PORT" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
SERVER=$!
echo hello >"$work/index.html"
sleep 1

"$WIRETALE" capture -i lo -f "port $PORT or udp port 18053" --conns -q -w "$work/soak.pcap" \
    2>"$work/wiretale.err" &
WT=$!
sleep 2

# Churn: short HTTP/1.0 connections (open, request, close) and DNS-looking UDP noise
# from changing source ports; the connection count goes to a file for the TSV.
python3 - "$PORT" "$work/count" "$PAUSE" <<'PY' &
import socket, sys, time, struct, random
port, countfile, pause = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
n = 0
last = time.time()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
while True:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"GET /index.html HTTP/1.0\r\nHost: soak\r\n\r\n")
        while s.recv(65536):
            pass
        s.close()
    except OSError:
        time.sleep(0.1)
    q = struct.pack(">HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0) + b"\x04soak\x04test\x00\x00\x01\x00\x01"
    udp.sendto(q, ("127.0.0.1", 18053))
    n += 1
    time.sleep(pause)
    if time.time() - last > 1:
        open(countfile, "w").write(str(n))
        last = time.time()
PY
CHURN=$!

printf 'seconds\trss_kib\tconnections\n' >"$OUT"
start=$(date +%s)
while :; do
    now=$(date +%s)
    el=$((now - start))
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$WT/status 2>/dev/null || echo gone)
    conns=$(cat "$work/count" 2>/dev/null || echo 0)
    printf '%s\t%s\t%s\n' "$el" "$rss" "$conns" | tee -a "$OUT"
    [ "$rss" = gone ] && { echo "wiretale exited early:"; cat "$work/wiretale.err"; exit 1; }
    [ "$el" -ge "$DURATION" ] && break
    sleep "$INTERVAL"
done
kill "$CHURN"; CHURN=
kill -INT "$WT"
wait "$WT" || true
WT=
echo "--- wiretale stderr"; cat "$work/wiretale.err"
echo "--- peak RSS (VmHWM is gone with the process; max sampled):"
awk 'NR>1 && $2+0>m {m=$2} END {print m " KiB"}' "$OUT"
