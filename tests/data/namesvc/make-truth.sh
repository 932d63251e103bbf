#!/bin/sh
# Regenerates the tshark-derived truth of tests/data/namesvc (run from this directory;
# needs tshark 4.0 and ../../../../shared/captures beside the project). Tests never run it.
set -eu
SHARED=../../../../shared/captures
# NetBIOS name service: frame, first name, Info line, per packet.
{
  printf 'capture\tframe\tname\tinfo\n'
  for c in namesvc/eapon1.pcap zeek/wikipedia.pcap; do
    case $c in namesvc/*) f=../$c ;; *) f=$SHARED/$c ;; esac
    tshark -r "$f" -Y 'nbns && !icmp' -T fields -e frame.number -e nbns.name -e _ws.col.Info \
      | awk -F '\t' -v c="$c" '{ split($2, n, ","); printf "%s\t%s\t%s\t%s\n", c, $1, n[1], $3 }'
  done
} > nbns-tshark.tsv
# mDNS and LLMNR messages: frame, response flag, question names, answer names and types.
{
  printf 'capture\tframe\tsrc\tdst\tresponse\tqueries\tanswers\tauthority\tqnames\tanames\tatypes\tattls\n'
  for c in namesvc/mdns.pcap namesvc/mdns-no-assoc.pcap zeek/wikipedia.pcap \
           zeek/var-services-std-ports.pcap suricata-verify/ethernet-eve.pcap; do
    case $c in namesvc/*) f=../$c ;; *) f=$SHARED/$c ;; esac
    tshark -r "$f" -Y '(mdns || llmnr) && !icmp && !icmpv6' -T fields -E occurrence=a -E aggregator=';' \
      -e frame.number -e ip.src -e ipv6.src -e ip.dst -e ipv6.dst -e dns.flags.response \
      -e dns.count.queries -e dns.count.answers -e dns.count.auth_rr -e dns.qry.name \
      -e dns.resp.name -e dns.resp.type -e dns.resp.ttl \
      | awk -F '\t' -v OFS='\t' -v c="$c" '{ print c, $1, $2 $3, $4 $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
  done
} > mdns-tshark.tsv
