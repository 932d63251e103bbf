#!/usr/bin/env bash
# The stage ladder on one thread (issue 18): what each layer of the analysis adds to the
# time of one pass over FILE, beside the C walk (../shared/bench/pcapwalk.c: read, decode
# L2-L4, hash every flow) and the commands themselves:
#
#   read / decode / flows / engine   examples/stages.rs (best of PASSES passes each)
#   wiretale conns, wiretale story   the binary, WIRETALE_THREADS=1, output to /dev/null
#   C walk: read, flows              pcapwalk read / flows
#
# Usage: benches/scale/stages.sh FILE [PASSES]     (builds the example and the C walk)
# Env:   WIRETALE=binary (default target/release/wiretale)
# Times are one machine's, in one run: read them as ratios to each other.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FILE=$1
PASSES=${2:-1}
WIRETALE=${WIRETALE:-$ROOT/target/release/wiretale}
(cd "$ROOT" && cargo build -q --release --example stages)
WALK=/tmp/pcapwalk
if [ ! -x "$WALK" ] || [ "$ROOT/../shared/bench/pcapwalk.c" -nt "$WALK" ]; then
  gcc -O2 -o "$WALK" "$ROOT/../shared/bench/pcapwalk.c" -lpcap
fi
best() { # best wall time of PASSES runs of a command, in seconds
  local b=""
  for _ in $(seq 1 "$PASSES"); do
    local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N)
    b=$(python3 -c "import sys; t=$e-$s; b='$b'; print(f'{min(t, float(b)) if b else t:.3f}')")
  done
  echo "$b"
}
"$ROOT/target/release/examples/stages" "$FILE" "$PASSES"
echo "conns   $(WIRETALE_THREADS=1 best "$WIRETALE" conns "$FILE") s  (wiretale conns, one thread)"
echo "story   $(WIRETALE_THREADS=1 best "$WIRETALE" story "$FILE") s  (wiretale story, one thread)"
echo "C read  $(best "$WALK" read "$FILE") s  (pcapwalk read)"
echo "C flows $(best "$WALK" flows "$FILE") s  (pcapwalk flows: decode + flow hash)"
