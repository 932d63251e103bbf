#!/usr/bin/env bash
# Makes the HTTP/3 fixtures of tests/data/quic/lab/ from real runs of tests/lab/quic.sh:
# one run per scenario, captured by tcpdump on the client's interface, converted to pcapng,
# with the key logs both ends wrote and the server's request log.
#
# Usage:  tests/lab/quic-captures.sh [OUTDIR] [SCENARIO...]
#   OUTDIR defaults to tests/data/quic/lab; SCENARIO defaults to every one below.
#   Then run tests/data/quic/lab/make-truth.sh to regenerate tshark's view of them.
# Needs root, tcpdump, editcap (wireshark-common), and what quic.sh needs.
#
# Output per scenario NAME:
#   NAME.pcapng        the capture (QUIC v1 on UDP 443)
#   NAME.keys          the client's NSS key log (what decrypts the capture)
#   NAME.server.keys   the server's key log (the same secrets, written by the other end)
#   NAME.h3.tsv        the server's log of the HTTP/3 requests (see tests/lab/quic_app.py)
#   NAME.steps.tsv     what each step did, with its exit status
#   NAME.h2.tsv        (chromium-altsvc) nginx's log of the requests over h2 on TCP
#   NAME.migrate.tsv   (aioquic-migrate) the client's log of its local ports and the
#                      destination connection ID it used at each step
# and chromium-h3.dsb.pcapng: chromium-h3.pcapng with its keys in a Decryption Secrets Block.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/tests/data/quic/lab}
shift || true
declare -A NAME=([aioquic]=aioquic-h3 [aioquic-retry]=aioquic-retry [chromium]=chromium-h3
  [chromium-altsvc]=chromium-altsvc [aioquic-migrate]=aioquic-migrate
  [aioquic-keyupdate]=aioquic-keyupdate [aioquic-v2]=aioquic-v2)
ORDER=(aioquic aioquic-retry chromium chromium-altsvc aioquic-migrate aioquic-keyupdate aioquic-v2)
SCEN=("${@:-${ORDER[@]}}")
for t in tcpdump editcap; do
  command -v "$t" >/dev/null || { echo "quic-captures.sh: missing $t" >&2; exit 77; }
done
mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/wiretale-quiccap.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

for s in "${SCEN[@]}"; do
  n=${NAME[$s]:?unknown scenario $s}
  echo "== $s -> $n" >&2
  LAB_CAPTURE=tcpdump LAB_LINGER=${LAB_LINGER:-1} "$HERE/quic.sh" "$TMP/$s" "$s" >/dev/null
  if grep -q 'rc=[1-9]' "$TMP/$s/steps.tsv"; then
    cat "$TMP/$s/steps.tsv" "$TMP/$s/lab.log" >&2
    echo "quic-captures.sh: a step of $s failed" >&2
    exit 1
  fi
  for f in keys.log server-keys.log h3-requests.tsv; do
    [ -s "$TMP/$s/$f" ] || { echo "quic-captures.sh: $s wrote no $f" >&2; exit 1; }
  done
  editcap -F pcapng "$TMP/$s/lab.pcap" "$OUT/$n.pcapng"
  cp "$TMP/$s/keys.log" "$OUT/$n.keys"
  cp "$TMP/$s/server-keys.log" "$OUT/$n.server.keys"
  cp "$TMP/$s/h3-requests.tsv" "$OUT/$n.h3.tsv"
  cut -f1,4 "$TMP/$s/steps.tsv" >"$OUT/$n.steps.tsv"
  [ ! -f "$TMP/$s/h2-requests.tsv" ] || cp "$TMP/$s/h2-requests.tsv" "$OUT/$n.h2.tsv"
  [ ! -f "$TMP/$s/migrate.tsv" ] || cp "$TMP/$s/migrate.tsv" "$OUT/$n.migrate.tsv"
done

# For a future bundled sample: the Chromium page load with its keys inside.
if [ -f "$OUT/chromium-h3.pcapng" ]; then
  editcap --inject-secrets "tls,$OUT/chromium-h3.keys" "$OUT/chromium-h3.pcapng" "$OUT/chromium-h3.dsb.pcapng"
fi
ls -l "$OUT" >&2
