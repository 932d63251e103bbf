#!/usr/bin/env python3
"""Regenerates tests/data/zeek-conn/: copies Zeek's btest traces and cuts the
conn.log columns the conformance test needs (tests/zeek_conn_states.rs) from
Zeek's own baselines. Zeek is not run: the baselines are Zeek's output.

Usage: extract.py /path/to/zeek/bare-git-repo  (default: /work/.mirror/zeek+zeek/repo)
Commit: a13de64fbbdb01f90961c04719b308fbbb6d199e (Zeek, BSD-3-Clause).
"""
import os, subprocess, sys

REPO = sys.argv[1] if len(sys.argv) > 1 else "/work/.mirror/zeek+zeek/repo"
COMMIT = "a13de64fbbdb01f90961c04719b308fbbb6d199e"
HERE = os.path.dirname(os.path.abspath(__file__))

# (baseline test[/log file, default conn.log], trace under testing/btest/Traces,
# local file name or None when the trace is already a shared capture
# (../shared/captures/zeek/<shared name>, see SHARED)).
CASES = [
    ("core.tcp.missing-syn", "tcp/missing-syn.pcap", "tcp-missing-syn.pcap"),
    ("core.local-flip", "http/zeek-image-post-1080-8000-x.pcap", "http-post-1080-8000.pcap"),
    ("core.q-in-q", "q-in-q.pcap", "q-in-q.pcap"),
    ("core.tcp-padding", "tcp-http-with-padding.pcap", "tcp-http-with-padding.pcap"),
    ("core.tcp.flip-without-syn", "tcp/http-on-irc-port-missing-syn.pcapng", "tcp-http-on-irc-port-missing-syn.pcapng"),
    ("core.tcp.miss-end-data", "tcp/miss_end_data.pcap", "tcp-miss-end-data.pcap"),
    ("core.tcp.reassembly-known-ports", "http/get.pcap", "http-get.pcap"),
    ("core.tcp.large-file-reassembly", "ftp/bigtransfer.pcap", "ftp-bigtransfer.pcap"),
    ("opt.basic", "wikipedia.pcap", None),
    ("core.pcapng-pktsrc", "pcapng-multi-interface.pcapng", None),
    ("scripts.base.protocols.dhcp.dhcp-all-msg-types", "dhcp/dhcp.pcap", "dhcp.pcap"),
    ("scripts.base.protocols.ftp.ftp-ipv4", "ftp/ipv4.pcap", "ftp-ipv4.pcap"),
    ("scripts.base.protocols.ftp.ftp-ipv6", "ftp/ipv6.pcap", "ftp-ipv6.pcap"),
    ("scripts.base.protocols.ntp.misordered-ntp", "ntp/misordered-ntp.pcap", "ntp-misordered.pcap"),
    ("scripts.base.protocols.pop3.basic", "pop3/pop3.pcap", "pop3.pcap"),
    ("scripts.base.protocols.http.concurrent-range-requests", "http/concurrent-range-requests.pcap", "http-concurrent-range-requests.pcap"),
    ("scripts.base.protocols.modbus.modbus_and_non_modbus_on_port_502", "modbus/modbus-and-non-modbus-p502.pcap", "modbus-and-non-modbus-p502.pcap"),
    ("scripts.base.protocols.ssh.half-duplex-client", "ssh/ssh.client-side-half-duplex.pcap", "ssh-client-side-half-duplex.pcap"),
    ("scripts.base.protocols.krb.krb-service-name", "krb/optional-service-name.pcap", "krb-optional-service-name.pcap"),
    ("scripts.base.protocols.rdp.rdpeudp-handshake-fail", "rdp/rdpeudp-handshake-fail.pcap", "rdpeudp-handshake-fail.pcap"),
    ("scripts.base.protocols.mysql.encrypted", "mysql/encrypted.pcap", "mysql-encrypted.pcap"),
    ("scripts.base.protocols.http.http-connect", "http/connect-with-smtp.pcap", "http-connect-with-smtp.pcap"),
    ("scripts.base.protocols.ssh.http-port-22", "http/http-single-conn-22.pcap", "http-single-conn-22.pcap"),
    ("scripts.base.protocols.ssh.pre-banner", "ssh/server-pre-banner-data.pcap", "ssh-server-pre-banner-data.pcap"),
    ("scripts.base.protocols.ftp.ftp-auth-tls", "ftp/ftp-auth-tls.pcap", "ftp-auth-tls.pcap"),
    ("scripts.base.protocols.ftp.gridftp", "globus-url-copy.pcap", "globus-url-copy.pcap"),
    ("core.tcp.rxmit-history/conn-1.log", "tcp/retransmit-fast009.pcap", None),
    ("scripts.base.frameworks.analyzer.request-response-protocol-differences/conn-http-to-ssh.log", "http/http-to-ssh.pcap", "http-to-ssh.pcap"),
    ("scripts.base.frameworks.analyzer.request-response-protocol-differences/conn-https-to-http.log", "tls/https-to-http.pcap", "https-to-http.pcap"),
    ("core.expire-all-timers/conn-limited.log", "tcp/retransmit-timeout.pcapng", "tcp-retransmit-timeout.pcapng"),
]

# Shared captures keep Zeek's directory in their name.
SHARED = {"tcp/retransmit-fast009.pcap": "tcp-retransmit-fast009.pcap"}

COLS = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
        "conn_state", "history", "orig_pkts", "resp_pkts"]


def git(*args):
    return subprocess.run(["git", "-C", REPO, *args], check=True, capture_output=True).stdout


def main():
    out = []
    for test, trace, local in CASES:
        if local:
            with open(os.path.join(HERE, local), "wb") as f:
                f.write(git("show", f"{COMMIT}:testing/btest/Traces/{trace}"))
        logpath = test if "/" in test else test + "/conn.log"
        test = test.split("/")[0]
        log = git("show", f"{COMMIT}:testing/btest/Baseline/{logpath}").decode()
        fields = None
        for line in log.splitlines():
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
                continue
            if line.startswith("#"):
                continue
            row = dict(zip(fields, line.split("\t")))
            path = local if local else "../shared/captures/zeek/" + SHARED.get(trace, os.path.basename(trace))
            out.append("\t".join([test, path] + [row.get(c, "-") for c in COLS]))
    with open(os.path.join(HERE, "conn.tsv"), "w") as f:
        f.write("# test\tcapture\t" + "\t".join(COLS) + "\n")
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
