#!/usr/bin/env bash
# Live capture at line rate (issue 18): replays a capture (default: the web bench capture,
# /var/tmp/wiretale-bench/web.pcap, 498 MB, 421 k packets) with tcpreplay from one network
# namespace through a veth pair into another, where a capturer records it, and tabulates
# for each capturer × rate × run:
#
#   replayed   packets tcpreplay sent ("Successful packets")
#   mbps       the rate tcpreplay achieved
#   captured   packets the capturer says it took from libpcap (tcpdump "captured",
#              wiretale "captured"/"analysed", the TUI's packet count at quit)
#   recv       libpcap's ps_recv (what the kernel counted for the socket)
#   kdrop      libpcap's ps_drop: dropped by the kernel, the socket's ring was full
#   ifdrop     libpcap's ps_ifdrop: dropped by the interface
#   file       packets in the file written (counted here, from the pcap record headers)
#
# Capturers (TOOLS): tcpdump (`tcpdump -w`, its defaults: 2 MiB buffer, not immediate),
# tcpdump-B32M (`tcpdump -B 32768 -w`: the ring wiretale uses by default),
# wt-write (`wiretale capture -q -w`: analysis on, nothing printed), wt-story
# (`wiretale capture --story -w`, the story printed to a file), wt-tui (`wiretale -i IF -w`,
# the terminal UI, run in a tmux of its own). Rates (RATES): a number is `--mbps=N`,
# `top` is `--topspeed` (the stress row). tcpreplay preloads the file (-K) so disk reads
# do not pace it.
#
# Usage:  benches/live/replay.sh [OUTDIR]      (root; OUTDIR gets results.tsv, logs)
# Env:    WIRETALE=binary (default target/release/wiretale)  PCAP=capture to replay
#         RUNS=3  TOOLS="tcpdump wt-write wt-story wt-tui"  RATES="1000 top"
#         WT_ARGS="extra wiretale capture flags (e.g. --buffer-size 2)"  LIVE_PREFIX=wl
# Installs tcpreplay with apt when it is missing. Everything is bounded in time; the
# namespaces, the tmux server and every process started are removed by PID/name on exit,
# even on failure. The written captures are deleted after counting (they are ~500 MB).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$(mktemp -d /var/tmp/wiretale-live.XXXXXX)}
WIRETALE=${WIRETALE:-$ROOT/target/release/wiretale}
PCAP=${PCAP:-/var/tmp/wiretale-bench/web.pcap}
RUNS=${RUNS:-3}
TOOLS=${TOOLS:-tcpdump wt-write wt-story wt-tui}
RATES=${RATES:-1000 top}
WT_ARGS=${WT_ARGS:-}
P=${LIVE_PREFIX:-wl$$}
P=${P:0:8}  # interface names stay under 16 bytes
NS_T=${P}t NS_R=${P}r IF_T=${P}-t IF_R=${P}-r
TMUX_SOCK="$P-tui"

[ "$(id -u)" = 0 ] || { echo "replay.sh: needs root (network namespaces)" >&2; exit 77; }
[ -r "$PCAP" ] || { echo "replay.sh: no capture to replay at $PCAP" >&2; exit 1; }
[ -x "$WIRETALE" ] || { echo "replay.sh: $WIRETALE not built (cargo build --release)" >&2; exit 1; }
if ! command -v tcpreplay >/dev/null; then
  echo "replay.sh: installing tcpreplay" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tcpreplay >/dev/null
fi
for t in ip tcpdump tmux python3 ethtool; do
  command -v "$t" >/dev/null || { echo "replay.sh: missing $t" >&2; exit 1; }
done

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$ROOT/tests/lab/lib.sh"
RES="$OUT/results.tsv"
printf 'tool\trate\trun\treplayed\tmbps\tcaptured\trecv\tkdrop\tifdrop\tfile\n' >"$RES"

