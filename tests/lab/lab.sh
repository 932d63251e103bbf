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
# HTTPS (only when an HTTPS scenario is asked for): nginx also serves TLS on addresses of
# their own, so :443 on the web server above stays closed as before:
#   secure.lab.glasscom.com 198.18.1.90 and assets.lab.glasscom.com 198.18.1.92: TLS 1.3
#     (and 1.2) with HTTP/2, session tickets; key-share groups X25519 and P-256 only
#   legacy.lab.glasscom.com 198.18.1.91: TLS 1.2 only (GCM, ChaCha20-Poly1305 and CBC
#     suites), HTTP/2 and HTTP/1.1
# The certificates come from a throwaway CA that openssl makes on every run (OUTDIR/ca.pem;
# nothing secret is committed). Every HTTPS client writes its secrets to OUTDIR/keys.log
# (curl through SSLKEYLOGFILE, Chromium through --ssl-key-log-file).
#
# Usage:  tests/lab/lab.sh OUTDIR [SCENARIO...]
#   OUTDIR gets lab.pcap, steps.tsv (what each step did, for the tests), lab.log, and for
#   HTTPS keys.log and ca.pem.
#   SCENARIO: all (default: everything below but https-bulk), curl, browser, page (curl +
#   browser page load only); https (every curl HTTPS step) or one of them: tls13-h2,
#   tls13-h1, tls13-aes128, tls13-aes256, tls13-chacha, tls12-gcm, tls12-chacha, tls12-cbc,
#   resumed, tls12-resumed, hrr; https-page (headless Chromium loads an HTTPS page over h2);
#   https-bulk (the benchmark's traffic: LAB_BULK_MB megabytes over h2 and HTTP/1.1).
# Env:    LAB_CAPTURE="wiretale" (default; the built binary, WIRETALE=path) or "tcpdump"
#         WIRETALE=path/to/wiretale   LAB_PREFIX=name prefix for namespaces (default wt$$)
#
# Needs root, iproute2, dnsmasq, nginx, curl, and openssl for HTTPS (tests/setup.sh installs them). Every loop is
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
# HTTPS servers (addresses of their own: nothing listens on $WEB:443)
WEBS=198.18.1.90 WEBS12=198.18.1.91 WEBS2=198.18.1.92
HTTPS_STEPS=(tls13-h2 tls13-h1 tls13-aes128 tls13-aes256 tls13-chacha tls12-gcm tls12-chacha tls12-cbc
  resumed tls12-resumed hrr)

# want NAME: was NAME asked for, by itself or through `all` / `https`?
want() {
  local s h
  for s in "${SCENARIOS[@]}"; do
    [ "$s" = "$1" ] && return 0
    [ "$s" = all ] && [ "$1" != https-bulk ] && return 0
    if [ "$s" = https ]; then for h in "${HTTPS_STEPS[@]}"; do [ "$h" = "$1" ] && return 0; done; fi
  done
  return 1
}
WANT_TLS=
for t in "${HTTPS_STEPS[@]}" https-page https-bulk; do want "$t" && WANT_TLS=1; done

