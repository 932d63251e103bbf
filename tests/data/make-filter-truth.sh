#!/usr/bin/env bash
# Regenerate tests/data/filter-truth/: for every capture that has tshark truth in
# ../shared/captures/truth, and every expression in filter-expressions.txt (line N has
# index N-1), record the frames tshark's display filter matches.
#
# Output: filter-truth/<source>/<file>.tsv, one line per expression tshark accepted:
#   idx<TAB>1,2,5-9      (frame numbers, consecutive runs compressed; empty = no match)
# An expression tshark rejects (syntax it does not know, e.g. wiretale's own `tls.sni`)
# has no line. The first line is a `#` comment naming the tshark version.
#
# Speed: one tshark run per capture, not per expression. A small Lua script registers
# one tap Listener per expression (a tap's filter is a display filter, evaluated in the
# same single pass as `tshark -n -r FILE -Y EXPR`), and prints the hits at the end.
# Settings match truth/README.md: -n, empty config dir, LC_ALL=C, TZ=UTC.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${1:-$here/../../../shared/captures}"
out="${2:-$here/filter-truth}"
exprs="$here/filter-expressions.txt"
root="$(cd "$root" && pwd)"
cfg="$(mktemp -d)"; lua="$(mktemp --suffix=.lua)"
trap 'rm -rf "$cfg" "$lua"' EXIT
export WIRESHARK_CONFIG_DIR="$cfg" LC_ALL=C TZ=UTC

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

version="$(tshark -v 2>/dev/null | head -1)"
n=0
while IFS= read -r t; do
  rel="${t#"$root"/truth/}"; rel="${rel%.json}"
  cap="$root/$rel"
  [ -f "$cap" ] || continue
  mkdir -p "$out/$(dirname "$rel")"
  tmp="$out/$rel.tsv.tmp"
  # tshark exits 2 on a cut-short file but still runs the taps' draw: keep what it saw.
  if tshark -n -q -r "$cap" -X lua_script1:"$exprs" -X lua_script:"$lua" >"$tmp" 2>/dev/null \
     || [ -s "$tmp" ]; then
    { echo "# $version"; grep -P '^\d+\t' "$tmp" || true; } >"$out/$rel.tsv"
    n=$((n + 1))
  else
    echo "skip (tshark error): $rel" >&2
  fi
  rm -f "$tmp"
done < <(find "$root/truth" -name '*.json' | LC_ALL=C sort)
echo "wrote $n files under $out" >&2
