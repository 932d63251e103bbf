#!/usr/bin/env bash
# The HTTP/3 lab (issue 16): QUIC v1 between two network namespaces joined by a veth pair,
# with real programs:
#
#   client 198.18.2.10  ── veth ──  server 198.18.2.80 (quic.lab.glasscom.com)
#                                   aioquic's examples/http3_server.py on UDP 443
#                                   (chromium-altsvc: also nginx, TLS 1.3 + h2 on TCP 443)
#                                   198.18.2.53 (aioquic-migrate: dnsmasq, the lab's resolver)
#
# The server serves a few files through tests/lab/quic_app.py, which logs every request
# (client, stream id, method, authority, path, status, sizes) to OUTDIR/h3-requests.tsv: the
# HTTP/3 truth, since tshark 4.0 does not decode HTTP/3 headers. Its certificate comes from
# a throwaway CA that openssl makes on every run (as in lab.sh; nothing secret is kept).
# Both ends write NSS key logs: the clients to OUTDIR/keys.log, the server to
# OUTDIR/server-keys.log. The capture is taken on the client's interface.
#
# Usage:  tests/lab/quic.sh OUTDIR SCENARIO
#   SCENARIO: aioquic        aioquic's http3_client.py: 4 GETs on one connection (one a 404),
#                            then a POST on a second connection
#             aioquic-retry  the server sends a Retry first (http3_server.py --retry); 2 GETs
#             chromium       headless Chromium forced onto QUIC loads a page with a stylesheet,
#                            a script and two images
#             chromium-altsvc  headless Chromium, not forced: loads a page over h2 on TCP+TLS
#                            (nginx), learns `Alt-Svc: h3=":443"` from it, and makes the page's
#                            later requests over QUIC (aioquic) while the h2 connection is open
#             aioquic-keyupdate  http3_client.py --key-update: 3 GETs on one connection, the
#                            client updates its 1-RTT keys (RFC 9001 §6) after the first
#                            response headers, mid-transfer
#             aioquic-v2     http3_client.py --negotiate-v2: a v1 Initial offering QUIC v2, the
#                            server switches (compatible version negotiation, RFC 9368); 2 GETs
#             aioquic-migrate  tests/lab/quic_migrate.py: a DNS lookup (dnsmasq), then one
#                            connection that changes its connection ID, then its local port
#                            (path validation), with requests in between
#   OUTDIR gets lab.pcap, keys.log, server-keys.log, h3-requests.tsv, steps.tsv, lab.log, ca.pem;
#   chromium-altsvc also h2-requests.tsv (nginx's log of the TCP requests), aioquic-migrate
#   also migrate.tsv (the client's own log of its ports and connection IDs).
# Env:    LAB_CAPTURE="wiretale" (default; WIRETALE=path to the built binary) or "tcpdump"
#         WIRETALE_LAB_DIR (default /opt/wiretale-lab: the venv and aioquic's examples that
#         tests/setup.sh installs)   LAB_PREFIX=name prefix for namespaces (default wq$$)
#
# Needs root, iproute2, openssl, the aioquic venv (tests/setup.sh), chromium for its
# scenarios, nginx for chromium-altsvc, dnsmasq for aioquic-migrate. Every loop is bounded; namespaces and processes (by PID) are removed on exit,
# even on failure.
set -euo pipefail

OUT=${1:?usage: quic.sh OUTDIR SCENARIO}
SCEN=${2:?usage: quic.sh OUTDIR SCENARIO}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CAPTURE=${LAB_CAPTURE:-wiretale}
WIRETALE=${WIRETALE:-$ROOT/target/debug/wiretale}
LABDIR=${WIRETALE_LAB_DIR:-/opt/wiretale-lab}
PY=$LABDIR/venv/bin/python
EX=$LABDIR/aioquic-1.7.2/examples
P=${LAB_PREFIX:-wq$$}
NS_C=${P}c NS_S=${P}s
CLI=198.18.2.10 SRV=198.18.2.80 DNS=198.18.2.53
HOST=quic.lab.glasscom.com
O=https://$HOST

