#!/usr/bin/env bash
# The TUI on a capture too big to analyse in memory here: runs `wiretale FILE` in tmux
# under an address-space cap (the file's size + CAP_GB, default 5), prints the first
# screen time, then every 5 s RssAnon and the header (packets, indexing %), for at most
# SECS seconds (default 120) or until the process ends (the cap makes allocation fail);
# then End (last packet indexed so far) and its response time.
#
# usage: benches/tuiscale/big.sh WIRETALE_BINARY FILE [SECS] [CAP_GB]
set -u
bin=$1; file=$2; secs=${3:-120}; cap=${4:-5}
size=$(stat -c %s "$file")
as=$(( size + cap * 1024 * 1024 * 1024 ))
t=$(mktemp /tmp/tuib.XXXXXX); rm -f "$t"
s=tuib$$
tmux -L "$s" new-session -d -s "$s" -x 200 -y 50 \
  "exec prlimit --as=$as env WIRETALE_TIMINGS=$t $bin $file"
pid=$(tmux -L "$s" list-panes -t "$s" -F '#{pane_pid}')
cleanup() { kill "$pid" 2>/dev/null; tmux -L "$s" kill-server 2>/dev/null; rm -f "$t"; }
trap cleanup EXIT
start=$(date +%s)
for _ in $(seq 1 100); do [ -s "$t" ] && break; sleep 0.1; done
cat "$t"
while [ $(( $(date +%s) - start )) -lt "$secs" ] && kill -0 "$pid" 2>/dev/null; do
  sleep 5
  echo "+$(( $(date +%s) - start ))s $(grep RssAnon /proc/$pid/status 2>/dev/null | tr -s ' \t' ' ') |$(tmux -L "$s" capture-pane -p -t "$s" | head -1)"
done
if kill -0 "$pid" 2>/dev/null; then
  tmux -L "$s" send-keys -t "$s" End; sleep 2; grep '^key' "$t"
else
  echo "process ended"; tmux -L "$s" capture-pane -p -t "$s" | tail -5
fi
