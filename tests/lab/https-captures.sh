#!/usr/bin/env bash
# Makes the HTTPS fixtures of tests/data/tls/ (and the bundled captures/lab-https-page.pcapng)
# from real lab runs: one lab.sh run per scenario, captured by tcpdump on the client's
# interface, converted to pcapng, with the key log the clients wrote during that run.
#
# Usage:  tests/lab/https-captures.sh [OUTDIR] [SCENARIO...]
#   OUTDIR defaults to tests/data/tls; SCENARIO defaults to every one below.
#   Then run tests/data/tls/make-truth.sh to regenerate tshark's view of them.
# Needs root, tcpdump, editcap (wireshark-common), and what lab.sh needs; chromium for
# the page load.
#
# Output per scenario NAME (file name in brackets where it differs):
#   NAME.pcapng  NAME.keys  NAME.steps.tsv
# and negative key logs for tls13-h2-curl (see tests/data/tls/README.md):
#   tls13-h2-curl.bad-line.keys       the good key log with one malformed line inserted (line 3)
#   tls13-h2-curl.truncated.keys      cut in the middle of its 4th line
#   tls13-h2-curl.other-sessions.keys the key log of tls13-aes256 (other sessions only)
#   tls13-h2-curl.lost-segment.pcapng the capture less one full-size server segment in the
#                                      middle of the image's records (which frame: .lost-frame)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/tests/data/tls}
shift || true
# lab scenario -> fixture name
declare -A NAME=(
  [tls13-h2]=tls13-h2-curl [tls13-h1]=tls13-h1-curl [tls13-aes128]=tls13-aes128
  [tls13-aes256]=tls13-aes256 [tls13-chacha]=tls13-chacha [tls12-gcm]=tls12-gcm
  [tls12-chacha]=tls12-chacha [tls12-cbc]=tls12-cbc [resumed]=resumed
  [tls12-resumed]=tls12-resumed [hrr]=hrr [https-page]=chromium-page
)
ORDER=(tls13-h2 tls13-h1 tls13-aes128 tls13-aes256 tls13-chacha tls12-gcm tls12-chacha tls12-cbc
  resumed tls12-resumed hrr https-page)
SCEN=("${@:-${ORDER[@]}}")
for t in tcpdump editcap; do
  command -v "$t" >/dev/null || { echo "https-captures.sh: missing $t" >&2; exit 77; }
done
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/wiretale-https.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

for s in "${SCEN[@]}"; do
  n=${NAME[$s]:?unknown scenario $s}
  echo "== $s -> $n" >&2
  # Chromium keeps its connections open until it exits; give the closes time to arrive.
  LAB_CAPTURE=tcpdump LAB_LINGER=2 "$HERE/lab.sh" "$TMP/$s" "$s" >/dev/null
  if grep -q 'rc=[1-9]' "$TMP/$s/steps.tsv"; then
    cat "$TMP/$s/steps.tsv" "$TMP/$s/lab.log" >&2
    echo "https-captures.sh: a step of $s failed" >&2
    exit 1
  fi
  [ -s "$TMP/$s/keys.log" ] || { echo "https-captures.sh: $s wrote no keys" >&2; exit 1; }
  editcap -F pcapng "$TMP/$s/lab.pcap" "$OUT/$n.pcapng"
  cp "$TMP/$s/keys.log" "$OUT/$n.keys"
  cut -f1,4 "$TMP/$s/steps.tsv" >"$OUT/$n.steps.tsv"
done

# The bundled sample: the page load with its keys inside (a Decryption Secrets Block).
if [ -f "$OUT/chromium-page.pcapng" ] && [ "$OUT" = "$ROOT/tests/data/tls" ]; then
  editcap --inject-secrets "tls,$OUT/chromium-page.keys" "$OUT/chromium-page.pcapng" \
    "$ROOT/captures/lab-https-page.pcapng"
fi

# Negative material, derived from tls13-h2-curl.
K=$OUT/tls13-h2-curl.keys
if [ -f "$K" ]; then
  awk 'NR == 3 { print "CLIENT_TRAFFIC_SECRET_0 not-hex-at-all 00" } { print }' "$K" >"$OUT/tls13-h2-curl.bad-line.keys"
  { head -n 3 "$K"; sed -n 4p "$K" | cut -c1-90 | tr -d '\n'; } >"$OUT/tls13-h2-curl.truncated.keys"
  [ -f "$OUT/tls13-aes256.keys" ] && cp "$OUT/tls13-aes256.keys" "$OUT/tls13-h2-curl.other-sessions.keys"
  if command -v tshark >/dev/null; then
    # A full-size segment from the server in the middle of the largest response (the image):
    # the third full-size server segment of the connection.
    lost=$(tshark -r "$OUT/tls13-h2-curl.pcapng" -Y 'tcp.srcport == 443 && tcp.len >= 1400' \
      -T fields -e frame.number 2>/dev/null | sed -n 3p)
    if [ -n "$lost" ]; then
      editcap -F pcapng "$OUT/tls13-h2-curl.pcapng" "$OUT/tls13-h2-curl.lost-segment.pcapng" "$lost"
      echo "$lost" >"$OUT/tls13-h2-curl.lost-frame"
    fi
  fi
fi
ls -l "$OUT" >&2
