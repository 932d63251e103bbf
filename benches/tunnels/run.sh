#!/usr/bin/env bash
# What a tunnel costs: the same traffic plain and wrapped in VXLAN (make.py), through the
# release build's `conns` and `story`, best of 5, with peak RSS; tshark's field extraction
# on the VXLAN file for comparison when tshark is installed.
# Usage: benches/tunnels/run.sh [COPIES]   (default 2500: ~150 MB plain, ~175 MB VXLAN)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${WIRETALE_BENCH_DIR:-/var/tmp/wiretale-bench/tunnels}
mkdir -p "$OUT"
(cd "$OUT" && python3 "$ROOT/benches/tunnels/make.py" "${1:-2500}" "$ROOT/captures/lab-page.pcap")
(cd "$ROOT" && cargo build --release -q)
BIN=$ROOT/target/release/wiretale
best() {
  local b=999 s e t
  for _ in 1 2 3 4 5; do
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc); b=$(echo "if ($t < $b) $t else $b" | bc)
  done
  echo "$b"
}
printf 'command\tcapture\tMB\tbest s\tpeak RSS KB\tlines\n'
for cmd in conns story; do
  for f in plain.pcap vxlan.pcap; do
    p=$OUT/$f
    rss=$(/usr/bin/time -f %M "$BIN" "$cmd" "$p" 2>&1 >/dev/null | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$f" "$(($(stat -c %s "$p") / 1000000))" \
      "$(best "$BIN" "$cmd" "$p")" "$rss" "$("$BIN" "$cmd" "$p" | wc -l)"
  done
done
if command -v tshark >/dev/null; then
  printf 'tshark -Y "dns || http" -T fields\tvxlan.pcap\t\t%s\n' \
    "$(best tshark -r "$OUT/vxlan.pcap" -Y 'dns || http' -T fields -e frame.number -e ip.src -e ip.dst)"
fi
