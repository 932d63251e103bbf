"""An HTTP/3 client that changes its connection ID and then its address mid-connection.

Run by tests/lab/quic.sh (scenario aioquic-migrate) with the lab venv's Python. One QUIC
connection, three segments:

  1. GET URL[0] from the first local port, with the connection IDs of the handshake;
  2. change_connection_id(): the client moves to the next connection ID the server issued
     in NEW_CONNECTION_ID and retires the old one (RETIRE_CONNECTION_ID, RFC 9000 §5.1.2),
     same address; then GET URL[1];
  3. NAT rebinding / migration: the client opens a new UDP socket on another local port,
     moves the connection onto it and changes its connection ID again (a client that
     changes address must not reuse one, RFC 9000 §9.5); the server validates the new path
     with PATH_CHALLENGE / PATH_RESPONSE (§8.2) and answers there; then GET URL[2:].

Every step is printed as one TSV line (step, local port, destination connection ID in use,
detail) to stdout and to --steps, the truth of the capture's CIDs and ports.

The HTTP/3 layer is aioquic's example client (examples/http3_client.py, imported from
--examples) so requests look like the other lab captures'.
"""

import argparse
import asyncio
import socket
import ssl
import sys
import time
from urllib.parse import urlparse


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", required=True, help="aioquic's examples directory")
    ap.add_argument("--ca-certs", required=True)
    ap.add_argument("--secrets-log", required=True)
    ap.add_argument("--steps", required=True, help="TSV of what was done (appended)")
    ap.add_argument("urls", nargs="+")
    a = ap.parse_args()
    if len(a.urls) < 3:
        ap.error("give at least three URLs (one per segment)")
    sys.path.insert(0, a.examples)
    return asyncio.run(run(a))


async def run(a) -> int:
    from aioquic.asyncio.client import connect
    from aioquic.h3.connection import H3_ALPN
    from aioquic.h3.events import DataReceived, HeadersReceived
    from aioquic.quic.configuration import QuicConfiguration
    from http3_client import HttpClient

    u = urlparse(a.urls[0])
    host, port = u.hostname, u.port or 443
    cfg = QuicConfiguration(is_client=True, alpn_protocols=H3_ALPN)
    cfg.load_verify_locations(a.ca_certs)
    cfg.verify_mode = ssl.CERT_REQUIRED
    cfg.secrets_log_file = open(a.secrets_log, "a")
    steps = open(a.steps, "a")
    loop = asyncio.get_running_loop()

    def local_port(client) -> int:
        return client._transport.get_extra_info("sockname")[1]

    def note(client, step, detail=""):
        dcid = client._quic._peer_cid.cid.hex()
        line = "\t".join([step, "%.6f" % time.time(), str(local_port(client)), dcid, detail])
        print(line, flush=True)
        steps.write(line + "\n")
        steps.flush()

    async def get(client, url):
        events = await client.get(url)
        status, n = "?", 0
        for e in events:
            if isinstance(e, HeadersReceived):
                status = dict(e.headers).get(b":status", b"?").decode()
            elif isinstance(e, DataReceived):
                n += len(e.data)
        note(client, "get", "%s %s %d" % (urlparse(url).path, status, n))
        return status

    ok = True
    async with connect(host, port, configuration=cfg, create_protocol=HttpClient) as client:
        note(client, "connected", "to %s:%d" % (host, port))
        ok &= await get(client, a.urls[0]) == "200"

        # 2. a new connection ID on the same path
        await asyncio.sleep(0.2)
        client.change_connection_id()
        note(client, "change_cid", "same local port")
        await client.ping()
        ok &= await get(client, a.urls[1]) == "200"

        # 3. a new local port (as a NAT rebinding would give) and a new connection ID
        await asyncio.sleep(0.2)
        old = client._transport
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(("::", 0, 0, 0))
        await loop.create_datagram_endpoint(lambda: client, sock=sock)  # sets client._transport
        before = old.get_extra_info("sockname")[1]
        old.close()
        client.change_connection_id()
        note(client, "rebind", "local port %d -> %d, new connection ID" % (before, local_port(client)))
        await client.ping()
        for url in a.urls[2:]:
            ok &= await get(client, url) == "200"
        note(client, "close", "")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
