#!/bin/sh
# Regenerates tests/data/h2/h2c.pcap and its tshark truth (h2c.truth.tsv): one cleartext
# HTTP/2 connection by prior knowledge (RFC 9113 §3.3) on loopback, curl 7.88 (nghttp2)
# against nginx 1.22 (`listen PORT http2;` without ssl). Needs root, nginx, curl, tcpdump
# nghttp (apt nghttp2-client) and tshark; the tests that use the outputs need none of them.
#
#   sh tests/data/h2/make-h2c.sh          # capture anew, then write the truth
#   sh tests/data/h2/make-h2c.sh truth    # only rewrite the truth of the committed pcap
#
# The requests: five GETs multiplexed on one connection (a small file, a 100 KB file in
# several DATA frames, a 404, two more), then a POST with a body (405 from nginx's static
# handler) and a HEAD, each on its own connection.
# Truth columns (tshark 4.0.17): frame.number, tcp.stream, tcp.srcport, http2.streamid,
# http2.type, http2.length, http2.headers.method, http2.headers.path,
# http2.headers.status (one row per packet carrying HTTP/2 frames, multi-valued fields
# comma-separated in frame order).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=18089
export LC_ALL=C TZ=UTC
truth() {
  tshark -n -r "$here/h2c.pcap" -d "tcp.port==$port,http2" -Y http2 -T fields \
    -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.number -e tcp.stream -e tcp.srcport -e http2.streamid -e http2.type \
    -e http2.length -e http2.headers.method -e http2.headers.path \
    -e http2.headers.status > "$here/h2c.truth.tsv"
}
if [ "${1:-}" = truth ]; then truth; exit 0; fi
work=$(mktemp -d)
cleanup() {
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www" "$work/tmp"
chmod 755 "$work"  # nginx workers run as nobody
printf 'hello over h2c\n' > "$work/www/index.html"
# Deterministic 100 KB body (not random: the pcap stays reproducible in size).
i=0; : > "$work/www/big.txt"
while [ $i -lt 1600 ]; do printf '%063d\n' $i >> "$work/www/big.txt"; i=$((i+1)); done
printf 'body{color:red}\n' > "$work/www/a.css"
printf 'console.log(1)\n' > "$work/www/b.js"
cat > "$work/nginx.conf" <<CONF
daemon on;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $work/tmp;
  proxy_temp_path $work/tmp; fastcgi_temp_path $work/tmp;
  uwsgi_temp_path $work/tmp; scgi_temp_path $work/tmp;
  types { text/html html; text/plain txt; text/css css; application/javascript js; }
  server {
    listen 127.0.0.1:$port http2;
    root $work/www;
  }
}
CONF
nginx -c "$work/nginx.conf"
tcpdump -i lo -s 0 -U -w "$work/h2c.pcap" "tcp port $port" 2>/dev/null &
dump_pid=$!
sleep 1
u=http://127.0.0.1:$port
# nghttp (nghttp2-client) multiplexes five requests on one connection, with PRIORITY
# frames and padded HEADERS (-b); curl 7.88 fails to reuse a prior-knowledge connection
# ("Error in the HTTP2 framing layer"), so curl makes one request per connection.
nghttp -n -b 7 "$u/index.html" "$u/big.txt" "$u/missing" "$u/a.css" "$u/b.js" >/dev/null
curl -s -o /dev/null --http2-prior-knowledge -d 'a=1&b=2' "$u/index.html"
curl -s -o /dev/null --http2-prior-knowledge -I "$u/b.js"
sleep 1
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
cp "$work/h2c.pcap" "$here/h2c.pcap"
truth
echo "wrote $here/h2c.pcap ($(wc -c < "$here/h2c.pcap") bytes) and h2c.truth.tsv ($(wc -l < "$here/h2c.truth.tsv") rows)"
