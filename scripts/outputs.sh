#!/usr/bin/env bash
# Every command's output on every bundled and shared capture, one file each, so two
# builds can be compared byte for byte (a refactor must not change any):
#   scripts/outputs.sh BINARY OUTDIR
#   diff -r OUTDIR_BEFORE OUTDIR_AFTER
# Exit statuses and stderr are kept too (`.status`, `.err`).
set -uo pipefail
bin=$1
out=$2
root="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$out"
caps=("$root"/captures/*.pcap)
while IFS= read -r f; do caps+=("$f"); done < <(find "$root/../shared/captures" -name '*.pcap' -o -name '*.pcapng' | sort)
for cap in "${caps[@]}"; do
  name=$(echo "${cap#"$root"/}" | sed "s#^\.\./shared/##" | tr '/' '_')
  for cmd in "packets" "packets --json" "conns" "conns --json" "dns" "dns --json" \
             "http" "http --json" "story" "story --json" "packets -Y tcp.port==80" \
             "conns -Y dns" "follow --conn 1" "follow --conn 1 --json"; do
    tag=$(echo "$cmd" | tr ' =' '_-')
    # shellcheck disable=SC2086
    "$bin" $cmd "$cap" > "$out/$name.$tag.out" 2> "$out/$name.$tag.err"
    echo $? > "$out/$name.$tag.status"
  done
done
