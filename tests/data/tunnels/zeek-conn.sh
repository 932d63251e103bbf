#!/bin/sh
# The connections of Zeek's own conn.log baselines for the traces in this directory, one
# line per connection: "capture<TAB>proto<TAB>orig_h<TAB>orig_p<TAB>resp_h<TAB>resp_p" —
# the first six columns of what zeek-states.sh extracts (which also keeps Zeek's service,
# conn_state and history). ZEEK defaults to the snapshot's bare repository.
set -eu
cd "$(dirname "$0")"
sh ./zeek-states.sh | cut -f1-6 | sort -u
