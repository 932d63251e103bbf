#!/usr/bin/env bash
# Regenerates tshark's view (the "truth") of the HTTPS lab captures in this directory,
# decrypted with their key logs, into truth/. Tests read the TSV files; they never run tshark.
# What each file and column is: README.md beside this script.
#
# Usage:  tests/data/tls/make-truth.sh        (needs tshark; 4.0.17 made the committed files)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
T="$HERE/truth"
command -v tshark >/dev/null || { echo "make-truth.sh: needs tshark" >&2; exit 77; }
mkdir -p "$T"
rm -f "$T"/*.tsv "$T"/*.txt

# case  capture  key-log ("-" = none: the capture's own Decryption Secrets Block)
CASES=()
for p in "$HERE"/*.pcapng; do
  n=$(basename "$p" .pcapng)
  case $n in
    *.lost-segment) CASES+=("$n $n.pcapng ${n%.lost-segment}.keys") ;;
    *) CASES+=("$n $n.pcapng $n.keys") ;;
  esac
done
for neg in bad-line truncated other-sessions; do
  [ -f "$HERE/tls13-h2-curl.$neg.keys" ] && CASES+=("tls13-h2-curl.$neg tls13-h2-curl.pcapng tls13-h2-curl.$neg.keys")
done
[ -f "$ROOT/captures/lab-https-page.pcapng" ] && CASES+=("lab-https-page ../../../captures/lab-https-page.pcapng -")

ts() { # ts CAPTURE KEYS tshark-args...  (quiet, fields as TSV with a header line)
  local cap=$1 keys=$2
  shift 2
  local ko=(-o "tls.keylog_file:")
  [ "$keys" != - ] && ko=(-o "tls.keylog_file:$HERE/$keys")
  tshark -n -r "$HERE/$cap" "${ko[@]}" "$@" 2>/dev/null
}
fields() { # fields CAPTURE KEYS FILTER FIELD...
  local cap=$1 keys=$2 filter=$3 a=()
  shift 3
  for f in "$@"; do a+=(-e "$f"); done
  ts "$cap" "$keys" -Y "$filter" -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=, "${a[@]}"
}

printf 'case\tcapture\tkeys\tframes\ttls_conns\ttls13_conns\trecords\ttls13_protected\ttls13_decrypted\th2_requests\th2_responses\th2_streams\thttp1_requests\thttp1_responses\n' >"$T/summary.tsv"
for c in "${CASES[@]}"; do
  set -- $c
  name=$1 cap=$2 keys=$3
  echo "truth: $name ($cap with $([ "$keys" = - ] && echo "its DSB" || echo "$keys"))" >&2
  fields "$cap" "$keys" tls frame.number frame.time_epoch tcp.stream tcp.srcport tcp.dstport tcp.len \
    tls.record.opaque_type tls.record.content_type tls.handshake.type tls.record.version \
    tls.handshake.version tls.handshake.extensions.supported_version tls.handshake.ciphersuite \
    tls.handshake.extensions_server_name tls.handshake.extensions_alpn_str tls.alert_message.desc \
    tls.app_data_proto >"$T/$name.frames.tsv"
  # One row per TLS record, from tshark's JSON (the -T fields lists above cannot be lined up
  # record by record: opaque_type exists only on TLS 1.3 encrypted records).
  ts "$cap" "$keys" -Y tls -T json --no-duplicate-keys -J "frame tcp tls" | python3 -c '
import json, sys
def as_list(v):
    return v if isinstance(v, list) else ([] if v is None else [v])
print("frame\ttcp_stream\tsrcport\trecord\topaque_type\tcontent_type\tlength\thandshake_types\tapp_data_proto")
for pkt in json.load(sys.stdin):
    l = pkt["_source"]["layers"]
    frame = l["frame"]["frame.number"]
    tcp = l["tcp"]
    i = 0
    for tls in as_list(l.get("tls")):
        if not isinstance(tls, dict):
            continue
        for r in as_list(tls.get("tls.record")):
            if not isinstance(r, dict):
                continue
            hs = ",".join(h.get("tls.handshake.type", "") for h in as_list(r.get("tls.handshake")) if isinstance(h, dict))
            print("\t".join([frame, tcp["tcp.stream"], tcp["tcp.srcport"], str(i),
                             r.get("tls.record.opaque_type", ""), r.get("tls.record.content_type", ""),
                             r.get("tls.record.length", ""), hs, r.get("tls.app_data_proto", "")]))
            i += 1
' >"$T/$name.records.tsv"
  fields "$cap" "$keys" http2 frame.number frame.time_epoch tcp.stream tcp.srcport http2.streamid http2.type \
    http2.flags http2.length http2.headers.method http2.headers.path http2.headers.status \
    http2.headers.authority >"$T/$name.http2.tsv"
  fields "$cap" "$keys" http frame.number frame.time_epoch tcp.stream tcp.srcport http.request.method \
    http.request.uri http.host http.response.code http.response_for.uri http.request_in \
    http.content_length_header >"$T/$name.http.tsv"
  # A followed decrypted stream where it reads well: HTTP/1.1 as text, HTTP/2 per stream.
  # (Only where tshark decrypted something: it names the protocol of undecrypted records too.)
  if [ "$(wc -l <"$T/$name.http2.tsv")" -gt 1 ]; then
    ts "$cap" "$keys" -q -z follow,http2,ascii,0,1 >"$T/$name.follow-http2-0-1.txt"
  elif [ "$(wc -l <"$T/$name.http.tsv")" -gt 1 ]; then
    ts "$cap" "$keys" -q -z follow,tls,ascii,0 >"$T/$name.follow-tls-0.txt"
  fi
  frames=$(ts "$cap" "$keys" -T fields -e frame.number | wc -l)
  python3 - "$name" "$cap" "$keys" "$frames" "$T" >>"$T/summary.tsv" <<'PY'
import csv, sys
name, cap, keys, frames, t = sys.argv[1:]
def rows(kind):
    with open(f"{t}/{name}.{kind}.tsv") as f:
        return list(csv.DictReader(f, delimiter="\t"))
fr, rec, h2, h1 = rows("frames"), rows("records"), rows("http2"), rows("http")
ch = {r["tcp.stream"] for r in fr if "1" in r["tls.handshake.type"].split(",")}
tls13 = {r["tcp.stream"] for r in fr if "2" in r["tls.handshake.type"].split(",")
         and "0x0304" in r["tls.handshake.extensions.supported_version"].split(",")}
# TLS 1.3 protected records (opaque type set), and those tshark decrypted (inner type found)
prot = [r for r in rec if r["opaque_type"]]
dec = [r for r in prot if r["content_type"]]
def count(rs, col):
    return sum(1 for r in rs for v in r[col].split(",") if v)
streams = {(r["tcp.stream"], s) for r in h2 for s in r["http2.streamid"].split(",") if s and s != "0"}
print("\t".join(map(str, [name, cap, keys, frames, len(ch), len(tls13), len(rec), len(prot), len(dec),
      count(h2, "http2.headers.method"), count(h2, "http2.headers.status"), len(streams),
      count(h1, "http.request.method"), count(h1, "http.response.code")])))
PY
done
column -t -s $'\t' "$T/summary.tsv" >&2
