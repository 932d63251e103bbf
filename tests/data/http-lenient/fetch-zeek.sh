#!/bin/sh
# Copies Zeek's HTTP test traces and its baseline logs for them (the truth
# tests/http_lenient.rs compares with) from a Zeek checkout's git objects.
#   ZEEK=/path/to/zeek/.git tests/data/http-lenient/fetch-zeek.sh
# Commit a13de64fbbdb01f90961c04719b308fbbb6d199e was used (see SOURCES.md).
set -eu
ZEEK=${ZEEK:-/work/.mirror/zeek+zeek/repo}
REV=${REV:-a13de64fbbdb01f90961c04719b308fbbb6d199e}
cd "$(dirname "$0")"
mkdir -p zeek
for t in http_09 curl_http_09 http-09-content-length-confusion no-version http-lower-case \
    http-lower-case-nonstandard-port http-bad-request-with-version connect-with-smtp \
    connect-with-header version-mismatch http-11-request-then-cruft no-uri; do
    git -C "$ZEEK" show "$REV:testing/btest/Traces/http/$t.pcap" >"$t.pcap"
done
for b in http-09 curl-http-09 http-09-content-length-confusion no-version http-lower-case \
    http-bad-request-with-version http-connect http-connect-with-header version-mismatch \
    http-11-request-then-cruft no-uri; do
    dir=testing/btest/Baseline/scripts.base.protocols.http.$b
    for f in $(git -C "$ZEEK" ls-tree --name-only "$REV" "$dir/"); do
        git -C "$ZEEK" show "$REV:$f" >"zeek/$b.$(basename "$f")"
    done
done