[ "$(id -u)" = 0 ] || { echo "lab.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip dnsmasq nginx curl; do
  command -v "$t" >/dev/null || { echo "lab.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done
if [ -n "$WANT_TLS" ]; then
  command -v openssl >/dev/null || { echo "lab.sh: missing openssl (run tests/setup.sh)" >&2; exit 77; }
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/lib.sh"
WORK=$(mktemp -d /tmp/wiretale-lab.XXXXXX)
chmod 755 "$WORK"

cleanup() {
  set +e
  stop_pids
  for ns in "$NS_C" "$NS_D" "$NS_R" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "/etc/netns/$NS_C"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


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
if [ -n "$WANT_TLS" ]; then
  for a in "$WEBS" "$WEBS12" "$WEBS2"; do in_ns "$NS_S" ip addr add "$a/24" dev "${P}-s"; done
fi
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
if [ -n "$WANT_TLS" ]; then
  # The HTTPS page: subresources from its own host and from a second host on another
  # address (so the browser opens two h2 connections).
  cat >"$WORK/www/page.html" <<HTML
<!doctype html>
<html><head><title>wiretale lab over HTTPS</title>
<link rel="stylesheet" href="/static/site.css">
<script src="https://assets.$ZONE/static/app.js"></script>
</head><body>
<h1>How networks connect, privately</h1>
<p>This page is served by nginx over TLS 1.3 and HTTP/2 in the lab.</p>
<img src="/dir1/img/logo.png" alt="logo">
<img src="https://assets.$ZONE/dir1/img/photo.png" alt="photo">
<a href="/dir1/file.html">more</a>
</body></html>
HTML
  # A throwaway CA and server certificate, made anew on every run (nothing secret is kept).
  TLSD="$WORK/tls"
  mkdir -p "$TLSD"
  (
    cd "$TLSD"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -sha256 \
      -subj "/O=wiretale lab/CN=wiretale lab CA" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj "/O=wiretale lab/CN=secure.$ZONE"
    printf 'subjectAltName=DNS:secure.%s,DNS:assets.%s,DNS:legacy.%s\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
      "$ZONE" "$ZONE" "$ZONE" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 \
      -extfile server.ext -out server.pem
    cat server.pem ca.pem >chain.pem
  ) >>"$LOG" 2>&1
  cp "$TLSD/ca.pem" "$OUT/ca.pem"
  # What Chromium is told to trust (base64 SHA-256 of the server key's SubjectPublicKeyInfo).
  SPKI=$(openssl x509 -in "$TLSD/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | base64)
  mkdir -p "$WORK/ngx-tls"
  cat >"$WORK/ngx-tls/https.conf" <<EOF
  # TLS 1.3 (and 1.2) with HTTP/2; tickets and a session cache for resumption; only X25519
  # and P-256 key shares, so a client offering another group first gets a HelloRetryRequest.
  server {
    listen $WEBS:443 ssl http2;
    listen $WEBS2:443 ssl http2;
    server_name secure.$ZONE assets.$ZONE;
    root $WORK/www;
    ssl_certificate $TLSD/chain.pem;
    ssl_certificate_key $TLSD/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_session_cache shared:TLS13:1m;
    ssl_session_tickets on;
    location /api/ { default_type application/json; return 201 '{"ok":true}\n'; }
  }
  # TLS 1.2 only: AES-GCM, ChaCha20-Poly1305 and AES-CBC suites, HTTP/2 and HTTP/1.1.
  server {
    listen $WEBS12:443 ssl http2;
    server_name legacy.$ZONE;
    root $WORK/www;
    ssl_certificate $TLSD/chain.pem;
    ssl_certificate_key $TLSD/server.key;
    ssl_protocols TLSv1.2;
    ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES128-SHA;
    ssl_ecdh_curve X25519:prime256v1;
    ssl_session_cache shared:TLS12:1m;
    ssl_session_tickets on;
  }
EOF
fi
if want https-bulk; then
  # The benchmark's bodies: LAB_BULK_FILES files of varied sizes and kinds (random bytes,
  # compressible text, JSON), fetched again and again by the https-bulk step.
  mkdir -p "$WORK/www/bulk"
  python3 - "$WORK/www/bulk" "${LAB_BULK_FILES:-40}" <<'PY'
import os, sys, random
root, n = sys.argv[1], int(sys.argv[2])
rnd = random.Random(15)
words = "story packet stream record handshake header frame window cipher secret".split()
for i in range(n):
    size = rnd.choice([700, 3000, 12000, 40000, 150000, 600000, 1500000])
    kind = i % 3
    if kind == 0:
        data = rnd.randbytes(size)
        name = f"blob{i}.bin"
    elif kind == 1:
        data = (" ".join(rnd.choice(words) for _ in range(size // 6 + 1))).encode()[:size]
        name = f"text{i}.txt"
    else:
        data = ("[" + ",".join('{"id":%d,"v":"%s"}' % (j, rnd.choice(words)) for j in range(size // 20 + 1)) + "]").encode()[:size]
        name = f"data{i}.json"
    open(os.path.join(root, name), "wb").write(data)
PY
fi
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
  # the HTTPS servers, when an HTTPS scenario was asked for (an empty glob is no error)
  include $WORK/ngx-tls/*.conf;
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
# HTTPS servers (only answered; nothing listens there unless an HTTPS scenario runs)
host-record=secure.$ZONE,$WEBS
host-record=legacy.$ZONE,$WEBS12
host-record=assets.$ZONE,$WEBS2
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
    ip netns exec "$NS_C" tcpdump -i "${P}-c" -n -s 0 -U -B 32768 -w "$OUT/lab.pcap" >"$WORK/capture.out" 2>"$CAP_ERR" &
    CAP_PID=$!
    ;;
  *) echo "lab.sh: LAB_CAPTURE must be wiretale or tcpdump" >&2; exit 2 ;;
esac
PIDS+=($CAP_PID)
wait_capture "$CAP_PID" "$CAP_ERR"

C=(ip netns exec "$NS_C")
CURL=(curl -sS -o /dev/null --max-time 10 -A wiretale-lab/1)

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

# ------------------------------------------------------------------ HTTPS
# Every HTTPS client appends its secrets to keys.log (NSS key log format).
KEYS="$OUT/keys.log"
S=https://secure.$ZONE L=https://legacy.$ZONE
CURLS=(env SSLKEYLOGFILE="$KEYS" curl -sS --max-time 10 -A wiretale-lab/1 --cacert "$OUT/ca.pem")
# nulls URL...: each URL followed by `-o /dev/null` (curl writes one output per URL)
nulls() { local u; for u in "$@"; do printf '%s\n-o\n/dev/null\n' "$u"; done; }
curl_step() { # curl_step NAME DETAIL -- curl-args... -- urls...
  local name=$1 detail=$2 args=() urls=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  mapfile -t urls < <(nulls "$@")
  step "$name" "$detail" -- "${C[@]}" "${CURLS[@]}" "${args[@]}" "${urls[@]}"
}
if want tls13-h2; then
  # five requests multiplexed on one h2 connection (-Z), then a POST on the same connection
  step tls13-h2 "TLS 1.3 + h2 to secure: 5 GETs multiplexed (a 404, a gzip'd stylesheet, a 3-record image), then a POST" -- \
    "${C[@]}" "${CURLS[@]}" --compressed -Z $(nulls "$S/index.html" "$S/static/site.css" "$S/dir1/img/photo.png" \
      "$S/dir1/file.html" "$S/nope.html") --next -o /dev/null -A wiretale-lab/1 --cacert "$OUT/ca.pem" -d name=lab "$S/api/items"
fi
want tls13-h1 && curl_step tls13-h1 "TLS 1.3 + HTTP/1.1 to secure: two GETs on one keep-alive connection" -- \
  --http1.1 -- "$S/index.html" "$S/dir1/img/photo.png"
want tls13-aes128 && curl_step tls13-aes128 "TLS 1.3 TLS_AES_128_GCM_SHA256 + h2" -- \
  --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 -- "$S/static/app.js"
want tls13-aes256 && curl_step tls13-aes256 "TLS 1.3 TLS_AES_256_GCM_SHA384 + h2" -- \
  --tlsv1.3 --tls13-ciphers TLS_AES_256_GCM_SHA384 -- "$S/static/app.js"
want tls13-chacha && curl_step tls13-chacha "TLS 1.3 TLS_CHACHA20_POLY1305_SHA256 + h2" -- \
  --tlsv1.3 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 -- "$S/static/app.js"
want tls12-gcm && curl_step tls12-gcm "TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 + h2 to legacy: two GETs" -- \
  --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -- "$L/index.html" "$L/dir1/img/photo.png"
want tls12-chacha && curl_step tls12-chacha "TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305 + h2 to legacy" -- \
  --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305 -- "$L/index.html" "$L/static/app.js"
want tls12-cbc && curl_step tls12-cbc "TLS 1.2 ECDHE-RSA-AES128-SHA256 (CBC, encrypt-then-MAC) + HTTP/1.1 to legacy" -- \
  --http1.1 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-SHA256 -- "$L/index.html" "$L/dir1/file.html"
want resumed && curl_step resumed "TLS 1.3 + HTTP/1.1, Connection: close: the second connection resumes with a ticket (PSK)" -- \
  --http1.1 -H 'Connection: close' -- "$S/index.html" "$S/dir1/file.html"
want tls12-resumed && curl_step tls12-resumed "TLS 1.2 GCM + HTTP/1.1, Connection: close: the second connection resumes by session id (curl offers no TLS 1.2 ticket)" -- \
  --http1.1 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256 -H 'Connection: close' -- "$L/index.html" "$L/dir1/file.html"
want hrr && curl_step hrr "TLS 1.3 + h2, key share X448 first: the server asks again for X25519 (HelloRetryRequest)" -- \
  --curves X448:X25519 -- "$S/index.html"
if want https-page; then
  BROWSER=$(command -v chromium || command -v chromium-browser || true)
  if [ -n "$BROWSER" ]; then
    PROFILE=$(mktemp -d "$WORK/chrome.XXXXXX")
    step https-page "headless Chromium loads secure/page.html over TLS 1.3 + h2 (subresources from secure and assets)" -- \
      "${C[@]}" "$BROWSER" --headless --no-sandbox \
      --disable-gpu --disable-quic --no-first-run --disable-background-networking --disable-component-update \
      --disable-sync --disable-features=HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,DnsOverHttps \
      --user-data-dir="$PROFILE" --ssl-key-log-file="$KEYS" --ignore-certificate-errors-spki-list="$SPKI" \
      --virtual-time-budget=3000 --dump-dom "$S/page.html"
  else
    printf 'https-page\t%s\t%s\tskipped: chromium not installed rc=0\n' "$(now)" "$(now)" >>"$STEPS"
  fi
fi
if want https-bulk; then
  # The benchmark: LAB_BULK_MB megabytes of bodies in rounds of every bulk file, each round a
  # curl run with its own connection(s): h2 over TLS 1.3, HTTP/1.1 over TLS 1.3 (4 parallel
  # connections), h2 over TLS 1.2 GCM, HTTP/1.1 over TLS 1.2 ChaCha20 (4 parallel).
  mapfile -t BULK < <(cd "$WORK/www/bulk" && ls)
  round_bytes=$(cd "$WORK/www/bulk" && cat -- * | wc -c)
  rounds=$(((${LAB_BULK_MB:-320} * 1000000 + round_bytes - 1) / round_bytes))
  log "bulk: ${#BULK[@]} files, $round_bytes bytes a round, $rounds rounds"
  for r in $(seq "$rounds"); do
    case $((r % 4)) in
      1) host=$S args=(-Z) ;;
      2) host=$S args=(-Z --parallel-max 4 --http1.1) ;;
      3) host=$L args=(-Z --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256) ;;
      0) host=$L args=(-Z --parallel-max 4 --http1.1 --tls-max 1.2 --ciphers ECDHE-RSA-CHACHA20-POLY1305) ;;
    esac
    urls=()
    for f in "${BULK[@]}"; do urls+=("$host/bulk/$f"); done
    STEP_TIMEOUT=300 curl_step "bulk$r" "round $r: ${args[*]}" -- --max-time 280 "${args[@]}" -- "${urls[@]}"
  done
fi

# Let connections close (nginx keepalive_timeout 5 s closes idle ones from the server side).
sleep "${LAB_LINGER:-1}"
kill -INT "$CAP_PID" 2>/dev/null || true
for _ in $(seq 100); do alive "$CAP_PID" || break; sleep 0.1; done
cat "$CAP_ERR" >>"$LOG"
log "done: $OUT/lab.pcap"
echo "$OUT/lab.pcap"
