#!/usr/bin/env bash
# Times wiretale on the QUIC benchmark captures that benches/quic/make.sh wrote: the same HTTP
# bytes over HTTP/3 (quic-h3.pcap) and over HTTP/2 on TCP + TLS 1.3 (tls-h2.pcap), each
# with its key log. For `conns`, `story` and `http` on each file: the best wall time of RUNS
# (hyperfine when installed, else GNU time -v), MB/s of capture read, peak RSS, the lines
# printed, and per command the QUIC/TCP time ratio (issue 16 asks for <= 2: the same bytes
# through QUIC within twice the time they take through TCP + TLS).
#
# Usage:  benches/quic/run.sh [DIR]      (DIR defaults to /var/tmp/wiretale-bench)
#   Writes DIR/run.tsv (every row) and prints a table. `lines` tells whether wiretale
#   decoded anything: `http` prints one line per exchange it could read.
# Env:    WIRETALE=target/release/wiretale  RUNS=3  COMMANDS="conns story http"
# A wiretale without --tls-keylog on a command runs that command without it (noted).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${1:-/var/tmp/wiretale-bench}
WIRETALE=${WIRETALE:-$ROOT/target/release/wiretale}
RUNS=${RUNS:-3}
read -r -a CMDS <<<"${COMMANDS:-conns story http}"
[ -x "$WIRETALE" ] || { echo "run.sh: $WIRETALE not built (cargo build --release)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "run.sh: needs GNU time (/usr/bin/time, Debian package time)" >&2; exit 77; }
for f in quic-h3 tls-h2; do
  [ -s "$DIR/$f.pcap" ] && [ -s "$DIR/$f.keys" ] ||
    { echo "run.sh: $DIR/$f.pcap or .keys missing (run benches/quic/make.sh $DIR)" >&2; exit 1; }
done
HYPERFINE=$(command -v hyperfine || true)
TMP=$(mktemp -d /tmp/wiretale-quicrun.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# cmdline CMD FILE: the command to time, with --tls-keylog when CMD accepts it.
cmdline() {
  local c=$1 f=$2
  if "$WIRETALE" "$c" --help 2>/dev/null | grep -q -- --tls-keylog; then
    echo "$WIRETALE $c --tls-keylog $DIR/$f.keys $DIR/$f.pcap"
  else
    echo "$WIRETALE $c $DIR/$f.pcap"
  fi
}
# gnu_time OUT CMD...: runs once under GNU time; sets W (wall s, from bash's microsecond
# clock: time's own %e has 10 ms steps, too coarse here) and R (peak RSS KiB).
gnu_time() {
  local out=$1 t0 t1
  shift
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%M' -o "$TMP/time" "$@" >"$out" 2>"$TMP/err" || {
    echo "run.sh: failed: $*" >&2
    tail -5 "$TMP/err" >&2
    exit 1
  }
  t1=$EPOCHREALTIME
  W=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  R=$(cat "$TMP/time")
}

printf 'command\tcapture\tcapture_MB\tbest_s\tMB_per_s\tpeak_rss_MB\tlines\tkeylog\tquic_over_tcp\n' >"$DIR/run.tsv"
for c in "${CMDS[@]}"; do
  declare -A best=()
  for f in quic-h3 tls-h2; do
    cmd=$(cmdline "$c" "$f")
    keylog=$([[ $cmd == *--tls-keylog* ]] && echo yes || echo no)
    mb=$(awk -v b="$(stat -c %s "$DIR/$f.pcap")" 'BEGIN { printf "%.1f", b / 1e6 }')
    # warm the page cache, and measure peak RSS and the output once
    gnu_time "$TMP/out" $cmd
    rss=$R
    lines=$(wc -l <"$TMP/out")
    if [ -n "$HYPERFINE" ]; then
      "$HYPERFINE" -N --runs "$RUNS" --export-json "$TMP/h.json" --output=null "$cmd" >/dev/null 2>&1
      t=$(python3 -c 'import json,sys; print(min(json.load(open(sys.argv[1]))["results"][0]["times"]))' "$TMP/h.json")
    else
      t=
      for _ in $(seq "$RUNS"); do
        gnu_time /dev/null $cmd
        [ "$R" -gt "$rss" ] && rss=$R
        t=$(awk -v a="$t" -v b="$W" 'BEGIN { print (a == "" || b < a) ? b : a }')
      done
    fi
    best[$f]=$t
    mbps=$(awk -v m="$mb" -v t="$t" 'BEGIN { printf "%.0f", (t > 0) ? m / t : 0 }')
    ratio=
    [ "$f" = tls-h2 ] && ratio=$(awk -v q="${best[quic-h3]}" -v t="$t" 'BEGIN { printf "%.2f", (t > 0) ? q / t : 0 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$f.pcap" "$mb" "$t" "$mbps" \
      "$(awk -v k="$rss" 'BEGIN { printf "%.0f", k / 1024 }')" "$lines" "$keylog" "$ratio" >>"$DIR/run.tsv"
  done
  unset best
done
echo "wiretale: $("$WIRETALE" --version)  ($WIRETALE; best of $RUNS; ${HYPERFINE:+hyperfine}${HYPERFINE:-GNU time})"
column -t -s $'\t' "$DIR/run.tsv"
