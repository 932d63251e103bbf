#!/usr/bin/env bash
# Tunnels for real: VXLAN made by the kernel between network namespaces, with the same
# inner addresses in two tunnels, captured on the underlay. (GRE, IP-in-IP and Geneve
# devices need kernel modules this machine's kernel lacks — `ip link add … type gre`
# answers "Unknown device type" — so they are tested on public captures instead.)
#
#   c1 198.18.60.11 ─┐                    ┌─ s1 198.18.60.21
#   c2 198.18.60.12 ─┼── bridge (hub) ────┼─ s2 198.18.60.22
#                    └─ capture here ─────┘
#
#   VXLAN 42   c1 ↔ s1   inner 198.19.42.1 ↔ 198.19.42.2   (s1: python http.server :8080,
#                                                            dnsmasq for tunnel.lab)
#   VXLAN 43   c2 ↔ s2   inner 198.19.42.1 ↔ 198.19.42.2   (the same inner addresses)
#
# c1 looks up web.tunnel.lab (DNS over VXLAN 42) and fetches it; c1 and c2 then fetch from
# the same inner client port to the same inner server: one inner 4-tuple in two tunnels.
# The capture is taken on the hub's bridge with this build of
# wiretale (`capture -i`).
#
# Usage:  tests/lab/tunnel.sh OUTDIR      (OUTDIR gets tunnel.pcap, steps.tsv, lab.log)
# Env:    WIRETALE=path/to/wiretale  LAB_PREFIX=name prefix for namespaces (default tn$$)
# Needs root, iproute2, dnsmasq, curl, python3 (tests/setup.sh installs them). Every loop is
# bounded; namespaces and processes (by PID) are removed on exit, even on failure.
set -euo pipefail

OUT=${1:?usage: tunnel.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
WIRETALE=${WIRETALE:-$ROOT/target/debug/wiretale}
P=${LAB_PREFIX:-tn$$}
H=${P}h C1=${P}c1 C2=${P}c2 S1=${P}s1 S2=${P}s2

[ "$(id -u)" = 0 ] || { echo "tunnel.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip dnsmasq curl python3; do
  command -v "$t" >/dev/null || { echo "tunnel.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done
[ -x "$WIRETALE" ] || { echo "tunnel.sh: $WIRETALE not built (cargo build)" >&2; exit 1; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/wiretale-tunnel.XXXXXX)

cleanup() {
  set +e
  stop_pids
  for ns in "$C1" "$C2" "$S1" "$S2" "$H"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "/etc/netns/$C1" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ------------------------------------------------------------------ underlay
ip netns add "$H"
in_ns "$H" ip link add br0 type bridge
in_ns "$H" ip link set br0 up
in_ns "$H" ip link set lo up
declare -A UNDER=(["$C1"]=198.18.60.11 ["$C2"]=198.18.60.12 ["$S1"]=198.18.60.21 ["$S2"]=198.18.60.22)
i=0
for ns in "$C1" "$C2" "$S1" "$S2"; do
  i=$((i + 1))
  ip netns add "$ns"
  in_ns "$ns" ip link set lo up
  ip link add "${P}x$i" netns "$H" type veth peer name eth0 netns "$ns"
  in_ns "$H" ip link set "${P}x$i" master br0 up
  in_ns "$ns" ip addr add "${UNDER[$ns]}/24" dev eth0
  in_ns "$ns" ip link set eth0 up
done

# ------------------------------------------------------------------ tunnels
vxlan() { # vxlan NS VNI LOCAL REMOTE INNER
  in_ns "$1" ip link add vx"$2" type vxlan id "$2" local "$3" remote "$4" dstport 4789 dev eth0
  in_ns "$1" ip addr add "$5/24" dev vx"$2"
  in_ns "$1" ip link set vx"$2" up
}
vxlan "$C1" 42 198.18.60.11 198.18.60.21 198.19.42.1
vxlan "$S1" 42 198.18.60.21 198.18.60.11 198.19.42.2
vxlan "$C2" 43 198.18.60.12 198.18.60.22 198.19.42.1
vxlan "$S2" 43 198.18.60.22 198.18.60.12 198.19.42.2

# ------------------------------------------------------------------ servers
mkdir -p "$WORK/www"
echo "hello through a tunnel" >"$WORK/www/index.html"
for ns in "$S1" "$S2"; do
  (cd "$WORK/www" && exec ip netns exec "$ns" python3 -m http.server 8080 --bind 0.0.0.0 >>"$LOG" 2>&1) &
  PIDS+=($!)
done
ip netns exec "$S1" dnsmasq --keep-in-foreground --no-resolv --no-hosts --listen-address=198.19.42.2 \
  --bind-interfaces --address=/web.tunnel.lab/198.19.42.2 --pid-file="$WORK/dnsmasq.pid" \
  --log-facility="$WORK/dnsmasq.log" &
PIDS+=($!)
mkdir -p "/etc/netns/$C1"
echo "nameserver 198.19.42.2" >"/etc/netns/$C1/resolv.conf"

# Servers up (bounded waits): each answers through its tunnel.
for ns in "$C1" "$C2"; do
  for _ in $(seq 100); do
    in_ns "$ns" bash -c "exec 3<>/dev/tcp/198.19.42.2/8080" 2>/dev/null && break
    sleep 0.1
  done
done
for _ in $(seq 50); do
  [ -n "$(in_ns "$C1" getent hosts web.tunnel.lab 2>/dev/null)" ] && break
  sleep 0.1
done
sleep 1 # the probes above end their connections before the capture starts

# ------------------------------------------------------------------ capture
CAP_ERR="$WORK/capture.err"
ip netns exec "$H" "$WIRETALE" capture -i br0 -w "$OUT/tunnel.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
CAP_PID=$!
PIDS+=($CAP_PID)
wait_capture "$CAP_PID" "$CAP_ERR"

CURL=(curl -sS -o /dev/null --max-time 10)
step vxlan-dns "DNS lookup and GET over VXLAN 42" -- ip netns exec "$C1" "${CURL[@]}" http://web.tunnel.lab:8080/
step vni42 "GET from inner port 40042 over VXLAN 42" -- \
  ip netns exec "$C1" "${CURL[@]}" --local-port 40042 http://198.19.42.2:8080/
step vni43 "GET from inner port 40042 over VXLAN 43 (same inner 4-tuple)" -- \
  ip netns exec "$C2" "${CURL[@]}" --local-port 40042 http://198.19.42.2:8080/
sleep 0.5
kill -INT "$CAP_PID"
for _ in $(seq 50); do alive "$CAP_PID" || break; sleep 0.1; done
alive "$CAP_PID" && { echo "tunnel.sh: capture did not stop" >&2; exit 1; }
cat "$CAP_ERR" >>"$LOG"
log "done"
