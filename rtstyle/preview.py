"""Live output to a browser: a small control page and an MJPEG stream over HTTP.

``GET /`` the page, ``GET /stream.mjpg`` the stylized stream (usable by OBS as a media
or browser source), ``GET /frame.jpg`` the newest frame, ``GET /state`` the controls
and the HUD figures as JSON, ``POST /control`` with JSON ``{"action": ..., "value": ...}``
runs the same actions as the window's hotkeys on the same :class:`LiveControls`.

Each frame is JPEG-encoded at most once, on the first request for it, in the request's
thread: the output thread only hands the frame over.

Other web pages in the user's browser must not steer or watch the filter. Requests whose
``Host`` is not the bound address or a localhost name are refused (DNS rebinding), as
are cross-origin POSTs. Served beyond loopback, every request needs the random token
printed in the URL (as notebook servers do); the page gets it as a same-site cookie.
Sockets time out when idle, request bodies are small, and a viewer that goes away mid-
response is no error.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import secrets
import socket
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

import cv2
import numpy as np

from rtstyle.controls import LiveControls
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus

log = logging.getLogger(__name__)
BOUNDARY = "frame"
SOCKET_TIMEOUT = 10.0  # seconds a client may stay silent (or not read) before its socket is closed
MAX_BODY = 4096        # bytes of a control request: an action and a value
LOCAL_NAMES = {"localhost", "127.0.0.1", "::1"}
COOKIE = "rtstyle_token"


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT``, meaning 127.0.0.1) -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise SinkError(f"--serve wants HOST:PORT, e.g. 127.0.0.1:8080 (got '{text}')")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is this machine's loopback."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)
    except (OSError, ValueError):
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stream client never keeps the process alive
    preview: PreviewServer

    def handle_error(self, request: object, client_address: tuple) -> None:
        """A viewer that resets or times out mid-response is routine, not a traceback on the console."""
        log.debug("preview client %s went away", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        self.timeout = self.server.preview.timeout  # applied to the socket by StreamRequestHandler.setup
        super().setup()

    def _host_allowed(self) -> bool:
        """The Host header names this server: the bound address or a localhost name (a DNS
        rebinding attack sends the attacker's name)."""
        host = self.headers.get("Host", "")
        name = host[1:host.index("]")] if host.startswith("[") and "]" in host else host.rsplit(":", 1)[0]
        return name.lower() in LOCAL_NAMES | {str(self.server.preview.host).lower()}

    def _same_origin(self) -> bool:
        """A browser names the page a request comes from; only this server's own page may act."""
        if self.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = self.headers.get("Origin")
        return origin is None or origin.split("://", 1)[-1] == self.headers.get("Host", "")

    def _token(self) -> str | None:
        """The token this request carries: ``?token=`` or the cookie the page was given."""
        query = self.path.partition("?")[2]
        for part in query.split("&"):
            key, _, value = part.partition("=")
            if key == "token":
                return value
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        return cookie[COOKIE].value if COOKIE in cookie else None

    def _allowed(self) -> bool:
        """Answer 403 (and False) for a request from elsewhere."""
        preview = self.server.preview
        if not preview.token and not self._host_allowed():
            self._json(403, {"error": "unknown Host: open the address the server printed"})
            return False
        token = self._token()
        if preview.token and not (token and hmac.compare_digest(token, preview.token)):
            self._json(403, {"error": "open the URL with the token the server printed"})
            return False
        return True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (stdlib's name)
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.server.preview.token:  # the page's own requests carry the token as a cookie
            self.send_header("Set-Cookie", f"{COOKIE}={self.server.preview.token}; HttpOnly; SameSite=Strict; Path=/")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, data: dict) -> None:
        self._send(code, json.dumps(data).encode(), "application/json")

    def do_GET(self) -> None:  # noqa: N802 (stdlib's name)
        if not self._allowed():
            return
        preview = self.server.preview
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send(200, preview.page, "text/html; charset=utf-8")
        elif path == "/state":
            self._json(200, preview.state())
        elif path == "/frame.jpg":
            got = preview.jpeg(after=0, timeout=5.0)
            if got is None:
                self._json(503, {"error": "no frame yet"})
            else:
                _, data, index, style = got
                self._send(200, data, "image/jpeg", {"X-Frame-Index": str(index), "X-Style": style})
        elif path == "/stream.mjpg":
            self._stream(preview)
        else:
            self._json(404, {"error": f"no such page: {path}"})

    def do_POST(self) -> None:  # noqa: N802 (stdlib's name)
        self.close_connection = True  # a body left unread must not be taken for the next request
        if not self._allowed():
            return
        if not self._same_origin():
            self._json(403, {"error": "cross-origin requests cannot control the filter"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._json(413, {"error": f"a control request has at most {MAX_BODY} bytes"})
            return
        if self.path.split("?", 1)[0] != "/control":
            self._json(404, {"error": f"no such endpoint: {self.path}"})
            return
        # JSON only: a plain cross-site form post cannot send it, so other pages cannot steer the filter.
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            self._json(415, {"error": "send JSON: {\"action\": ..., \"value\": ...}"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
            self.server.preview.controls.act(str(body.get("action")), body.get("value"))
        except (ValueError, TypeError, AttributeError) as e:
            self._json(400, {"error": str(e)})
            return
        self._json(200, self.server.preview.state())

    def _stream(self, preview: PreviewServer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seq = 0
        try:
            while not preview.closed:
                got = preview.jpeg(after=seq, timeout=1.0)
                if got is None:
                    continue
                seq, data = got[0], got[1]
                self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                                 .encode() + data + b"\r\n")
        except (OSError, ValueError):
            pass  # the viewer went away, stopped reading (timeout) or closed the socket


class PreviewServer:
    """HTTP server in a background thread; a live output (``show``/``close``)."""

    def __init__(self, host: str, port: int, controls: LiveControls, quality: int = 80, token: str | None = None,
                 timeout: float = SOCKET_TIMEOUT):
        """``token`` is required from clients; a server beyond loopback makes one up when none is
        given. A client silent (or not reading) for ``timeout`` seconds is disconnected."""
        self.controls, self.quality, self.timeout = controls, quality, timeout
        self.token = token or (None if is_loopback(host) else secrets.token_urlsafe(16))
        self.page = resources.files("rtstyle").joinpath("preview.html").read_bytes()
        try:
            self.httpd = (_Server6 if ":" in host else _Server)((host, port), _Handler)
        except OSError as e:
            raise SinkError(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
        self.httpd.preview = self
        self.host, self.port = self.httpd.server_address[:2]
        self._cond = threading.Condition()
        self._seq = 0
        self._frame: tuple[np.ndarray, int, str] | None = None
        self._encoded: tuple[int, bytes] = (0, b"")
        self._status: dict = {}
        self.closed = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="preview", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.link()

    def link(self, path: str = "") -> str:
        """The address of ``path`` on this server, with the token when one is needed."""
        host = f"[{self.host}]" if ":" in str(self.host) else self.host
        return f"http://{host}:{self.port}/{path}" + (f"?token={self.token}" if self.token else "")

    def state(self) -> dict:
        with self._cond:
            status = dict(self._status)
        return {**self.controls.as_dict(), **status}

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        with self._cond:
            self._seq += 1
            self._frame = (frame.image, frame.index, status.style)
            self._status = status.as_dict()
            self._cond.notify_all()

    def jpeg(self, after: int, timeout: float) -> tuple[int, bytes, int, str] | None:
        """The newest frame newer than sequence number ``after`` as JPEG, waiting up to ``timeout``."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._seq > after or self.closed, timeout) or self._frame is None:
                return None
            seq, (image, index, style) = self._seq, self._frame
            if self._encoded[0] == seq:
                return seq, self._encoded[1], index, style
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        data = buf.tobytes()
        with self._cond:
            if self._encoded[0] < seq:
                self._encoded = (seq, data)
        return seq, data, index, style

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self.httpd.shutdown()
        self.httpd.server_close()
