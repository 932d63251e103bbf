"""The HTTP/3 lab's ASGI application, run by aioquic's examples/http3_server.py.

Serves the files under $LAB_WWW, answers POST /api/items with 201 and a small JSON body,
and anything else with 404. Every request is appended to $LAB_H3_LOG as one TSV line --
the HTTP/3 truth of the captures, since tshark 4.0 does not decode HTTP/3 headers:

  client  stream_id  method  authority  path  status  request_bytes  response_bytes  content_type

The stream id is not part of an ASGI scope: at import this module wraps the server's
HttpRequestHandler (in __main__, the server script) so each scope carries it.
"""

import mimetypes
import os

import __main__

_orig_init = __main__.HttpRequestHandler.__init__


def _init(self, *args, **kwargs):
    kwargs["scope"]["wiretale.stream_id"] = kwargs.get("stream_id")
    _orig_init(self, *args, **kwargs)


__main__.HttpRequestHandler.__init__ = _init

WWW = os.path.realpath(os.environ.get("LAB_WWW", "."))
LOG = os.environ.get("LAB_H3_LOG")
TYPES = {".html": "text/html", ".css": "text/css", ".js": "application/javascript",
         ".png": "image/png", ".ico": "image/x-icon"}


def _log(scope, status, req_len, resp_len, ctype):
    if not LOG:
        return
    authority = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
    client = "%s:%d" % tuple(scope["client"])
    with open(LOG, "a") as f:
        f.write("\t".join(str(x) for x in (
            client, scope.get("wiretale.stream_id"), scope["method"], authority,
            scope["path"], status, req_len, resp_len, ctype)) + "\n")


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        msg = await receive()
        body += msg.get("body", b"")
        if not msg.get("more_body"):
            break
    path = scope["path"]
    if scope["method"] == "POST" and path.startswith("/api/"):
        status, ctype, data = 201, "application/json", b'{"ok":true}\n'
    else:
        rel = "index.html" if path == "/" else path.lstrip("/")
        full = os.path.realpath(os.path.join(WWW, rel))
        if scope["method"] in ("GET", "HEAD") and full.startswith(WWW + os.sep) and os.path.isfile(full):
            status = 200
            ctype = TYPES.get(os.path.splitext(full)[1]) or mimetypes.guess_type(full)[0] or "application/octet-stream"
            with open(full, "rb") as f:
                data = f.read()
        else:
            status, ctype, data = 404, "text/plain", b"not found\n"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype.encode()), (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})
    _log(scope, status, len(body), len(data), ctype)
