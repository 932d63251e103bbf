#!/usr/bin/env bash
# Measures the TUI like a user: runs `wiretale FILE` in a detached tmux terminal
# (200x50) with WIRETALE_TIMINGS, waits until the status says the whole file is
# analysed, reads RssAnon from /proc, then sends keys and prints the trace:
# End (last packet), 2 + Enter (the Connections view, open the first connection),
# Esc, / tcp.port == 80 Enter (re-filter), the FILTERS if given, q.
#
# usage: benches/tuiscale/measure.sh WIRETALE_BINARY FILE [extra TUI args...]
# Each run has its own tmux server (-L): runs of several people do not share sessions,
# and XDG_CACHE_HOME is passed to the TUI itself (a shared server keeps its starter's).
set -u
bin=$1; file=$2; shift 2
t=$(mktemp /tmp/tuim.XXXXXX); rm -f "$t"
s=tuim$$
tmux -L "$s" new-session -d -s "$s" -x 200 -y 50 \
  "exec env ${XDG_CACHE_HOME:+XDG_CACHE_HOME=$XDG_CACHE_HOME} WIRETALE_TIMINGS=$t $bin $file $*"
pid=$(tmux -L "$s" list-panes -t "$s" -F '#{pane_pid}')
cleanup() { kill "$pid" 2>/dev/null; tmux -L "$s" kill-server 2>/dev/null; rm -f "$t"; }
trap cleanup EXIT
for _ in $(seq 1 1200); do grep -q '^done' "$t" 2>/dev/null && break; sleep 0.25; done
sleep 1
echo "after done: $(grep -E 'RssAnon|RssFile|VmHWM' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
# Sends a key and waits (at most 120 s) for the trace line of the frame showing it.
key() {
  local n; n=$(grep -c '^key' "$t")
  tmux -L "$s" send-keys -t "$s" "$@"
  for _ in $(seq 1 1200); do [ "$(grep -c '^key' "$t")" -gt "$n" ] && break; sleep 0.1; done
  sleep 0.3
}
key End
key 2; key Enter; key Escape
key 1; key / ; tmux -L "$s" send-keys -t "$s" -l 'tcp.port == 80'; sleep 0.5; key Enter
# More filters after it, '|'-separated in FILTERS (e.g. 'ip.addr == 198.18.1.9|http|dns'):
# each typed over the last one; its header line ("N of M packets") is printed.
if [ -n "${FILTERS:-}" ]; then
  IFS='|' read -ra fs <<< "$FILTERS"
  for f in "${fs[@]}"; do
    key /; for _ in $(seq 1 40); do tmux -L "$s" send-keys -t "$s" BSpace; done; sleep 0.3
    tmux -L "$s" send-keys -t "$s" -l "$f"; sleep 0.5; key Enter; sleep 1
    echo "FILTER $f: $(tmux -L "$s" capture-pane -p -t "$s" | head -1)"
  done
fi
sleep 1
echo "after keys: $(grep -E 'RssAnon|VmHWM' /proc/$pid/status | tr -s ' \t' ' ' | tr '\n' ' ')"
cat "$t"
tmux -L "$s" capture-pane -p -t "$s" | head -3
