#!/bin/sh
# Regenerates tests/data/h2/h2c-upgrade.pcap and its tshark truth (h2c-upgrade.truth.tsv):
# cleartext HTTP/2 reached by the HTTP/1.1 Upgrade mechanism (RFC 7540 §3.2; RFC 9113
# §3.1 deprecates it, but curl --http2 on an http:// URL still sends it), on loopback,
# against Apache 2.4 with mod_http2 (`Protocols h2c http/1.1`; nginx does not upgrade).
# Needs root, apache2, curl, nghttp (apt nghttp2-client), tcpdump and tshark; the tests
# that use the outputs need none of them.
#
#   sh tests/data/h2/make-h2c-upgrade.sh          # capture anew, then write the truth
#   sh tests/data/h2/make-h2c-upgrade.sh truth    # only rewrite the truth
#
# Connections: curl --http2 GET (101, then the response on stream 1); curl --http2 with
# two URLs (the second request on stream 3 of the upgraded connection); nghttp -u with
# two URLs. Truth columns as make-h2c.sh (tshark 4.0.17, `-d tcp.port==PORT,http`, so
# tshark follows the 101 into HTTP/2 as it does on port 80).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=18090
export LC_ALL=C TZ=UTC
truth() {
  tshark -n -r "$here/h2c-upgrade.pcap" -d "tcp.port==$port,http" -Y http2 -T fields \
    -E separator=/t -E occurrence=a -E aggregator=, \
    -e frame.number -e tcp.stream -e tcp.srcport -e http2.streamid -e http2.type \
    -e http2.length -e http2.headers.method -e http2.headers.path \
    -e http2.headers.status > "$here/h2c-upgrade.truth.tsv"
}
if [ "${1:-}" = truth ]; then truth; exit 0; fi
work=$(mktemp -d)
cleanup() {
  [ -n "${dump_pid:-}" ] && kill "$dump_pid" 2>/dev/null || true
  [ -f "$work/httpd.pid" ] && kill "$(cat "$work/httpd.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www"
chmod 755 "$work" "$work/www"  # workers run as nobody
printf 'hello after upgrade\n' > "$work/www/index.html"
printf 'body{color:blue}\n' > "$work/www/a.css"
chmod 644 "$work/www"/*
cat > "$work/httpd.conf" <<CONF
ServerRoot "$work"
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule mime_module /usr/lib/apache2/modules/mod_mime.so
LoadModule http2_module /usr/lib/apache2/modules/mod_http2.so
Listen 127.0.0.1:$port
PidFile $work/httpd.pid
ErrorLog $work/error.log
User nobody
Group nogroup
ServerName localhost
DocumentRoot $work/www
TypesConfig /etc/mime.types
Protocols h2c http/1.1
<Directory $work/www>
  Require all granted
</Directory>
CONF
/usr/sbin/apache2 -f "$work/httpd.conf" -k start
tcpdump -i lo -s 0 -U -w "$work/h2c-upgrade.pcap" "tcp port $port" 2>/dev/null &
dump_pid=$!
sleep 1
u=http://127.0.0.1:$port
curl -s -o /dev/null --http2 "$u/index.html"
curl -s -o /dev/null -o /dev/null --http2 "$u/index.html" "$u/a.css"
nghttp -nu "$u/index.html" "$u/a.css" >/dev/null || true
sleep 1
kill "$dump_pid"; wait "$dump_pid" 2>/dev/null || true; dump_pid=
cp "$work/h2c-upgrade.pcap" "$here/h2c-upgrade.pcap"
truth
echo "wrote $here/h2c-upgrade.pcap ($(wc -c < "$here/h2c-upgrade.pcap") bytes) and h2c-upgrade.truth.tsv ($(wc -l < "$here/h2c-upgrade.truth.tsv") rows)"
