#!/usr/bin/env bash
# The book's picture, built for real in network namespaces, with real programs:
#
#   client 198.18.0.10 ─┐                                  ┌─ web server 198.18.1.80
#                       ├─ bridge ── router ── veth ───────┘   (nginx :80; nothing on
#   resolver 198.18.0.53┘  198.18.0.1   198.18.1.1               :443 and :8080 → RST)
#   (dnsmasq, authoritative for lab.glasscom.com: a CNAME chain, several names on one
#    address, an NXDOMAIN name)
#
# The client runs curl (keep-alive, HTTP/1.0, a redirect, a chunked gzip response, a
# refused port, NXDOMAIN, parallel connections) and, when installed, headless Chromium
# loading a page with images, a stylesheet and a script. The capture is taken on the
# client's interface, by default with wiretale's own live capture.
#
# Usage:  tests/lab/lab.sh OUTDIR [SCENARIO...]
#   OUTDIR gets lab.pcap, steps.tsv (what each step did, for the tests), lab.log.
#   SCENARIO: all (default), curl, browser, page (curl + browser page load only).
# Env:    LAB_CAPTURE="wiretale" (default; the built binary, WIRETALE=path) or "tcpdump"
#         WIRETALE=path/to/wiretale   LAB_PREFIX=name prefix for namespaces (default wt$$)
#
# Needs root, iproute2, dnsmasq, nginx, curl (tests/setup.sh installs them). Every loop is
# bounded; namespaces and processes (by PID) are removed on exit, even on failure.
set -euo pipefail

