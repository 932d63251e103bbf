#!/bin/sh
# Zeek's own conn.log baselines for the traces in this directory, with Zeek's verdicts:
# one line per connection, "capture proto orig_h orig_p resp_h resp_p service conn_state
# history" (tab-separated), for tests/tunnels_conns.rs. The btest
# script (testing/btest/core/<name>.zeek) names the trace it reads; baselines whose trace
# is not copied here are skipped. ZEEK defaults to the snapshot's bare repository.
set -eu
ZEEK=${ZEEK:-/work/.mirror/zeek+zeek/repo}
git -C "$ZEEK" ls-tree -d --name-only HEAD testing/btest/Baseline/ |
    grep -E 'core\.(tunnels\.|pbb|pppoe|mpls-in-vlan|cisco-fabric-path|radiotap|erspan|wlanmon)' |
    while read -r dir; do
        test_name=${dir#testing/btest/Baseline/core.}
        base="testing/btest/core/$(echo "$test_name" | tr . /)"
        trace=$( (git -C "$ZEEK" show "HEAD:$base.zeek" 2>/dev/null ||
            git -C "$ZEEK" show "HEAD:$base.test" 2>/dev/null) |
            grep -o 'TRACES/[A-Za-z0-9_./-]*' | head -1 | sed 's|.*/||') || true
        [ -n "$trace" ] && [ -f "$trace" ] || continue
        git -C "$ZEEK" show "HEAD:$dir/conn.log" 2>/dev/null |
            awk -F'\t' -v t="$trace" '
                /^#fields/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
                /^ts\tuid\t/ { for (i = 1; i <= NF; i++) col[$i] = i; next }
                /^#/ { next }
                { print t "\t" $col["proto"] "\t" $col["id.orig_h"] "\t" $col["id.orig_p"] "\t" $col["id.resp_h"] "\t" $col["id.resp_p"] "\t" $col["service"] "\t" $col["conn_state"] "\t" $col["history"] }'
    done | sort -u
