# Shared by the lab scripts (lab.sh, quic.sh, icmp.sh, tunnel.sh): the log, the step table,
# process bookkeeping and steps bounded in time. Source it after setting OUT (the output
# directory); it sets LOG and STEPS there and PIDS to the empty list. Each script keeps its
# own cleanup (its namespaces differ) and calls stop_pids from it.

LOG="$OUT/lab.log"
STEPS="$OUT/steps.tsv"
: >"$LOG"
printf 'step\tstart\tend\tdetail\n' >"$STEPS"
PIDS=()

log() { echo "[$(date +%T.%3N)] $*" >>"$LOG"; }

# alive PID: running and not a zombie.
alive() { [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# Every process in PIDS: TERM, up to 5 s to go, then KILL.
stop_pids() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do alive "$p" || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
}

# wait_capture PID ERRFILE: until the capture (wiretale or tcpdump) says it is capturing,
# at most 10 s; exits with its error output when it died instead.
wait_capture() {
  for _ in $(seq 100); do
    grep -qiE "listening on|capturing on" "$2" 2>/dev/null && break
    alive "$1" || { cat "$2" >&2; exit 1; }
    sleep 0.1
  done
  sleep 0.3
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_links_up NS IF [NS IF ...]: until every named interface reports "up" (a veth pair
# carries traffic then, no ping needed), at most 5 s; exits 1 naming them otherwise.
wait_links_up() {
  local _ i ok
  for _ in $(seq 50); do
    ok=1
    for ((i = 1; i < $#; i += 2)); do
      local ns=${!i} j=$((i + 1))
      [ "$(in_ns "$ns" cat "/sys/class/net/${!j}/operstate")" = up ] || { ok=; break; }
    done
    [ -n "$ok" ] && return 0
    sleep 0.1
  done
  echo "$(basename "$0"): the links did not come up: $*" >&2
  exit 1
}

now() { date +%s.%N; }

# step NAME DETAIL -- command...: runs the command for at most STEP_TIMEOUT seconds
# (default 30), logs its output, and adds "NAME start end DETAIL rc=N" to the step table.
# A shell function cannot run under `timeout`: it runs as it is and bounds its own
# commands (icmp.sh's udp_send, in_ns … timeout 20 traceroute).
step() {
  local name=$1 detail=$2 t0 t1 rc
  shift 3
  t0=$(now)
  set +e
  if declare -F "$1" >/dev/null; then
    "$@" >>"$LOG" 2>&1
  else
    timeout -k 2 "${STEP_TIMEOUT:-30}" "$@" >>"$LOG" 2>&1
  fi
  rc=$?
  set -e
  t1=$(now)
  printf '%s\t%s\t%s\t%s rc=%s\n' "$name" "$t0" "$t1" "$detail" "$rc" >>"$STEPS"
  log "step $name rc=$rc"
  sleep 0.3
}