case "$SCEN" in aioquic | aioquic-retry | aioquic-keyupdate | aioquic-v2 | chromium | chromium-altsvc | aioquic-migrate) ;; *) echo "quic.sh: unknown scenario $SCEN" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "quic.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip openssl; do
  command -v "$t" >/dev/null || { echo "quic.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done
[ -x "$PY" ] && [ -f "$EX/http3_server.py" ] || { echo "quic.sh: missing aioquic in $LABDIR (run tests/setup.sh)" >&2; exit 77; }
BROWSER=
if [ "$SCEN" = chromium ] || [ "$SCEN" = chromium-altsvc ]; then
  BROWSER=$(command -v chromium || command -v chromium-browser || true)
  [ -n "$BROWSER" ] || { echo "quic.sh: missing chromium" >&2; exit 77; }
fi
[ "$SCEN" != chromium-altsvc ] || command -v nginx >/dev/null || { echo "quic.sh: missing nginx" >&2; exit 77; }
[ "$SCEN" != aioquic-migrate ] || command -v dnsmasq >/dev/null || { echo "quic.sh: missing dnsmasq" >&2; exit 77; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/lib.sh"
rm -f "$OUT/keys.log" "$OUT/server-keys.log" "$OUT/h3-requests.tsv" "$OUT/h2-requests.tsv" "$OUT/migrate.tsv"
WORK=$(mktemp -d /tmp/wiretale-quic.XXXXXX)
chmod 755 "$WORK"

cleanup() {
  set +e
  stop_pids
  for ns in "$NS_C" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "/etc/netns/$NS_C"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ------------------------------------------------------------------ network
for ns in "$NS_C" "$NS_S"; do
  ip netns add "$ns"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$ns" ip link set lo up
done
ip link add "${P}-c" netns "$NS_C" type veth peer name "${P}-s" netns "$NS_S"
in_ns "$NS_C" ip addr add "$CLI/24" dev "${P}-c"
in_ns "$NS_S" ip addr add "$SRV/24" dev "${P}-s"
for pair in "$NS_C ${P}-c" "$NS_S ${P}-s"; do
  set -- $pair
  in_ns "$1" ip link set "$2" up
  in_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
# The client resolves the server's name through its own hosts file (bind-mounted over
# /etc/hosts by `ip netns exec`); in aioquic-migrate it asks the lab's resolver instead.
mkdir -p "/etc/netns/$NS_C"
if [ "$SCEN" = aioquic-migrate ]; then
  in_ns "$NS_S" ip addr add "$DNS/24" dev "${P}-s"
  printf '127.0.0.1 localhost\n' >"/etc/netns/$NS_C/hosts"
  echo "nameserver $DNS" >"/etc/netns/$NS_C/resolv.conf"
else
  printf '127.0.0.1 localhost\n%s %s\n' "$SRV" "$HOST" >"/etc/netns/$NS_C/hosts"
fi
for _ in $(seq 50); do in_ns "$NS_C" ping -c1 -W1 "$SRV" >/dev/null 2>&1 && break; sleep 0.1; done

# ------------------------------------------------------------------ server
mkdir -p "$WORK/www/dir1/img" "$WORK/www/static"
cat >"$WORK/www/index.html" <<HTML
<!doctype html>
<html><head><title>wiretale lab over HTTP/3</title>
<link rel="stylesheet" href="/static/site.css">
<script src="/static/app.js"></script>
</head><body>
<h1>How networks connect, over QUIC</h1>
<p>This page is served by aioquic over HTTP/3 in the lab.</p>
<img src="/dir1/img/logo.png" alt="logo">
<img src="/dir1/img/photo.png" alt="photo">
</body></html>
HTML
python3 - "$WORK/www" <<'PY'
import os, sys, random, zlib, struct
root = sys.argv[1]
rnd = random.Random(16)
def png(path, w, h):
    raw = b"".join(b"\x00" + bytes(rnd.randrange(256) for _ in range(w * 3)) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")
    open(os.path.join(root, path), "wb").write(data)
png("dir1/img/logo.png", 40, 40)
png("dir1/img/photo.png", 60, 45)
open(os.path.join(root, "static/site.css"), "w").write("body{font-family:sans-serif}\n" * 40)
open(os.path.join(root, "static/app.js"), "w").write("console.log('lab');\n" * 40)
open(os.path.join(root, "favicon.ico"), "wb").write(b"\x00\x00\x01\x00" + bytes(60))
PY
if [ "$SCEN" = chromium-altsvc ]; then
  # The raced page. nginx serves it over h2 with `Alt-Svc: h3=":443"`; the inline script
  # holds the parser for RACE_HOLD_MS of real time (a busy loop: timers would let headless
  # Chromium's load finish first), long enough for the QUIC connection Chromium starts in the
  # background once it knows the alternative service; the requests the script then adds
  # find that connection and go over HTTP/3.
  cat >"$WORK/www/race.html" <<HTML
<!doctype html>
<html><head><title>wiretale lab: h2 first, then HTTP/3</title>
<link rel="stylesheet" href="/static/site.css">
</head><body>
<h1>How networks connect, raced</h1>
<p>This page came over HTTP/2 with an Alt-Svc header; what follows it should come over QUIC.</p>
<img src="/dir1/img/logo.png" alt="logo">
<script>
const t0 = Date.now();
while (Date.now() - t0 < ${RACE_HOLD_MS:-2500}) {}
document.write('<img src="/dir1/img/photo.png" alt="photo"><script src="/static/app.js"><\/script>');
</script>
</body></html>
HTML
fi
TLSD="$WORK/tls"
mkdir -p "$TLSD"
(
  cd "$TLSD"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -sha256 \
    -subj "/O=wiretale lab/CN=wiretale lab CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
  openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/O=wiretale lab/CN=$HOST"
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$HOST" >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
    -extfile server.ext -out server.pem
  cat server.pem ca.pem >chain.pem
) >>"$LOG" 2>&1
cp "$TLSD/ca.pem" "$OUT/ca.pem"
SPKI=$(openssl x509 -in "$TLSD/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
  openssl dgst -sha256 -binary | base64)

RETRY=()
[ "$SCEN" = aioquic-retry ] && RETRY=(--retry)
ip netns exec "$NS_S" env PYTHONPATH="$HERE" LAB_WWW="$WORK/www" LAB_H3_LOG="$OUT/h3-requests.tsv" \
  "$PY" "$EX/http3_server.py" --host "$SRV" --port 443 -c "$TLSD/chain.pem" -k "$TLSD/server.key" \
  --secrets-log "$OUT/server-keys.log" "${RETRY[@]}" quic_app:app >"$WORK/server.out" 2>&1 &
SRV_PID=$!
PIDS+=($SRV_PID)
for _ in $(seq 100); do
  in_ns "$NS_S" ss -Hlun "sport = :443" 2>/dev/null | grep -q . && break
  alive "$SRV_PID" || { cat "$WORK/server.out" >&2; exit 1; }
  sleep 0.1
done
in_ns "$NS_S" ss -Hlun "sport = :443" | grep -q . || { cat "$WORK/server.out" >&2; exit 1; }

if [ "$SCEN" = chromium-altsvc ]; then
  # nginx on TCP 443, same address, same files and certificate: TLS 1.3 + h2, announcing
  # HTTP/3 on UDP 443 of the same host (RFC 7838 Alt-Svc, RFC 9114 §3.1.1).
  mkdir -p "$WORK/ngx"
  cat >"$WORK/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log error;
events { worker_connections 64; }
http {
  types { text/html html; text/css css; application/javascript js; image/png png; image/x-icon ico; }
  default_type application/octet-stream;
  log_format lab '\$remote_addr:\$remote_port\t\$connection\t\$request_method\t\$host\t\$request_uri\t\$status\t\$request_length\t\$body_bytes_sent\t\$sent_http_content_type\t\$server_protocol';
  access_log $OUT/h2-requests.tsv lab;
  keepalive_timeout 10s;
  gzip off;
  client_body_temp_path $WORK/ngx/body;
  proxy_temp_path $WORK/ngx/proxy;
  fastcgi_temp_path $WORK/ngx/fastcgi;
  uwsgi_temp_path $WORK/ngx/uwsgi;
  scgi_temp_path $WORK/ngx/scgi;
  server {
    listen $SRV:443 ssl http2;
    server_name $HOST;
    root $WORK/www;
    ssl_certificate $TLSD/chain.pem;
    ssl_certificate_key $TLSD/server.key;
    ssl_protocols TLSv1.3;
    add_header Alt-Svc 'h3=":443"; ma=86400' always;
  }
}
EOF
  ip netns exec "$NS_S" nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do in_ns "$NS_S" ss -Hltn "sport = :443" 2>/dev/null | grep -q . && break; sleep 0.1; done
  in_ns "$NS_S" ss -Hltn "sport = :443" | grep -q . || { cat "$WORK/nginx.out" "$WORK/nginx-error.log" >&2; exit 1; }
fi
if [ "$SCEN" = aioquic-migrate ]; then
  # The lab's resolver: authoritative for the lab zone (as tests/lab/lab.sh's dnsmasq).
  cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=$DNS
user=root
cache-size=0
local-ttl=300
local=/lab.glasscom.com/
host-record=$HOST,$SRV
EOF
  ip netns exec "$NS_S" dnsmasq --keep-in-foreground --conf-file="$WORK/dnsmasq.conf" --pid-file="$WORK/dnsmasq.pid" \
    >"$WORK/dnsmasq.out" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do
    [ -n "$(in_ns "$NS_C" getent hosts "$HOST" 2>/dev/null)" ] && break
    sleep 0.1
  done
  [ -n "$(in_ns "$NS_C" getent hosts "$HOST" 2>/dev/null)" ] || { cat "$WORK/dnsmasq.out" >&2; exit 1; }
fi

# ------------------------------------------------------------------ capture
CAP_ERR="$WORK/capture.err"
case "$CAPTURE" in
  wiretale)
    [ -x "$WIRETALE" ] || { echo "quic.sh: $WIRETALE not built (cargo build)" >&2; exit 1; }
    ip netns exec "$NS_C" "$WIRETALE" capture -i "${P}-c" -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    ;;
  tcpdump)
    ip netns exec "$NS_C" tcpdump -i "${P}-c" -n -s 0 -U -B 32768 -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    ;;
  *) echo "quic.sh: LAB_CAPTURE must be wiretale or tcpdump" >&2; exit 2 ;;
esac
CAP_PID=$!
PIDS+=($CAP_PID)
wait_capture "$CAP_PID" "$CAP_ERR"

C=(ip netns exec "$NS_C")
H3C=("${C[@]}" "$PY" "$EX/http3_client.py" --ca-certs "$OUT/ca.pem" --secrets-log "$OUT/keys.log")

case "$SCEN" in
  aioquic)
    step gets "aioquic http3_client: 4 GETs on one connection (index, stylesheet, image, a 404)" -- \
      "${H3C[@]}" "$O/" "$O/static/site.css" "$O/dir1/img/photo.png" "$O/nope.html"
    step post "aioquic http3_client: a POST on a second connection" -- \
      "${H3C[@]}" -d 'name=lab' "$O/api/items"
    ;;
  aioquic-retry)
    step retry "aioquic http3_client against a server that sends a Retry first: 2 GETs" -- \
      "${H3C[@]}" "$O/" "$O/dir1/img/logo.png"
    ;;
  aioquic-keyupdate)
    step keyupdate "aioquic http3_client --key-update: 3 GETs on one connection, a key update after the first response headers" -- \
      "${H3C[@]}" --key-update "$O/" "$O/dir1/img/photo.png" "$O/static/site.css"
    ;;
  aioquic-v2)
    step v2 "aioquic http3_client --negotiate-v2: starts in QUIC v1, the server moves it to v2; 2 GETs" -- \
      "${H3C[@]}" --negotiate-v2 "$O/" "$O/dir1/img/logo.png"
    ;;
  chromium)
    PROFILE=$(mktemp -d "$WORK/chrome.XXXXXX")
    step chromium "headless Chromium forced onto QUIC loads $HOST/ (a stylesheet, a script, two images)" -- \
      "${C[@]}" "$BROWSER" --headless --no-sandbox \
      --disable-gpu --no-first-run --disable-background-networking --disable-component-update \
      --disable-sync --disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,DnsOverHttps \
      --enable-quic --origin-to-force-quic-on="$HOST:443" \
      --host-resolver-rules="MAP $HOST $SRV" \
      --user-data-dir="$PROFILE" --ssl-key-log-file="$OUT/keys.log" --ignore-certificate-errors-spki-list="$SPKI" \
      --virtual-time-budget=3000 --dump-dom "$O/"
    ;;
  chromium-altsvc)
    PROFILE=$(mktemp -d "$WORK/chrome.XXXXXX")
    # No --origin-to-force-quic-on: QUIC only through the Alt-Svc header. No virtual time
    # either (the page's busy loop must take real time).
    step chromium-altsvc "headless Chromium loads $HOST/race.html over h2, learns Alt-Svc h3, later requests over QUIC" -- \
      "${C[@]}" "$BROWSER" --headless --no-sandbox \
      --disable-gpu --no-first-run --disable-background-networking --disable-component-update \
      --disable-sync --disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,DnsOverHttps \
      --enable-quic --origin-to-force-quic-on="$HOST:${RACE_UNUSED_PORT:-8443}" --host-resolver-rules="MAP $HOST $SRV" \
      --user-data-dir="$PROFILE" --ssl-key-log-file="$OUT/keys.log" --ignore-certificate-errors-spki-list="$SPKI" \
      --dump-dom "$O/race.html"
    ;;
  aioquic-migrate)
    step migrate "quic_migrate.py: lookup, GET, new connection ID, GET, new local port + connection ID, 2 GETs" -- \
      "${C[@]}" "$PY" "$HERE/quic_migrate.py" --examples "$EX" --ca-certs "$OUT/ca.pem" \
      --secrets-log "$OUT/keys.log" --steps "$OUT/migrate.tsv" \
      "$O/" "$O/static/site.css" "$O/dir1/img/photo.png" "$O/static/app.js"
    ;;
esac

sleep "${LAB_LINGER:-1}"
kill -INT "$CAP_PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$CAP_PID" || break; sleep 0.1; done
cat "$CAP_ERR" >>"$LOG"
cat "$WORK/server.out" >>"$LOG"
log "done: $OUT/lab.pcap"
echo "$OUT/lab.pcap"
