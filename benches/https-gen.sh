#!/usr/bin/env bash
# The HTTPS benchmark capture (issue 15, item 7): the lab's nginx serves LAB_BULK_MB
# (default 320) megabytes of varied bodies (random bytes, text, JSON; 700 B to 1.5 MB) to
# curl over h2 and HTTP/1.1, on TLS 1.3 and TLS 1.2 (AES-GCM and ChaCha20-Poly1305), many
# connections, captured by tcpdump on the client's interface with the key log curl wrote.
# Then tshark decrypts it once and we print its wall time and peak memory, and — when the
# built wiretale knows `--tls-keylog` — the same for `wiretale story --tls-keylog`.
#
# Usage:  benches/https-gen.sh OUTDIR        (root; not committed: the capture is ~350 MB)
#   OUTDIR gets https-bulk.pcap, https-bulk.keys, lab.log, steps.tsv, bench.tsv.
# Env:    LAB_BULK_MB=320  WIRETALE=target/release/wiretale  SKIP_TSHARK=1
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: benches/https-gen.sh OUTDIR}
MB=${LAB_BULK_MB:-320}
WIRETALE=${WIRETALE:-$ROOT/target/release/wiretale}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
for t in tcpdump /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "https-gen.sh: missing $t" >&2; exit 77; }
done

t0=$(date +%s)
LAB_CAPTURE=tcpdump LAB_BULK_MB=$MB LAB_PREFIX="wtb$$" "$ROOT/tests/lab/lab.sh" "$OUT/lab" https-bulk >/dev/null
mv "$OUT/lab/lab.pcap" "$OUT/https-bulk.pcap"
mv "$OUT/lab/keys.log" "$OUT/https-bulk.keys"
mv "$OUT/lab/lab.log" "$OUT/lab/steps.tsv" "$OUT/"
rm -rf "$OUT/lab"
F=$OUT/https-bulk.pcap K=$OUT/https-bulk.keys
bytes=$(stat -c %s "$F")
failed=$(grep -c 'rc=[1-9]' "$OUT/steps.tsv" || true)
dropped=$(grep -o '[0-9]* packets dropped by kernel' "$OUT/lab.log" || echo '? packets dropped by kernel')
echo "capture: $F  $((bytes / 1000000)) MB  made in $(($(date +%s) - t0)) s;" \
  "$(grep -c '^bulk' "$OUT/steps.tsv") curl rounds ($failed failed); $dropped;" \
  "key log: $(grep -c CLIENT_TRAFFIC_SECRET_0 "$K") TLS 1.3 + $(grep -c CLIENT_RANDOM "$K") TLS 1.2 sessions"
[ "$bytes" -ge 300000000 ] || { echo "https-gen.sh: capture under 300 MB" >&2; exit 1; }
[ "$failed" = 0 ] || { echo "https-gen.sh: a curl round failed (see $OUT/lab.log)" >&2; exit 1; }

# measure NAME OUTFILE command...: wall seconds and peak RSS (KiB) from GNU time -v
printf 'tool\twall_s\tpeak_rss_kib\toutput_lines\tcommand\n' >"$OUT/bench.tsv"
measure() {
  local name=$1 out=$2 wall rss
  shift 2
  /usr/bin/time -v -o "$OUT/$name.time" "$@" >"$out" 2>"$OUT/$name.err" || {
    echo "https-gen.sh: $name failed:" >&2
    tail -5 "$OUT/$name.err" >&2
    return 1
  }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + a[i]; print s }' "$OUT/$name.time")
  rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/$name.time")
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$wall" "$rss" "$(wc -l <"$out")" "$*" >>"$OUT/bench.tsv"
}
if [ -z "${SKIP_TSHARK:-}" ] && command -v tshark >/dev/null; then
  measure tshark "$OUT/tshark.out" tshark -o "tls.keylog_file:$K" -r "$F" -Y http2 -T fields \
    -e http2.streamid -e http2.headers.path
fi
if [ -x "$WIRETALE" ] && "$WIRETALE" story --help 2>/dev/null | grep -q -- --tls-keylog; then
  measure wiretale "$OUT/wiretale.out" "$WIRETALE" story --tls-keylog "$K" "$F"
else
  echo "(wiretale at $WIRETALE has no story --tls-keylog yet: only tshark measured)" >&2
fi
column -t -s $'\t' "$OUT/bench.tsv"