OUT=${1:?usage: lab.sh OUTDIR [SCENARIO...]}
shift
SCENARIOS=("${@:-all}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CAPTURE=${LAB_CAPTURE:-wiretale}
WIRETALE=${WIRETALE:-$ROOT/target/debug/wiretale}
P=${LAB_PREFIX:-wt$$}
NS_C=${P}c NS_D=${P}d NS_R=${P}r NS_S=${P}s
CLI=198.18.0.10 DNS=198.18.0.53 GW1=198.18.0.1 GW2=198.18.1.1 WEB=198.18.1.80 WEB2=198.18.1.81
ZONE=lab.glasscom.com

[ "$(id -u)" = 0 ] || { echo "lab.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip dnsmasq nginx curl; do
  command -v "$t" >/dev/null || { echo "lab.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d /tmp/wiretale-lab.XXXXXX)
chmod 755 "$WORK"
LOG="$OUT/lab.log"
STEPS="$OUT/steps.tsv"
: >"$LOG"
printf 'step\tstart\tend\tdetail\n' >"$STEPS"
log() { echo "[$(date +%T.%3N)] $*" >>"$LOG"; }

alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
PIDS=()
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  for ns in "$NS_C" "$NS_D" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "/etc/netns/$NS_C"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ------------------------------------------------------------------ network
log "namespaces $NS_C (client) $NS_D (resolver) $NS_R (router) $NS_S (server)"
for ns in "$NS_C" "$NS_D" "$NS_R" "$NS_S"; do
  ip netns add "$ns"
  # No IPv6 on the links: keeps router solicitations and MLD out of the story.
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$ns" ip link set lo up
done
in_ns "$NS_R" ip link add br0 type bridge
in_ns "$NS_R" ip addr add "$GW1/24" dev br0
in_ns "$NS_R" ip link set br0 up
# client and resolver share the bridged subnet; each veth's far end joins the bridge
ip link add "${P}-c" netns "$NS_C" type veth peer name c0 netns "$NS_R"
ip link add "${P}-d" netns "$NS_D" type veth peer name d0 netns "$NS_R"
ip link add "${P}-s" netns "$NS_S" type veth peer name s0 netns "$NS_R"
for i in c0 d0; do in_ns "$NS_R" ip link set "$i" master br0 up; done
in_ns "$NS_R" ip addr add "$GW2/24" dev s0
in_ns "$NS_R" ip link set s0 up
in_ns "$NS_R" sysctl -qw net.ipv4.ip_forward=1
in_ns "$NS_C" ip addr add "$CLI/24" dev "${P}-c"
in_ns "$NS_D" ip addr add "$DNS/24" dev "${P}-d"
in_ns "$NS_S" ip addr add "$WEB/24" dev "${P}-s"
in_ns "$NS_S" ip addr add "$WEB2/24" dev "${P}-s"
# many.lab.glasscom.com has 40 addresses: its answer does not fit 512 bytes, so the
# resolver gets TC=1 over UDP and retries over TCP.
for i in $(seq 100 139); do in_ns "$NS_S" ip addr add "198.18.1.$i/24" dev "${P}-s"; done
for pair in "$NS_C ${P}-c $GW1" "$NS_D ${P}-d $GW1" "$NS_S ${P}-s $GW2"; do
  set -- $pair
  in_ns "$1" ip link set "$2" up
  in_ns "$1" ip route add default via "$3"
  # Wire-like frames: no segmentation offload, so the capture holds <= MTU packets.
  in_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
# The client's resolver, bind-mounted over /etc/resolv.conf by `ip netns exec`.
mkdir -p "/etc/netns/$NS_C"
echo "nameserver $DNS" >"/etc/netns/$NS_C/resolv.conf"
printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
for _ in $(seq 50); do in_ns "$NS_C" ping -c1 -W1 "$WEB" >/dev/null 2>&1 && break; sleep 0.1; done

# ------------------------------------------------------------------ web server
mkdir -p "$WORK/www/dir1/img" "$WORK/www/static" "$WORK/ngx"
cat >"$WORK/www/index.html" <<'HTML'
<!doctype html>
<html><head><title>wiretale lab</title>
<link rel="stylesheet" href="/static/site.css">
<script src="http://static.lab.glasscom.com/static/app.js"></script>
</head><body>
<h1>How networks connect</h1>
<p>This page is served by nginx in the lab; the browser resolves its names with dnsmasq.</p>
<img src="/dir1/img/logo.png" alt="logo">
<img src="http://img.lab.glasscom.com/dir1/img/photo.png" alt="photo">
<a href="/dir1/file.html">more</a>
</body></html>
HTML
python3 - "$WORK/www" <<'PY'
import os, sys, random, zlib, struct
root = sys.argv[1]
rnd = random.Random(7)
def png(path, w, h):
    raw = b"".join(b"\x00" + bytes(rnd.randrange(256) for _ in range(w * 3)) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
    open(os.path.join(root, path), "wb").write(data)
png("dir1/img/logo.png", 40, 40)
png("dir1/img/photo.png", 120, 90)
open(os.path.join(root, "static/site.css"), "w").write("body{font-family:sans-serif}\n" * 120)
open(os.path.join(root, "static/app.js"), "w").write("console.log('lab');\n" * 200)
open(os.path.join(root, "dir1/file.html"), "w").write("<html><body>" + "<p>file</p>\n" * 200 + "</body></html>\n")
open(os.path.join(root, "favicon.ico"), "wb").write(b"\x00\x00\x01\x00" + bytes(60))
PY
cat >"$WORK/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log error;
events { worker_connections 256; }
http {
  types { text/html html; text/css css; application/javascript js; image/png png; image/x-icon ico; }
  default_type application/octet-stream;
  access_log $WORK/access.log;
  keepalive_timeout 5s;
  gzip on;
  gzip_min_length 100;
  gzip_types text/css application/javascript text/plain;
  client_body_temp_path $WORK/ngx/body;
  proxy_temp_path $WORK/ngx/proxy;
  fastcgi_temp_path $WORK/ngx/fastcgi;
  uwsgi_temp_path $WORK/ngx/uwsgi;
  scgi_temp_path $WORK/ngx/scgi;
  server {
    listen 80;
    server_name _;
    root $WORK/www;
    location /old/ { return 301 http://www.$ZONE/dir1/file.html; }
    location /api/ { default_type application/json; return 201 '{"ok":true}\n'; }
  }
}
EOF
# Background jobs start `ip netns exec` itself (not the in_ns function), so $! is the
# daemon's own PID (ip execs it) and signals reach it.
ip netns exec "$NS_S" nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.out" 2>&1 &
PIDS+=($!)

# ------------------------------------------------------------------ resolver
cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$DNS
user=root
cache-size=0
local-ttl=300
# authoritative answers for the lab zone; anything else in it is NXDOMAIN
local=/$ZONE/
host-record=web.$ZONE,$WEB
host-record=media.$ZONE,$WEB2
cname=www.$ZONE,web.$ZONE
# a two-step chain: static -> cdn -> media
cname=cdn.$ZONE,media.$ZONE
cname=static.$ZONE,cdn.$ZONE
# one address, several names
host-record=img.$ZONE,$WEB2
EOF
for i in $(seq 100 139); do echo "host-record=many.$ZONE,198.18.1.$i"; done >>"$WORK/dnsmasq.conf"
ip netns exec "$NS_D" dnsmasq --keep-in-foreground --conf-file="$WORK/dnsmasq.conf" --pid-file="$WORK/dnsmasq.pid" \
  >"$WORK/dnsmasq.out" 2>&1 &
PIDS+=($!)

for _ in $(seq 100); do
  in_ns "$NS_C" bash -c "exec 3<>/dev/tcp/$WEB/80" 2>/dev/null && break
  sleep 0.1
done
in_ns "$NS_C" bash -c "exec 3<>/dev/tcp/$WEB/80" || { cat "$WORK/nginx.out" "$WORK/nginx-error.log" >&2; exit 1; }
for _ in $(seq 50); do
  [ -n "$(in_ns "$NS_C" getent hosts "web.$ZONE" 2>/dev/null)" ] && break
  sleep 0.1
done

# ------------------------------------------------------------------ capture
CAP_PID=
CAP_ERR="$WORK/capture.err"
case "$CAPTURE" in
  wiretale)
    [ -x "$WIRETALE" ] || { echo "lab.sh: $WIRETALE not built (cargo build)" >&2; exit 1; }
    # The live story goes to live-story.jsonl so tests can compare it with the story
    # read back from the saved file.
    ip netns exec "$NS_C" "$WIRETALE" capture -i "${P}-c" -w "$OUT/lab.pcap" --story --json >"$OUT/live-story.jsonl" 2>"$CAP_ERR" &
    CAP_PID=$!
    ;;
  tcpdump)
    ip netns exec "$NS_C" tcpdump -i "${P}-c" -n -s 0 -U -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    CAP_PID=$!
    ;;
  *) echo "lab.sh: LAB_CAPTURE must be wiretale or tcpdump" >&2; exit 2 ;;
esac
PIDS+=($CAP_PID)
for _ in $(seq 100); do
  grep -qiE "listening on|capturing on" "$CAP_ERR" 2>/dev/null && break
  alive "$CAP_PID" || { cat "$CAP_ERR" >&2; exit 1; }
  sleep 0.1
done
sleep 0.3

now() { date +%s.%N; }
step() { # step NAME DETAIL -- command...
  local name=$1 detail=$2 t0 t1 rc
  shift 3
  t0=$(now)
  set +e
  timeout -k 2 30 "$@" >>"$LOG" 2>&1
  rc=$?
  set -e
  t1=$(now)
  printf '%s\t%s\t%s\t%s rc=%s\n' "$name" "$t0" "$t1" "$detail" "$rc" >>"$STEPS"
  log "step $name rc=$rc"
  sleep 0.3
}
C=(ip netns exec "$NS_C")
CURL=(curl -sS -o /dev/null --max-time 10 -A wiretale-lab/1)

want() { local s; for s in "${SCENARIOS[@]}"; do [ "$s" = all ] || [ "$s" = "$1" ] && return 0; done; return 1; }

if want curl || want page; then
  # keep-alive: two requests on one connection; www is a CNAME of web
  step keepalive "GET / and /dir1/file.html on one connection to www (CNAME web)" -- \
    "${C[@]}" "${CURL[@]}" "http://www.$ZONE/" -o /dev/null "http://www.$ZONE/dir1/file.html"
fi
if want curl; then
  step http10 "HTTP/1.0 GET web/dir1/file.html" -- "${C[@]}" "${CURL[@]}" --http1.0 "http://web.$ZONE/dir1/file.html"
  step redirect "301 from /old/ then follow" -- "${C[@]}" "${CURL[@]}" -L "http://www.$ZONE/old/"
  step chunked "gzip'd stylesheet (chunked) via static (CNAME chain static->cdn->media)" -- \
    "${C[@]}" "${CURL[@]}" --compressed "http://static.$ZONE/static/site.css"
  step post "POST to the API" -- "${C[@]}" "${CURL[@]}" -d 'name=lab' "http://web.$ZONE/api/items"
  step nxdomain "lookup of a name that does not exist" -- "${C[@]}" "${CURL[@]}" "http://nope.$ZONE/"
  step refused "connect to a closed port (RST)" -- "${C[@]}" "${CURL[@]}" "http://web.$ZONE:8080/"
  step parallel "two parallel connections to one server" -- "${C[@]}" bash -c \
    "${CURL[*]} http://img.$ZONE/dir1/img/photo.png & ${CURL[*]} http://img.$ZONE/dir1/img/logo.png & wait"
  step tcretry "an answer too big for UDP (TC) retried over TCP" -- "${C[@]}" "${CURL[@]}" "http://many.$ZONE/favicon.ico"
  step httpsfirst "https:// first (nothing listens on 443: RST), then http://" -- "${C[@]}" bash -c \
    "${CURL[*]} https://web.$ZONE/ ; ${CURL[*]} http://web.$ZONE/dir1/file.html"
  step preconnect "a connection opened and closed without a request (like a browser's unused preconnect)" -- \
    "${C[@]}" bash -c "exec 3<>/dev/tcp/$WEB/80; sleep 0.2; exec 3>&-"
  step nolookup "a connection by address, no lookup" -- "${C[@]}" "${CURL[@]}" "http://$WEB/favicon.ico"
fi
if want browser || want page; then
  BROWSER=$(command -v chromium || command -v chromium-browser || true)
  if [ -n "$BROWSER" ]; then
    PROFILE=$(mktemp -d "$WORK/chrome.XXXXXX")
    step browser "headless Chromium loads www/index.html" -- "${C[@]}" "$BROWSER" --headless --no-sandbox \
      --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update \
      --disable-sync --disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,DnsOverHttps \
      --user-data-dir="$PROFILE" --virtual-time-budget=3000 --dump-dom "http://www.$ZONE/index.html"
  else
    printf 'browser\t%s\t%s\tskipped: chromium not installed rc=0\n' "$(now)" "$(now)" >>"$STEPS"
  fi
fi

# Let connections close (nginx keepalive_timeout 5 s closes idle ones from the server side).
sleep "${LAB_LINGER:-1}"
kill -INT "$CAP_PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$CAP_PID" || break; sleep 0.1; done
cat "$CAP_ERR" >>"$LOG"
log "done: $OUT/lab.pcap"
echo "$OUT/lab.pcap"
