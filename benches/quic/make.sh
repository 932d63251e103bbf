#!/usr/bin/env bash
# The QUIC benchmark captures (issue 16, item 7): the same HTTP bytes fetched twice between
# two network namespaces, once over HTTP/3 (QUIC v1) and once over HTTP/2 on TCP + TLS 1.3,
# each captured by tcpdump -s 0 on the client's interface with the clients' key log.
#
#   client 198.18.4.10  ── veth ──  server 198.18.4.80 (bench.lab.glasscom.com)
#                                   UDP 443: aioquic's examples/http3_server.py
#                                            (ASGI app tests/lab/quic_app.py)
#                                   TCP 443: nginx, TLS 1.3 only, http2, same files
#
# The bodies: BIG_FILES large files of random bytes (sized so the total reaches BENCH_MB)
# and SMALL_FILES small ones (600 B to 60 KB; random bytes, text, JSON). BENCH_CONNS
# connections, BENCH_PAR at a time; connection j fetches two large files and SMALL_PER_CONN
# small ones, every request of a connection in flight at once (aioquic's http3_client.py
# gathers them; curl -Z multiplexes them on one h2 connection). The same URL lists drive both
# phases, and the servers' own logs are checked: every request 200, the same body bytes.
#
# Usage:  benches/quic/make.sh [OUTDIR]     (root; OUTDIR defaults to /var/tmp/wiretale-bench)
#   OUTDIR gets quic-h3.pcap + quic-h3.keys (aioquic's NSS key log), tls-h2.pcap + tls-h2.keys
#   (curl's SSLKEYLOGFILE), make.tsv (one row per phase: wall time, connections, requests,
#   body bytes, packets, capture bytes, packets dropped) and make.log. Not committed: the
#   captures are ~250 MB each. Then benches/quic/run.sh times wiretale on them.
# Env:    BENCH_MB=210 (body megabytes per phase, 10^6)  BENCH_CONNS=10  BENCH_PAR=2
#         SMALL_PER_CONN=60  BENCH_TIMEOUT=300 (seconds a phase may take)
#         BENCH_DGRAM=1350 (QUIC max datagram size both ends; aioquic's default is 1200)
#         WIRETALE_LAB_DIR=/opt/wiretale-lab (the aioquic venv and examples, tests/setup.sh)
#         LAB_PREFIX=name prefix for the namespaces (default wqb$$)
#
# Needs root, iproute2, openssl, nginx, curl, tcpdump, the aioquic venv. Every loop is
# bounded; processes are stopped by PID and the namespaces removed on exit, even on failure.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-/var/tmp/wiretale-bench}
MB=${BENCH_MB:-210}
CONNS=${BENCH_CONNS:-10}
PAR=${BENCH_PAR:-2}
SMALL_PER_CONN=${SMALL_PER_CONN:-60}
PHASE_TIMEOUT=${BENCH_TIMEOUT:-300}
DGRAM=${BENCH_DGRAM:-1350}
LABDIR=${WIRETALE_LAB_DIR:-/opt/wiretale-lab}
PY=$LABDIR/venv/bin/python
EX=$LABDIR/aioquic-1.7.2/examples
P=${LAB_PREFIX:-wqb$$}
NS_C=${P}c NS_S=${P}s
CLI=198.18.4.10 SRV=198.18.4.80
HOST=bench.lab.glasscom.com

[ "$(id -u)" = 0 ] || { echo "make.sh: needs root (network namespaces)" >&2; exit 77; }
for t in ip openssl nginx curl tcpdump timeout; do
  command -v "$t" >/dev/null || { echo "make.sh: missing $t (run tests/setup.sh)" >&2; exit 77; }
done
[ -x "$PY" ] && [ -f "$EX/http3_server.py" ] || { echo "make.sh: missing aioquic in $LABDIR (run tests/setup.sh)" >&2; exit 77; }

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT/quic-h3.pcap" "$OUT/quic-h3.keys" "$OUT/tls-h2.pcap" "$OUT/tls-h2.keys"
WORK=$(mktemp -d /tmp/wiretale-quicbench.XXXXXX)
chmod 755 "$WORK"
LOG="$OUT/make.log"
: >"$LOG"
log() { echo "[$(date +%T.%3N)] $*" | tee -a "$LOG" >&2; }

alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
PIDS=()
# stop PID: SIGINT/TERM, wait (bounded), then KILL.
stop() {
  local p=$1 sig=${2:-TERM}
  kill -"$sig" "$p" 2>/dev/null || true
  for _ in $(seq 100); do alive "$p" || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}
cleanup() {
  set +e
  for p in "${PIDS[@]}"; do stop "$p"; done
  for ns in "$NS_C" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "/etc/netns/$NS_C"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
now() { date +%s.%N; }

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
  # Wire-like frames: no segmentation offload, so TCP segments are <= MTU as on a link.
  in_ns "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
done
# Big socket buffers: Python's UDP loop must not lose datagrams to a full receive queue.
for ns in "$NS_C" "$NS_S"; do
  in_ns "$ns" sysctl -qw net.core.rmem_max=8388608 net.core.rmem_default=8388608 \
    net.core.wmem_max=8388608 net.core.wmem_default=8388608 2>/dev/null || true
done
mkdir -p "/etc/netns/$NS_C"
printf '127.0.0.1 localhost\n%s %s\n' "$SRV" "$HOST" >"/etc/netns/$NS_C/hosts"
for _ in $(seq 50); do in_ns "$NS_C" ping -c1 -W1 "$SRV" >/dev/null 2>&1 && break; sleep 0.1; done

# ------------------------------------------------------------------ content + URL lists
WWW=$WORK/www
mkdir -p "$WWW/bench" "$WORK/lists"
python3 - "$WWW/bench" "$WORK/lists" "$MB" "$CONNS" "$SMALL_PER_CONN" <<'PY' >>"$LOG"
import os, sys, random
root, lists, mb, conns, small_per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rnd = random.Random(16)
words = "quic stream frame packet header crypto handshake window datagram path".split()
small = []
for i in range(max(small_per * 3, 1)):
    size = rnd.choice([600, 1500, 4000, 9000, 20000, 40000, 60000])
    kind = i % 3
    if kind == 0:
        data, name = rnd.randbytes(size), f"s{i:03d}.bin"
    elif kind == 1:
        data = (" ".join(rnd.choice(words) for _ in range(size // 6 + 1))).encode()[:size]
        name = f"s{i:03d}.txt"
    else:
        data = ("[" + ",".join('{"id":%d,"v":"%s"}' % (j, rnd.choice(words)) for j in range(size // 20 + 1)) + "]").encode()[:size]
        name = f"s{i:03d}.json"
    open(os.path.join(root, name), "wb").write(data)
    small.append((name, len(data)))
plan = []
for j in range(conns):
    pick = [small[(j * small_per + k) % len(small)] for k in range(small_per)]
    plan.append(pick)
small_total = sum(s for p in plan for _, s in p)
nbig = 2 * conns
big = max(1, -(-(mb * 10**6 - small_total) // nbig))
# six distinct large files, each fetched by several connections
bigs = []
for i in range(6):
    name = f"big{i}.bin"
    open(os.path.join(root, name), "wb").write(rnd.randbytes(big))
    bigs.append((name, big))
total = small_total
for j in range(conns):
    reqs = [bigs[(2 * j) % 6], bigs[(2 * j + 1) % 6]] + plan[j]
    total += 2 * big
    with open(os.path.join(lists, f"conn{j:02d}"), "w") as f:
        f.write("".join(f"/bench/{n}\n" for n, _ in reqs))
print(f"content: {conns} connections, {2 + small_per} requests each, large files {big} B, body bytes {total}")
PY
tail -1 "$LOG" >&2

# ------------------------------------------------------------------ TLS (a throwaway CA)
TLSD=$WORK/tls
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

# ------------------------------------------------------------------ servers
H3LOG=$WORK/h3-requests.tsv
ip netns exec "$NS_S" env PYTHONPATH="$ROOT/tests/lab" LAB_WWW="$WWW" LAB_H3_LOG="$H3LOG" \
  "$PY" "$EX/http3_server.py" --host "$SRV" --port 443 -c "$TLSD/chain.pem" -k "$TLSD/server.key" \
  --max-datagram-size "$DGRAM" quic_app:app >"$WORK/h3server.out" 2>&1 &
PIDS+=($!)
H3_PID=$!
mkdir -p "$WORK/ngx"
cat >"$WORK/nginx.conf" <<EOF
user root;
daemon off;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log error;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  log_format bench '\$connection\t\$server_protocol\t\$request_uri\t\$status\t\$body_bytes_sent';
  access_log $WORK/access.log bench;
  keepalive_timeout 5s;
  gzip off;
  client_body_temp_path $WORK/ngx/body;
  proxy_temp_path $WORK/ngx/proxy;
  fastcgi_temp_path $WORK/ngx/fastcgi;
  uwsgi_temp_path $WORK/ngx/uwsgi;
  scgi_temp_path $WORK/ngx/scgi;
  server {
    listen $SRV:443 ssl http2;
    server_name $HOST;
    root $WWW;
    ssl_certificate $TLSD/chain.pem;
    ssl_certificate_key $TLSD/server.key;
    ssl_protocols TLSv1.3;
    http2_max_concurrent_streams 128;
  }
}
EOF
ip netns exec "$NS_S" nginx -c "$WORK/nginx.conf" -p "$WORK" >"$WORK/nginx.out" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
  in_ns "$NS_S" ss -Hlun "sport = :443" 2>/dev/null | grep -q . &&
    in_ns "$NS_S" ss -Hltn "sport = :443" 2>/dev/null | grep -q . && break
  alive "$H3_PID" || break
  sleep 0.1
done
in_ns "$NS_S" ss -Hlun "sport = :443" | grep -q . || { cat "$WORK/h3server.out" >&2; exit 1; }
in_ns "$NS_S" ss -Hltn "sport = :443" | grep -q . || { cat "$WORK/nginx.out" "$WORK/nginx-error.log" >&2; exit 1; }

# ------------------------------------------------------------------ phases
printf 'capture\twall_s\tconnections\trequests\tnon_200\tbody_bytes\tpackets\tcapture_bytes\tdropped\n' >"$OUT/make.tsv"
# run_clients NAME: the client command of one connection is `client_NAME LISTFILE`;
# BENCH_PAR at a time, the phase bounded by PHASE_TIMEOUT.
run_clients() {
  local name=$1 j list pids=() rc=0 p deadline
  deadline=$(($(date +%s) + PHASE_TIMEOUT))
  for list in "$WORK"/lists/conn*; do
    while [ "${#pids[@]}" -ge "$PAR" ]; do
      local keep=()
      for p in "${pids[@]}"; do
        if alive "$p"; then keep+=("$p"); else wait "$p" || rc=1; fi
      done
      pids=("${keep[@]}")
      [ "${#pids[@]}" -ge "$PAR" ] && sleep 0.05
      [ "$(date +%s)" -lt "$deadline" ] || { log "$name: phase timeout"; rc=1; break 2; }
    done
    j=$(basename "$list")
    "client_$name" "$list" >>"$WORK/$name.$j.out" 2>&1 &
    pids+=($!)
    PIDS+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}
client_h3() {
  local urls=()
  mapfile -t urls < <(sed "s|^|https://$HOST|" "$1")
  # exec: the background job's PID is timeout's, which passes a TERM on to the client
  exec timeout -k 2 "$PHASE_TIMEOUT" ip netns exec "$NS_C" "$PY" "$EX/http3_client.py" --ca-certs "$TLSD/ca.pem" \
    --secrets-log "$OUT/quic-h3.keys" --max-datagram-size "$DGRAM" \
    --max-data 16777216 --max-stream-data 4194304 "${urls[@]}"
}
client_h2() {
  local args=() u
  while read -r u; do args+=("https://$HOST$u" -o /dev/null); done <"$1"
  exec timeout -k 2 "$PHASE_TIMEOUT" ip netns exec "$NS_C" env SSLKEYLOGFILE="$OUT/tls-h2.keys" curl -sS --http2 --tlsv1.3 \
    --cacert "$TLSD/ca.pem" -Z --parallel-max 100 --max-time "$PHASE_TIMEOUT" "${args[@]}"
}
# phase NAME PROTO: capture PROTO port 443 while the NAME clients run.
phase() {
  local name=$1 proto=$2 file cap_pid t0 t1 rc=0 stats
  file=$OUT/$([ "$name" = h3 ] && echo quic-h3 || echo tls-h2).pcap
  ip netns exec "$NS_C" tcpdump -i "${P}-c" -n -s 0 -B 262144 -w "$file" "$proto port 443" \
    >"$WORK/tcpdump.$name.out" 2>"$WORK/tcpdump.$name.err" &
  cap_pid=$!
  PIDS+=($cap_pid)
  for _ in $(seq 100); do
    grep -q "listening on" "$WORK/tcpdump.$name.err" 2>/dev/null && break
    alive "$cap_pid" || { cat "$WORK/tcpdump.$name.err" >&2; exit 1; }
    sleep 0.1
  done
  sleep 0.3
  t0=$(now)
  run_clients "$name" || rc=1
  t1=$(now)
  sleep 1
  stop "$cap_pid" INT
  cat "$WORK/tcpdump.$name.err" >>"$LOG"
  cat "$WORK"/"$name".conn*.out >>"$LOG" 2>/dev/null || true
  [ $rc = 0 ] || { log "$name: a client failed (see $LOG)"; exit 1; }
  # the server's own view of the phase: requests, non-200 answers, body bytes, connections
  if [ "$name" = h3 ]; then
    stats=$(awk -F'\t' '{ n++; if ($6 != 200) bad++; b += $8; c[$1] = 1 } END { printf "%d\t%d\t%d\t%d", length(c), n, bad, b }' "$H3LOG")
  else
    stats=$(awk -F'\t' '{ n++; if ($4 != 200) bad++; b += $5; c[$1] = 1 } END { printf "%d\t%d\t%d\t%d", length(c), n, bad, b }' "$WORK/access.log")
  fi
  local pk dr
  pk=$(grep -o '^[0-9]* packets captured' "$WORK/tcpdump.$name.err" | cut -d' ' -f1)
  dr=$(grep -o '^[0-9]* packets dropped by kernel' "$WORK/tcpdump.$name.err" | cut -d' ' -f1)
  printf '%s\t%.1f\t%s\t%s\t%s\t%s\n' "$(basename "$file")" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$stats" "$pk" \
    "$(stat -c %s "$file")" "$dr" >>"$OUT/make.tsv"
  log "$name: $(tail -1 "$OUT/make.tsv")"
}
log "phase h3 (aioquic, $CONNS connections, $PAR at a time)"
phase h3 udp
log "phase h2 (nginx + curl, the same URL lists)"
phase h2 tcp

# ------------------------------------------------------------------ checks
column -t -s $'\t' "$OUT/make.tsv" | tee -a "$LOG" >&2
awk -F'\t' -v mb="$MB" -v conns="$CONNS" '
  NR == 1 { next }
  { if ($5 != 0) { print "make.sh: " $1 ": " $5 " answers were not 200"; bad = 1 }
    if ($3 != conns) { print "make.sh: " $1 ": " $3 " connections, expected " conns; bad = 1 }
    if ($6 < mb * 1000000) { print "make.sh: " $1 ": only " $6 " body bytes"; bad = 1 }
    if ($8 < mb * 1000000) { print "make.sh: " $1 ": a capture of only " $8 " bytes"; bad = 1 }
    if ($9 != 0) { print "make.sh: " $1 ": tcpdump dropped " $9 " packets"; bad = 1 }
    body[NR] = $6 }
  END { if (body[2] != body[3]) { print "make.sh: the two phases moved different body bytes"; bad = 1 }
        exit bad }' "$OUT/make.tsv" >&2
for k in quic-h3 tls-h2; do
  [ -s "$OUT/$k.keys" ] || { echo "make.sh: no key log $OUT/$k.keys" >&2; exit 1; }
done
log "quic-h3.keys: $(grep -c '^CLIENT_TRAFFIC_SECRET_0' "$OUT/quic-h3.keys") connections;" \
  "tls-h2.keys: $(grep -c '^CLIENT_TRAFFIC_SECRET_0' "$OUT/tls-h2.keys") connections"
ls -l "$OUT" >&2
