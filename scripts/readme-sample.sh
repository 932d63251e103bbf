#!/bin/sh
# Regenerates the story sample at the top of README.md from the bundled capture, so it
# cannot drift from what `wiretale story captures/lab-page.pcap` prints
# (tests/readme_sample.rs fails when it has). Usage: scripts/readme-sample.sh [BINARY]
# Shows the first HEAD lines, a line "…" for what is left out, and the closing count.
set -eu
cd "$(dirname "$0")/.."
HEAD=24
bin=${1:-target/release/wiretale}
if [ $# -eq 0 ]; then
    cargo build --release --quiet
fi
out=$("$bin" story captures/lab-page.pcap)
sample=$(printf '%s\n' "$out" | head -n "$HEAD"; echo "…"; printf '%s\n' "$out" | tail -n 1)
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# Replace what lies between the markers (the fenced block) with the new sample.
SAMPLE=$sample awk '
    /^<!-- story-sample: begin/ { print; print "```"; print ENVIRON["SAMPLE"]; print "```"; skip = 1; next }
    /^<!-- story-sample: end/ { skip = 0 }
    !skip { print }
' README.md > "$tmp"
cat "$tmp" > README.md
