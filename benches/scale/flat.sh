#!/usr/bin/env bash
# flat.sh [-r RUNS] FILE...   -- does peak memory stay flat as the capture grows?
#
# Runs `wiretale story` and `wiretale conns` (and the previous build's, with BASE=path)
# on each FILE back to back and prints wall time and peak RSS (GNU time), the median of
# RUNS (default 1). Issue 18's check: manyflows-x4.pcap (benches/scale/concat.py) must
# peak within 10 % of manyflows.pcap.
#   benches/scale/flat.sh /var/tmp/wiretale-bench/manyflows.pcap /var/tmp/wiretale-bench/manyflows-x4.pcap
# env: WIRETALE=path (default target/release/wiretale), BASE=path (optional)
set -euo pipefail
RUNS=1
while getopts "r:" o; do case $o in r) RUNS=$OPTARG ;; *) exit 2 ;; esac; done
shift $((OPTIND - 1))
HERE=$(cd "$(dirname "$0")/../.." && pwd)
W=${WIRETALE:-$HERE/target/release/wiretale}
[ -x "$W" ] || { echo "flat.sh: build first (cargo build --release)" >&2; exit 1; }
T=$(mktemp); trap 'rm -f "$T"' EXIT
BINS=("now|$W")
[ -n "${BASE:-}" ] && BINS+=("before|$BASE")
echo "| capture | packets | build | command | wall s | peak RSS MB |"
echo "|---|---:|---|---|---:|---:|"
for f in "$@"; do
  pk=$(capinfos -Mc "$f" 2>/dev/null | awk -F: '/Number of packets/ {gsub(/ /,"",$2); print $2}' || true)
  cat "$f" >/dev/null
  for b in "${BINS[@]}"; do
    for cmd in story conns; do
      res=()
      for _ in $(seq "$RUNS"); do
        /usr/bin/time -f '%e %M' -o "$T" "${b#*|}" "$cmd" "$f" >/dev/null 2>/dev/null || true
        res+=("$(tail -1 "$T")")
      done
      med=$(printf '%s\n' "${res[@]}" | sort -n | awk -v n="$RUNS" 'NR == int((n + 1) / 2)')
      echo "| $(basename "$f") | ${pk:-?} | ${b%%|*} | $cmd | ${med% *} | $(( ${med#* } / 1024 )) |"
    done
  done
done
