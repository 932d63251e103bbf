#!/usr/bin/env python3
"""Makes the TLS stream fixtures of src/proto/tls/testdata: real OpenSSL sessions
(`openssl s_server` / `s_client` on loopback) recorded by a relay that writes each chunk it
forwards as `c HEX` (client to server) or `s HEX` (server to client), one line a chunk,
in the order forwarded, plus the client's NSS key log (`-keylogfile`). Run from this
directory: python3 make.py [NAME...] (all cases, or the ones named; needs openssl; the tests
need only the files it writes)."""
import os, select, socket, subprocess, sys, time, tempfile

CASES = [
    # name, s_client args, data the client sends, data the server sends
    ("tls12-aes128gcm", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]),
    ("tls12-chacha20", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"]),
    ("tls12-aes256gcm", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"]),
    ("tls13-aes256gcm", ["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"]),
    ("tls13-chacha20", ["-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"]),
    # s_client's `K` command (a KeyUpdate asking the peer to update too) works only
    # without -quiet/-ign_eof.
    ("tls13-keyupdate", ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
    # AES-CBC (RFC 5246 §6.2.3.2): MAC-then-encrypt with HMAC-SHA1 (-no_etm: the client
    # does not offer encrypt_then_mac), and encrypt-then-MAC (RFC 7366, OpenSSL's default
    # for CBC) with HMAC-SHA384 and the SHA-384 PRF.
    ("tls12-aes128cbc-sha", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA", "-no_etm"]),
    ("tls12-aes256cbc-sha384", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384"]),
    # Rejected 0-RTT (RFC 8446 §4.2.10): a ticket from a first server that allows early
    # data, offered with early data to a second one (a restart: other ticket keys, no
    # -early_data), which does a full handshake and skips the client's early records.
    ("tls13-early-rejected", ["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]),
]
EARLY_MSG = b"GET /early HTTP/1.1\r\nHost: wiretale.test\r\n\r\n"
CLIENT_MSG = b"GET / HTTP/1.1\r\nHost: wiretale.test\r\n\r\n"
SERVER_MSG = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"


def run(name, args, tmp):
    key, crt = os.path.join(tmp, "k.pem"), os.path.join(tmp, "c.pem")
    if not os.path.exists(key):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", crt, "-days", "3650", "-subj", "/CN=wiretale.test/O=wiretale lab",
                        "-addext", "subjectAltName=DNS:wiretale.test,DNS:www.wiretale.test,IP:198.18.0.1"],
                       check=True, capture_output=True)
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); sport = ls.getsockname()[1]; ls.close()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", str(sport), "-key", key, "-cert", crt,
                            "-alpn", "http/1.1", "-quiet"] + [a for a in args if a.startswith("-tls")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    relay = socket.socket(); relay.bind(("127.0.0.1", 0)); relay.listen(1)
    rport = relay.getsockname()[1]
    time.sleep(0.5)
    keylog = os.path.join(tmp, name + ".keys")
    if "early" in name:
        args = args + early_ticket(tmp, key, crt, args)
    cli = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % rport, "-servername",
                            "wiretale.test", "-alpn", "h2,http/1.1", "-keylogfile", keylog]
                           + ([] if "keyupdate" in name else ["-quiet", "-ign_eof"]) + args,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    c, _ = relay.accept()
    s = socket.create_connection(("127.0.0.1", sport))
    chunks = []
    sent_c = sent_s = False
    deadline = time.time() + 10
    while time.time() < deadline:
        r, _, _ = select.select([c, s], [], [], 0.3)
        if not r:
            if not sent_c:
                if "keyupdate" in name:
                    cli.stdin.write(b"K\n"); cli.stdin.flush(); time.sleep(0.3)
                cli.stdin.write(CLIENT_MSG); cli.stdin.flush(); sent_c = True
            elif not sent_s:
                srv.stdin.write(SERVER_MSG); srv.stdin.flush(); sent_s = True
            else:
                break
        for x in r:
            d = x.recv(65536)
            if not d:
                deadline = 0
                continue
            (s if x is c else c).sendall(d)
            chunks.append(("c" if x is c else "s", d))
    for p in (cli, srv):
        p.kill(); p.wait()
    with open(name + ".chunks", "w") as f:
        for d, b in chunks:
            f.write("%s %s\n" % (d, b.hex()))
    os.replace(keylog, name + ".keys")


def early_ticket(tmp, key, crt, args):
    """A session ticket allowing early data, from a throwaway server; the client args
    that offer it with EARLY_MSG as early data."""
    ls = socket.socket(); ls.bind(("127.0.0.1", 0)); port = ls.getsockname()[1]; ls.close()
    srv = subprocess.Popen(["openssl", "s_server", "-accept", str(port), "-key", key, "-cert", crt,
                            "-early_data", "-quiet", "-tls1_3"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    sess = os.path.join(tmp, "early.sess")
    cli = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
                            "-servername", "wiretale.test", "-sess_out", sess, "-quiet", "-ign_eof"]
                           + args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    cli.stdin.write(CLIENT_MSG); cli.stdin.flush()
    time.sleep(1.0)
    for p in (cli, srv):
        p.kill(); p.wait()
    early = os.path.join(tmp, "early.txt")
    with open(early, "wb") as f:
        f.write(EARLY_MSG)
    return ["-sess_in", sess, "-early_data", early]


with tempfile.TemporaryDirectory() as tmp:
    for name, args in CASES:
        if sys.argv[1:] and name not in sys.argv[1:]:
            continue
        run(name, args, tmp)
        print(name, "ok")
