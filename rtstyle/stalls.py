"""Stalled receivers: a network output that stops taking data ends with an error, not a hang.

FFmpeg opens an output's socket without PyAV's interrupt callback, so PyAV's ``timeout``
does not reach it. TCP and SRT take FFmpeg's own socket ``timeout`` from the URL
(:func:`with_socket_timeout`); RTMP takes no options from its URL, and a receiver that
stops reading would block a write for ever. So every stream output also gets a
:class:`Watchdog`: when one write has waited ``timeout`` seconds it shuts the stream's
connection down, and the write fails as for a receiver that hung up.

Two limits. FFmpeg's connect (the RTMP handshake) holds Python's lock, so no thread can
stop it; a server that accepts the connection and never answers the handshake still
blocks. The stream's socket is found in ``/dev/fd`` (Linux, macOS); where there is none
(Windows) the watchdog has nothing to shut down and an RTMP write may block as before.
"""
from __future__ import annotations

import contextlib
import os
import socket
import stat
import threading
from collections.abc import Callable, Iterator

from rtstyle.sources import url_scheme

# URL schemes whose sockets take FFmpeg's ``timeout`` option (microseconds) from the query string.
SOCKET_TIMEOUT_SCHEMES = ("tcp", "srt")


def with_socket_timeout(url: str, timeout: float | None) -> str:
    """The URL with FFmpeg's socket ``timeout`` for connecting and each write, unless it has one."""
    if timeout is None or url_scheme(url) not in SOCKET_TIMEOUT_SCHEMES or "timeout=" in url:
        return url
    return f"{url}{'&' if '?' in url else '?'}timeout={round(timeout * 1e6)}"


def open_sockets() -> dict[int, object]:
    """This process's connected sockets: file descriptor -> peer address (empty without /dev/fd)."""
    try:
        names = os.listdir("/dev/fd")
    except OSError:
        return {}
    found: dict[int, object] = {}
    for name in names:
        with contextlib.suppress(OSError, ValueError):
            fd = int(name)
            if stat.S_ISSOCK(os.fstat(fd).st_mode) and (peer := _peer(fd)) is not None:
                found[fd] = peer
    return found


def _peer(fd: int) -> object:
    """The peer address of the socket ``fd``, None if it is not a connected socket."""
    with contextlib.suppress(OSError), _copy(fd) as s:
        return s.getpeername()
    return None


def _copy(fd: int) -> socket.socket:
    """A socket object on a copy of the descriptor ``fd``: closing it leaves FFmpeg's open."""
    copy = os.dup(fd)
    try:
        return socket.socket(fileno=copy)
    except OSError:  # a socket family Python does not know
        os.close(copy)
        raise


class Watchdog:
    """Shuts ``sockets`` (descriptor -> peer, as :func:`open_sockets` gives them) down when a
    watched call has taken ``timeout`` seconds; ``fired`` says it did, for the error message."""

    def __init__(self, sockets: dict[int, object], timeout: float):
        self.sockets, self.timeout, self.fired = sockets, timeout, False

    @classmethod
    def around(cls, connect: Callable[[], object], timeout: float) -> Watchdog:
        """Call ``connect()`` and watch the sockets it opened (FFmpeg holds Python's lock
        while it connects, so no other thread of this process opens one meanwhile)."""
        before = open_sockets()
        connect()
        return cls({fd: peer for fd, peer in open_sockets().items() if before.get(fd) != peer}, timeout)

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """Run the block; should it take ``timeout`` seconds, the connection is shut down under it."""
        timer = threading.Timer(self.timeout, self._shut_down)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _shut_down(self) -> None:
        for fd, peer in self.sockets.items():
            with contextlib.suppress(OSError), _copy(fd) as s:
                if s.getpeername() == peer:  # still the stream's (a closed descriptor's number is reused)
                    s.shutdown(socket.SHUT_RDWR)  # wakes the blocked write, which fails
                    self.fired = True
