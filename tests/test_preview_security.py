"""The preview server against other web pages and bad clients (issue 16): DNS rebinding,
cross-origin control, the token beyond loopback, idle sockets, huge bodies, resets."""
from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

from rtstyle.controls import LiveControls
from rtstyle.frames import VideoFrame
from rtstyle.live import LiveStatus
from rtstyle.preview import PreviewServer


@pytest.fixture
def server() -> Iterator[PreviewServer]:
    s = PreviewServer("127.0.0.1", 0, LiveControls(["a", "b"]))
    yield s
    s.close()


def request(server: PreviewServer, method: str, path: str, headers: dict[str, str] | None = None,
            body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request with exactly these headers (urllib would add its own Host)."""
    head = {"Host": f"127.0.0.1:{server.port}", "Connection": "close", **(headers or {})}
    if body:
        head.setdefault("Content-Length", str(len(body)))
    text = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in head.items()) + "\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(text.encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    raw_headers, _, payload = rest.partition(b"\r\n\r\n")
    fields = dict(line.split(": ", 1) for line in raw_headers.decode().split("\r\n") if ": " in line)
    return int(status_line.split()[1]), fields, payload


def control(server: PreviewServer, headers: dict[str, str] | None = None, path: str = "/control") -> int:
    body = json.dumps({"action": "next_style"}).encode()
    return request(server, "POST", path, {"Content-Type": "application/json", **(headers or {})}, body)[0]


def test_a_foreign_host_name_is_refused(server: PreviewServer):
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, the Host header still says it."""
    assert request(server, "GET", "/state")[0] == 200
    assert request(server, "GET", "/state", {"Host": f"localhost:{server.port}"})[0] == 200
    assert request(server, "GET", "/state", {"Host": f"evil.example.com:{server.port}"})[0] == 403
    assert request(server, "GET", "/", {"Host": "evil.example.com"})[0] == 403


def test_cross_origin_control_is_refused(server: PreviewServer):
    style = server.controls.as_dict()["style"]
    assert control(server, {"Origin": "http://evil.example.com"}) == 403
    assert control(server, {"Sec-Fetch-Site": "cross-site"}) == 403
    assert server.controls.as_dict()["style"] == style, "a refused request must not act"
    assert control(server, {"Origin": f"http://127.0.0.1:{server.port}", "Sec-Fetch-Site": "same-origin"}) == 200
    assert server.controls.as_dict()["style"] != style


def test_beyond_loopback_every_request_needs_the_token():
    s = PreviewServer("0.0.0.0", 0, LiveControls(["a", "b"]))
    try:
        assert s.token and len(s.token) >= 16 and s.url.endswith(f"/?token={s.token}")
        assert s.link("stream.mjpg").endswith(f"/stream.mjpg?token={s.token}")
        assert request(s, "GET", "/state")[0] == 403
        assert request(s, "GET", "/state?token=wrong")[0] == 403
        assert control(s) == 403
        code, headers, _ = request(s, "GET", f"/?token={s.token}", {"Host": f"192.0.2.7:{s.port}"})
        assert code == 200 and f"rtstyle_token={s.token}" in headers["Set-Cookie"]
        assert "SameSite=Strict" in headers["Set-Cookie"]
        assert request(s, "GET", "/state", {"Cookie": f"rtstyle_token={s.token}"})[0] == 200  # the page's fetches
        assert control(s, {"Cookie": f"rtstyle_token={s.token}"}) == 200
    finally:
        s.close()


def test_idle_sockets_are_closed():
    server = PreviewServer("127.0.0.1", 0, LiveControls(["a", "b"]), timeout=0.5)
    socks = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(20)]
    t = time.monotonic()
    try:
        assert all(s.recv(1) == b"" for s in socks), "the server closes a silent client"
    finally:
        for s in socks:
            s.close()
        server.close()
    assert time.monotonic() - t < 5


def test_a_huge_body_is_refused_without_reading_it(server: PreviewServer):
    t = time.monotonic()
    head = {"Content-Type": "application/json", "Content-Length": str(10**9)}
    code, _, body = request(server, "POST", "/control", head, b"{")
    assert code == 413 and b"at most 4096 bytes" in body
    assert time.monotonic() - t < 5


def test_clients_that_reset_mid_response_print_nothing(server: PreviewServer, capfd: pytest.CaptureFixture):
    """Each client asks for a frame and resets its connection before the answer comes."""
    status = LiveStatus("a", 0.0, 0.0, 0.0, 0.0, 0, 0, server.controls.state())
    image = np.random.default_rng(0).integers(0, 255, (720, 1280, 3), np.uint8)  # a JPEG of several packets

    def show_later() -> None:
        time.sleep(0.5)
        server.show(VideoFrame(image, 0, None, 0.0, 0.0), status)

    shower = threading.Thread(target=show_later)
    shower.start()
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        s.sendall(f"GET /frame.jpg HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
        s.close()
    shower.join()
    time.sleep(1.0)  # the handlers answer into the reset sockets
    assert request(server, "GET", "/state")[0] == 200, "the server still serves"
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception" not in err, err
