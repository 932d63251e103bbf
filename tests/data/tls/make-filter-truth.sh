#!/usr/bin/env bash
# Regenerates filter-truth/: for every HTTPS lab case (the captures of this directory with
# their key logs, the negative key logs, the lost-segment capture, the bundled
# lab-https-page with its own Decryption Secrets Block, and three captures read without
# keys), the frames tshark's display filter selects for each line of
# filter-expressions.txt (line N has index N-1). tests/filter_tls.rs compares
# `wiretale packets -Y` with them; tests never run tshark.
#
# Output: filter-truth/CASE.tsv: a `#` line naming the tshark version, then one line per
# expression tshark accepted: idx<TAB>1,2,5-9 (frame numbers, runs compressed; empty =
# no match). One tshark pass per case: a Lua tap per expression (a tap's filter is a
# display filter, evaluated as `tshark -Y EXPR` would), as ../make-filter-truth.sh does.
#
# Usage:  tests/data/tls/make-filter-truth.sh     (needs tshark; 4.0.17 made the committed files)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT="$HERE/filter-truth"
EXPRS="$HERE/filter-expressions.txt"
command -v tshark >/dev/null || { echo "make-filter-truth.sh: needs tshark" >&2; exit 77; }
cfg=$(mktemp -d); lua=$(mktemp --suffix=.lua)
trap 'rm -rf "$cfg" "$lua"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC
mkdir -p "$OUT"
rm -f "$OUT"/*.tsv

cat >"$lua" <<'LUA'
local path = ...
local hits, ok = {}, {}
local i = 0
for line in io.lines(path) do
  local idx = i
  i = i + 1
  local good, l = pcall(Listener.new, nil, line)
  if good then
    ok[idx] = true
    hits[idx] = {}
    function l.packet(pinfo) table.insert(hits[idx], pinfo.number) end
  end
end
local function ranges(t)
  local out, s, p = {}, nil, nil
  for _, n in ipairs(t) do
    if s == nil then s, p = n, n
    elseif n == p + 1 then p = n
    else
      table.insert(out, s == p and tostring(s) or (s .. "-" .. p)); s, p = n, n
    end
  end
  if s ~= nil then table.insert(out, s == p and tostring(s) or (s .. "-" .. p)) end
  return table.concat(out, ",")
end
local final = Listener.new("frame", "frame.number == 0")
function final.draw()
  for idx = 0, i - 1 do
    if ok[idx] then io.write(idx, "\t", ranges(hits[idx]), "\n") end
  end
end
LUA

# case  capture (relative to this directory)  key log ("-" = none given)
CASES=()
for p in "$HERE"/*.pcapng; do
  n=$(basename "$p" .pcapng)
  case $n in
    *.lost-segment) CASES+=("$n $n.pcapng ${n%.lost-segment}.keys") ;;
    *) CASES+=("$n $n.pcapng $n.keys") ;;
  esac
done
for neg in bad-line truncated other-sessions; do
  CASES+=("tls13-h2-curl.$neg tls13-h2-curl.pcapng tls13-h2-curl.$neg.keys")
done
for n in tls13-h2-curl tls12-gcm chromium-page; do
  CASES+=("$n.nokeys $n.pcapng -")
done
CASES+=("lab-https-page ../../../captures/lab-https-page.pcapng -")

version=$(tshark -v 2>/dev/null | head -1)
for c in "${CASES[@]}"; do
  set -- $c
  name=$1 cap=$2 keys=$3
  ko=(-o "tls.keylog_file:")
  [ "$keys" != - ] && ko=(-o "tls.keylog_file:$HERE/$keys")
  tmp="$OUT/$name.tsv.tmp"
  tshark -n -q -r "$HERE/$cap" "${ko[@]}" -X lua_script1:"$EXPRS" -X lua_script:"$lua" >"$tmp" 2>/dev/null
  { echo "# $version"; grep -P '^\d+\t' "$tmp" || true; } >"$OUT/$name.tsv"
  rm -f "$tmp"
  echo "filter truth: $name" >&2
done
