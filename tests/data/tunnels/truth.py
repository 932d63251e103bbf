#!/usr/bin/env python3
"""Per-frame truth for tests/tunnels_decode.rs, from tshark (run by regen.sh; tests never
run tshark). One line per frame: frame number, innermost IP source and destination, the
layer above it (tcp/udp/icmp/icmpv6 or empty), source and destination ports, and the
tunnel ids tshark shows (mpls.label, vxlan.vni, geneve.vni, gre.key, gtp.teid), each list
in frame order. "Innermost" is the last IP layer before any ICMP layer: an ICMP error's
quoted packet is not the packet (wiretale keeps it in the ICMP layer)."""
import subprocess, sys

FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "mpls.label", "vxlan.vni", "geneve.vni", "gre.key", "gtp.teid", "gre.key.call_id"]

def main(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
           "-E", "separator=\t", "-o", "ip.defragment:TRUE", "-o", "ipv6.defragment:TRUE"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t") + [""] * len(FIELDS)))
        lists = {k: (v[k].split(",") if v[k] else []) for k in FIELDS}
        n = {"ip": 0, "ipv6": 0, "tcp": 0, "udp": 0}
        inner = None  # (family, index)
        above = ""
        port = None  # (proto, index)
        for layer in v["frame.protocols"].split(":"):
            if layer in ("icmp", "icmpv6"):
                if inner is not None:
                    above, port = layer, None
                break
            if layer in ("ip", "ipv6"):
                inner = (layer, n[layer]); n[layer] += 1
                above, port = "", None
            elif layer in ("tcp", "udp"):
                if inner is not None and above == "":
                    above, port = layer, (layer, n[layer])
                n[layer] += 1
        src = dst = sport = dport = ""
        if inner:
            fam, i = inner
            s, d = lists[fam + ".src"], lists[fam + ".dst"]
            if i < len(s) and i < len(d):
                src, dst = s[i], d[i]
        if port:
            proto, i = port
            sp, dp = lists[proto + ".srcport"], lists[proto + ".dstport"]
            if i < len(sp) and i < len(dp):
                sport, dport = sp[i], dp[i]
        # PPTP's enhanced GRE has a call id where GRE has its key: both are "gre".
        lists["gre.key"] = lists["gre.key"] + lists["gre.key.call_id"]
        ids = ";".join("%s=%s" % (k.split(".")[0], ",".join(str(int(x, 0)) for x in lists[k]))
                       for k in FIELDS[10:15] if lists[k])
        print("\t".join([v["frame.number"], src, dst, above, sport, dport, ids]))

main(sys.argv[1])