cleanup() {
  set +e
  tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
  stop_pids
  ip netns del "$NS_T" 2>/dev/null
  ip netns del "$NS_R" 2>/dev/null
  rm -f "$OUT"/cap-*.pcap
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ network
for ns in "$NS_T" "$NS_R"; do
  ip netns add "$ns"
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  in_ns "$ns" ip link set lo up
done
ip link add "$IF_T" netns "$NS_T" type veth peer name "$IF_R" netns "$NS_R"
in_ns "$NS_T" ip addr add 198.18.6.1/24 dev "$IF_T"
in_ns "$NS_R" ip addr add 198.18.6.2/24 dev "$IF_R"
# As the bench capture was recorded: MTU 1500, offloads off (no GRO-merged super-frames).
for pair in "$NS_T $IF_T" "$NS_R $IF_R"; do
  set -- $pair
  in_ns "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
  in_ns "$1" ip link set "$2" up
done
wait_links_up "$NS_T" "$IF_T" "$NS_R" "$IF_R"

# Packets in a pcap file (record headers walked; a cut last record is not counted).
count_pcap() {
  python3 - "$1" <<'PY'
import struct, sys
n = 0
with open(sys.argv[1], "rb") as f:
    h = f.read(24)
    if len(h) < 24:
        print(0); sys.exit()
    e = "<" if h[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    size = f.seek(0, 2); pos = 24
    while pos + 16 <= size:
        f.seek(pos + 8)
        caplen = struct.unpack(e + "I", f.read(4))[0]
        if pos + 16 + caplen > size:
            break
        pos += 16 + caplen; n += 1
print(n)
PY
}

# replay RATE LOG: tcpreplay into the veth, bounded.
replay() {
  local speed=(--mbps="$1")
  [ "$1" = top ] && speed=(--topspeed)
  in_ns "$NS_T" timeout -k 5 180 tcpreplay -q -K "${speed[@]}" -i "$IF_T" "$PCAP" >"$2" 2>&1 || true
}

# Waits (at most $2 s) for PID $1 to end, then kills it.
reap() {
  local i
  for i in $(seq $(($2 * 10))); do alive "$1" || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

num() { grep -oP "$1" "$2" 2>/dev/null | head -1 | tr -d , || true; }

one_run() { # TOOL RATE RUN
  local tool=$1 rate=$2 run=$3 tag="$1-$2-$3"
  local file="$OUT/cap-$tag.pcap" err="$OUT/$tag.err" rlog="$OUT/$tag.replay" pid
  local captured="" recv="" kdrop="" ifdrop=""
  log "run $tag"
  case "$tool" in
    tcpdump | tcpdump-B32M)
      local ring=(); [ "$tool" = tcpdump-B32M ] && ring=(-B 32768)
      ip netns exec "$NS_R" tcpdump -i "$IF_R" -n -s 0 "${ring[@]}" -w "$file" >/dev/null 2>"$err" &
      pid=$!; PIDS+=("$pid")
      wait_capture "$pid" "$err"
      replay "$rate" "$rlog"; sleep 1
      kill -INT "$pid" 2>/dev/null || true; reap "$pid" 30
      captured=$(num '^\d+(?= packets captured)' "$err")
      recv=$(num '^\d+(?= packets received by filter)' "$err")
      kdrop=$(num '^\d+(?= packets dropped by kernel)' "$err")
      ifdrop=$(num '^\d+(?= packets dropped by interface)' "$err"); ifdrop=${ifdrop:-0}
      ;;
    wt-write | wt-story)
      local mode=(-q); [ "$tool" = wt-story ] && mode=(--story)
      # shellcheck disable=SC2086
      ip netns exec "$NS_R" "$WIRETALE" capture -i "$IF_R" "${mode[@]}" -w "$file" $WT_ARGS >"$OUT/$tag.out" 2>"$err" &
      pid=$!; PIDS+=("$pid")
      wait_capture "$pid" "$err"
      replay "$rate" "$rlog"; sleep 1
      kill -INT "$pid" 2>/dev/null || true; reap "$pid" 120
      captured=$(num '(?<= )\d+(?= packets (captured|analysed))' "$err")
      recv=$(num '\d+(?= received)' "$err")
      kdrop=$(num '\d+(?= dropped \()' "$err")
      ifdrop=$(num '\d+(?= by the interface)' "$err")
      ;;
    wt-tui)
      local done="$OUT/$tag.done" head=""
      rm -f "$done"
      # shellcheck disable=SC2086
      tmux -L "$TMUX_SOCK" new-session -d -s tui -x 200 -y 50 \
        "ip netns exec $NS_R $WIRETALE -i $IF_R -w $file $WT_ARGS 2>$err; echo \$? >$done"
      pid=$(tmux -L "$TMUX_SOCK" display -p -t tui '#{pane_pid}'); PIDS+=("$pid")
      for _ in $(seq 100); do
        tmux -L "$TMUX_SOCK" capture-pane -p -t tui 2>/dev/null | head -1 | grep -q "live $IF_R" && break
        [ -e "$done" ] && { cat "$err" >&2; exit 1; }
        sleep 0.1
      done
      sleep 0.3
      replay "$rate" "$rlog"
      # Until the UI has analysed what it took (its packet count the same for 2 s), ≤ 120 s.
      local last=-1 cur same=0
      for _ in $(seq 240); do
        sleep 0.5
        head=$(tmux -L "$TMUX_SOCK" capture-pane -p -t tui | head -1)
        cur=$(grep -oP '\d+(?= packets)' <<<"$head" | head -1 || true)
        if [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0; fi
        [ "$same" -ge 4 ] && break
        last=$cur
      done
      log "tui header: $head"
      captured=$(grep -oP '\d+(?= packets)' <<<"$head" | head -1 || true)
      tmux -L "$TMUX_SOCK" send-keys -t tui q; sleep 0.5
      tmux -L "$TMUX_SOCK" send-keys -t tui y
      for _ in $(seq 600); do [ -e "$done" ] && break; sleep 0.1; done
      tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
      # The exit line (when the build prints one) has the final kernel counters; else
      # the header's "drops" (ps_drop + ps_ifdrop).
      recv=$(num '\d+(?= received)' "$err")
      kdrop=$(num '\d+(?= dropped \()' "$err")
      ifdrop=$(num '\d+(?= by the interface)' "$err")
      if [ -z "$kdrop" ]; then
        kdrop=$(grep -oP '(?<=drops )\d+' <<<"$head" | head -1 || true)
        kdrop="${kdrop}*"
      fi
      ;;
    *) echo "replay.sh: unknown tool $tool" >&2; exit 2 ;;
  esac
  local replayed mbps fp
  replayed=$(num '(?<=Successful packets:)\s*\d+' "$rlog" | tr -d ' ')
  mbps=$(num '(?<=Rated: )[\d.]+ Bps, \K[\d.]+(?= Mbps)' "$rlog")
  fp=$(count_pcap "$file")
  rm -f "$file"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$rate" "$run" "${replayed:-?}" "${mbps:-?}" \
    "${captured:-?}" "${recv:-?}" "${kdrop:-?}" "${ifdrop:-?}" "$fp" | tee -a "$RES"
}

log "wiretale: $WIRETALE ($("$WIRETALE" --version)); pcap: $PCAP; runs $RUNS; tools $TOOLS; rates $RATES; WT_ARGS=$WT_ARGS"
for run in $(seq "$RUNS"); do
  for rate in $RATES; do
    for tool in $TOOLS; do
      one_run "$tool" "$rate" "$run"
    done
  done
done
echo
column -t -s $'\t' "$RES"
echo "(kdrop with * : the TUI's status line 'drops', ps_drop + ps_ifdrop)"
echo "results: $RES"
