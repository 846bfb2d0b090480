"""Stream out (`--stream URL`) against a local PyAV listener, and the sources' own damage counts.

The listener is a thread that opens ``tcp://127.0.0.1:PORT?listen=1`` with PyAV and decodes
what arrives with PyAV's own RGB conversion (not rtstyle.yuv, which the sink encodes with):
its frames are compared with the network's own output for the input's frames. This PyAV's
FFmpeg has no srt:// protocol: it is tested for its container and the one-line error a user
gets. rtmp:// is tested against a PyAV listener (``listen=1``) in a process of its own. UDP is not tested for frames: on a loaded 2-core machine the
loopback dropped datagrams (16 to 21 of 30 frames arrived).
"""
from __future__ import annotations

import logging
import socket
import struct
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import numpy as np
import pytest
from click.testing import CliRunner, Result

import rtstyle
from conftest import decode_video
from rtstyle import avcheck, outputs
from rtstyle.cli import main
from rtstyle.controls import LiveControls
from rtstyle.errors import SinkError
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource
from rtstyle.stream import container_for, encoder_options

TCP_LISTEN = "0A"  # the LISTEN state in /proc/net/tcp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return any(f":{port:04X}" == f[1][-5:] and f[3] == TCP_LISTEN for f in (line.split() for line in lines))


class Listener(threading.Thread):
    """Receives one MPEG-TS stream over TCP; ``stop_after`` video frames, it hangs up."""

    def __init__(self, stop_after: int | None = None):
        super().__init__(daemon=True)
        self.port, self.stop_after = free_port(), stop_after
        self.url = f"tcp://127.0.0.1:{self.port}"
        self.frames: list[np.ndarray] = []
        self.samples, self.rate, self.format, self.codecs = 0, 0, "", {}
        self.b_frames = False
        self.error: Exception | None = None
        self.start()
        deadline = time.monotonic() + 10
        while not listening(self.port):  # a sender that connects before the listen() is refused
            assert time.monotonic() < deadline, "the listener did not start"
            time.sleep(0.02)

    def run(self) -> None:
        try:
            with av.open(self.url + "?listen=1", "r", timeout=30) as c:
                self.format = c.format.name
                self.codecs = {s.type: s.codec_context.name for s in c.streams}
                last_pts = None
                for packet in c.demux():
                    for frame in packet.decode():
                        if packet.stream.type == "audio":
                            self.samples, self.rate = self.samples + frame.samples, frame.sample_rate
                            continue
                        self.frames.append(frame.to_ndarray(format="rgb24"))
                    if packet.stream.type == "video" and packet.pts is not None:
                        self.b_frames |= last_pts is not None and packet.pts < last_pts  # decode order != display order
                        last_pts = packet.pts
                    if self.stop_after and len(self.frames) >= self.stop_after:
                        return  # hang up mid-stream
        except Exception as e:  # noqa: BLE001  reported by the test
            self.error = e

    def result(self) -> Listener:
        self.join(timeout=60)
        assert not self.is_alive() and self.error is None, self.error
        return self


def one_error_line(r: Result) -> str:
    assert "Traceback" not in r.output and (r.exception is None or isinstance(r.exception, SystemExit)), r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1 and len(errors) == 1, r.stderr
    return errors[0]


def painted(data: Path, model: Path) -> list[np.ndarray]:
    """The network's own frames for the clip: the model on each decoded input frame."""
    style = rtstyle.load_style(model, threads=2)
    return [style(frame) for frame in decode_video(data / "walk_tone.mp4")]


def test_container_for_each_scheme():
    assert container_for("rtmp://live.example.com/app/key") == "flv"
    assert {container_for(f"{s}://127.0.0.1:5000") for s in ("srt", "udp", "tcp", "SRT")} == {"mpegts"}
    assert container_for("file:///tmp/out.ts") is None  # FFmpeg picks it from the name
    with pytest.raises(SinkError, match="not a stream URL"):
        container_for("out.ts")
    options = encoder_options(30)
    assert options["bf"] == "0" and options["tune"] == "zerolatency" and options["g"] == "60"


def test_render_streams_with_sound_and_no_file(data: Path, tiny_model: Path):
    """`render SRC --stream URL` with no DST: every frame arrives, in order, as the network
    painted it, with the clip's sound, in MPEG-TS without B-frames, at the clip's pace."""
    listener = Listener()
    t0 = time.monotonic()
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), "--stream", listener.url, "--style",
                                  str(tiny_model), "--smooth", "none", "--threads", "2"])
    seconds = time.monotonic() - t0
    assert r.exit_code == 0, r.output
    got = listener.result()
    assert got.format == "mpegts" and got.codecs == {"video": "h264", "audio": "aac"}
    assert not got.b_frames
    expected = painted(data, tiny_model)
    assert len(got.frames) == len(expected) == 30
    for i, (a, b) in enumerate(zip(got.frames, expected)):
        assert np.abs(a.astype(int) - b).mean() < 4, f"frame {i} is not the network's own"
    assert abs(got.samples / got.rate - 3.0) < 0.1, "the clip's 3 s of sound"
    assert seconds > 2.5, "sent at the clip's pace (3 s), not as fast as painted"
    assert f"-> {listener.url}" in r.stderr


def test_render_to_file_and_stream(data: Path, tmp_path: Path, tiny_model: Path):
    """DST and --stream: the file passes the A/V check and the stream carries the same pictures."""
    listener, dst = Listener(), tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(dst), "--stream", listener.url,
                                  "--style", str(tiny_model), "--smooth", "none", "--threads", "2"])
    assert r.exit_code == 0, r.output
    assert "A/V check: ok" in r.stderr
    got, kept = listener.result(), decode_video(dst)
    assert len(got.frames) == len(kept) == 30
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(got.frames, kept)) < 4


def test_the_stream_gets_the_soundtrack_too(data: Path, tmp_path: Path, tiny_model: Path):
    """--audio with --stream: the 2 s song goes to the receiver in place of the clip's 3 s of sound."""
    from test_soundtrack import soundtrack

    listener = Listener()
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), "--stream", listener.url, "--style",
                                  str(tiny_model), "--smooth", "none", "--audio",
                                  str(soundtrack(tmp_path / "song.wav", 2.0))])
    assert r.exit_code == 0, r.output
    got = listener.result()
    assert len(got.frames) == 30 and abs(got.samples / got.rate - 2.0) < 0.05


def hang_up_after_the_header() -> tuple[str, threading.Thread]:
    """A TCP receiver that takes the stream's first bytes and resets the connection: a plain
    socket, which (unlike a decoding listener) does it at once even on a loaded machine."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        with server:
            peer, _ = server.accept()
            peer.recv(4096)
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = reset
            peer.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"tcp://127.0.0.1:{server.getsockname()[1]}", thread


def test_stream_that_breaks_ends_the_render_and_keeps_a_playable_file(data: Path, tmp_path: Path, tiny_model: Path):
    """The receiver hangs up at the start: one error line, exit 1, and the file holds the
    frames done with their sound up to the last one (the A/V check of the part rendered)."""
    (url, receiver), dst = hang_up_after_the_header(), tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(dst), "--stream", url,
                                  "--style", str(tiny_model), "--smooth", "none", "--threads", "2",
                                  "--stream-timeout", "5"])
    receiver.join(timeout=10)
    assert f"the stream to {url} broke" in one_error_line(r)
    frames = avcheck.playable_frames(dst)
    assert 1 <= frames < 30
    info = avcheck.probe(dst)
    assert abs(info.audio[0] - info.video_seconds) < 0.15, "sound cut at the last frame"


def test_stream_that_cannot_be_opened_leaves_nothing(data: Path, tmp_path: Path, tiny_model: Path):
    dst = tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(dst), "--stream",
                                  f"tcp://127.0.0.1:{free_port()}", "--style", str(tiny_model)])
    assert "cannot open the stream tcp://127.0.0.1:" in one_error_line(r)
    assert not dst.exists(), "the file opened before the stream was removed: it had no frame"


# An RTMP listener in a process of its own (in a thread of the test's process the handshake
# never finished): it saves what it decoded. FFmpeg reports the publisher's hang-up as EIO.
RTMP_LISTENER = """
import sys, av, numpy as np
frames, samples, kinds = [], 0, {}
try:
    with av.open(sys.argv[1], "r", format="flv", options={"listen": "1"}, timeout=30) as c:
        kinds = {s.type: s.codec_context.name for s in c.streams}
        for packet in c.demux():
            for frame in packet.decode():
                if packet.stream.type == "video":
                    frames.append(frame.to_ndarray(format="rgb24"))
                else:
                    samples += frame.samples
except OSError:
    pass
np.savez(sys.argv[2], frames=np.array(frames), samples=samples, kinds=np.array(sorted(kinds.items())))
"""


def test_render_streams_to_an_rtmp_listener(data: Path, tmp_path: Path, tiny_model: Path):
    """rtmp:// gets FLV with H.264 and AAC: every frame arrives as the network painted it."""
    port, got = free_port(), tmp_path / "got.npz"
    url = f"rtmp://127.0.0.1:{port}/live/key"
    listener = subprocess.Popen([sys.executable, "-c", RTMP_LISTENER, url, str(got)])
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert time.monotonic() < deadline and listener.poll() is None, "the RTMP listener did not start"
            time.sleep(0.05)
        r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), "--stream", url, "--style",
                                      str(tiny_model), "--smooth", "none", "--threads", "2"])
        assert r.exit_code == 0, r.output
        assert listener.wait(timeout=60) == 0
    finally:
        listener.kill()
    received = np.load(got)
    assert dict(received["kinds"].tolist()) == {"video": "h264", "audio": "aac"}
    expected = painted(data, tiny_model)
    assert len(received["frames"]) == len(expected) == 30
    assert max(np.abs(a.astype(int) - b).mean() for a, b in zip(received["frames"], expected)) < 4
    assert received["samples"] > 0


@pytest.mark.parametrize("url", ["rtmp://127.0.0.1:{port}/live/key", "srt://127.0.0.1:{port}?mode=caller"])
def test_url_is_kept_whole(data: Path, tiny_model: Path, url: str):
    """A URL reaches FFmpeg as given (pathlib once made rtmp://host rtmp:/host); nobody there,
    or no such protocol in this FFmpeg (srt://), is one line that says which."""
    url = url.format(port=free_port())
    line = one_error_line(CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), "--stream", url,
                                                    "--style", str(tiny_model), "--stream-timeout", "2"]))
    assert f"cannot open the stream {url}: " in line, line


@pytest.mark.parametrize("command", [["render", "{clip}", "{url}"],
                                     ["live", "--source", "{clip}", "--record", "{url}", "--no-window"]])
def test_url_given_as_a_file_says_where_it_goes(data: Path, tiny_model: Path, command: list[str]):
    """A URL where a file belongs is one line pointing to --stream (it was 'output folder does
    not exist: rtmp:/host', pathlib having folded the URL)."""
    url = "rtmp://127.0.0.1:1935/live/key"
    args = [a.format(clip=data / "walk_tone.mp4", url=url) for a in command]
    line = one_error_line(CliRunner().invoke(main, [*args, "--style", str(tiny_model)]))
    assert line == f"error: output {url} is a URL, not a file (render and live send to a URL with --stream URL)"


def test_live_streams_the_frames_it_shows(data: Path, tmp_path: Path, tiny_model: Path):
    """`live --stream` (one row in the outputs table): each frame received is the network's
    painting of one of the clip's frames; no sound (a live run drops frames), and the user is told."""
    listener, rec = Listener(), tmp_path / "rec.mp4"
    r = CliRunner().invoke(main, ["live", "--source", str(data / "walk_tone.mp4"), "--stream", listener.url,
                                  "--record", str(rec), "--style", str(tiny_model), "--smooth", "none",
                                  "--threads", "1", "--duration", "10"])
    assert r.exit_code == 0, r.output
    assert f"streaming to {listener.url}" in r.output and "the stream has no sound" in r.output
    got = listener.result()
    assert got.codecs == {"video": "h264"} and not got.b_frames
    expected = painted(data, tiny_model)
    assert len(got.frames) == len(decode_video(rec)) >= 3
    for a in got.frames:
        assert min(np.abs(a.astype(int) - b).mean() for b in expected) < 4


def test_live_stream_that_breaks_keeps_the_recording(data: Path, tmp_path: Path, tiny_model: Path):
    listener, rec = Listener(stop_after=2), tmp_path / "rec.mp4"
    r = CliRunner().invoke(main, ["live", "--source", str(data / "walk_tone.mp4"), "--loop", "--stream", listener.url,
                                  "--record", str(rec), "--style", str(tiny_model), "--smooth", "none",
                                  "--threads", "1", "--duration", "20", "--stream-timeout", "5"])
    assert "the stream to" in one_error_line(r)
    assert avcheck.playable_frames(rec) >= 2


def test_each_source_counts_its_own_damage(data: Path):
    """Two sources decoded at once, one damaged: only that one counts damaged frames. Opening
    them changes neither PyAV's log level nor the `libav` logger."""
    level, logger = av.logging.get_level(), logging.getLogger("libav")
    handlers, propagate = list(logger.handlers), logger.propagate
    with VideoFileSource(data / "damaged.avi") as bad, VideoFileSource(data / "walk_tone.mp4") as good:
        for _ in zip(bad.frames(), good.frames()):
            pass
        assert bad.damaged_packets > 0 and good.damaged_packets == 0
    assert av.logging.get_level() == level and logger.handlers == handlers and logger.propagate == propagate


def test_sink_left_by_an_error(tmp_path: Path):
    """`with VideoFileSink(...)`: an error before any frame leaves no file; after some, a playable one."""
    rgb = np.full((48, 64, 3), 90, np.uint8)
    for frames in (0, 3):
        path = tmp_path / f"{frames}.mp4"
        with pytest.raises(RuntimeError):
            with VideoFileSink(path, 64, 48, Fraction(1, 10), Fraction(10)) as sink:
                for i in range(frames):
                    sink.write(rgb, i)
                raise RuntimeError("stop")
        assert sink.closed
        assert (avcheck.playable_frames(path) if path.exists() else 0) == frames


def test_realtime_sink_holds_frames_until_their_time(tmp_path: Path):
    """A stream of a render is sent at the video's pace: ten frames of a 10 fps video, ready at
    once, take their 0.9 s to write (the first one goes at once)."""
    rgb = np.zeros((48, 64, 3), np.uint8)
    with VideoFileSink(tmp_path / "paced.mp4", 64, 48, Fraction(1, 10), Fraction(10), realtime=True) as sink:
        t0 = time.monotonic()
        for i in range(10):
            sink.write(rgb, i)
        assert time.monotonic() - t0 >= 0.85


def test_one_row_of_the_outputs_table_serves_render_and_live(data: Path, tiny_model: Path, monkeypatch):
    """A new output is one row: `render` writes every frame to it in order and closes it as
    complete; a live run opens the same row. A live-only row is refused by a render."""
    made: list[Collect] = []

    class Collect:
        def __init__(self, ctx: outputs.OutputContext):
            self.ctx, self.pts, self.complete = ctx, [], None
            made.append(self)

        def show(self, frame, status) -> None:
            self.pts.append(frame.pts)

        def close(self, complete: bool = True) -> None:
            self.complete = complete

        def discard(self) -> None:
            raise AssertionError("a finished render discards nothing")

    monkeypatch.setitem(outputs.OUTPUTS, "collect", outputs.Row(lambda value, ctx: (Collect(ctx), []), render=True))
    report = rtstyle.render(data / "walk_tone.mp4", None, rtstyle.load_style(tiny_model, threads=2), smooth="none",
                            outputs={"collect": True})
    [rendered] = made
    assert report.frames_out == len(rendered.pts) == 30 and rendered.pts == sorted(set(rendered.pts))
    assert rendered.complete is True and rendered.ctx.render is not None and report.check is None
    live = outputs.open_outputs({"collect": True}, outputs.OutputContext(64, 48, 10.0, LiveControls(["a"])))
    assert live == [made[1]] and made[1].ctx.render is None
    with pytest.raises(ValueError, match="does not write to the window"):
        rtstyle.render(data / "walk_tone.mp4", None, tiny_model, outputs={"window": True})


def sending_until_it_fails(url: str, failed: list[Exception]) -> threading.Thread:
    """A thread that streams ~1 MB frames of noise to ``url`` (timeout 1 s) and keeps the
    SinkError that ends it; a daemon, so that a hang fails the test, not the suite."""

    def send() -> None:
        noise = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)
        sink = rtstyle.stream.open_stream(url, 640, 480, Fraction(1, 10), Fraction(10), crf=0, timeout=1)
        try:
            for i in range(400):
                sink.write(np.roll(noise, 7 * i, axis=1), i)
        except SinkError as e:
            failed.append(e)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender


def test_receiver_that_stops_reading_ends_the_stream(tmp_path: Path):
    """A TCP peer that accepts and never reads: once the socket buffers are full, the write
    waits --stream-timeout seconds, then fails with one SinkError (not a hang)."""
    failed: list[Exception] = []
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        url = f"tcp://127.0.0.1:{server.getsockname()[1]}"
        sender = sending_until_it_fails(url, failed)
        peer, _ = server.accept()
        with peer:
            sender.join(timeout=60)
            assert not sender.is_alive(), "the write hung"
    assert len(failed) == 1 and f"the stream to {url} broke after" in str(failed[0])


# An RTMP receiver that takes the connection and three packets, then stops (SIGSTOP): its
# socket stays open and takes nothing more.
RTMP_STALLING_LISTENER = """
import os, signal, sys, av
with av.open(sys.argv[1], "r", format="flv", options={"listen": "1"}, timeout=30) as c:
    for n, _ in enumerate(c.demux(), 1):
        if n == 3:
            os.kill(os.getpid(), signal.SIGSTOP)
"""


def test_rtmp_receiver_that_stops_reading_ends_the_stream():
    """RTMP takes no socket timeout from its URL: the watchdog (rtstyle.stalls) shuts the
    connection down after the timeout, and the write fails with one SinkError that says why."""
    port, failed = free_port(), []
    url = f"rtmp://127.0.0.1:{port}/live/key"
    listener = subprocess.Popen([sys.executable, "-c", RTMP_STALLING_LISTENER, url])
    try:
        deadline = time.monotonic() + 30
        while not listening(port):
            assert time.monotonic() < deadline and listener.poll() is None, "the RTMP listener did not start"
            time.sleep(0.05)
        sender = sending_until_it_fails(url, failed)
        sender.join(timeout=60)
        assert not sender.is_alive(), "the write hung"
    finally:
        listener.kill()
    assert len(failed) == 1, "every frame was sent: the receiver never stopped taking them"
    assert f"the stream to {url} broke after" in str(failed[0]) and "stalled" in str(failed[0])


def test_a_source_that_fails_to_open_closes_its_file(tmp_path: Path, monkeypatch):
    """An input with sound and no video fails in VideoFileSource's constructor, after the file
    was opened: the container is closed again (PyAV says so when it is read)."""
    sound_only = tmp_path / "tone.m4a"
    with av.open(str(sound_only), "w") as c:
        stream = c.add_stream("aac", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 8000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            c.mux(packet)
    opened: list[av.container.InputContainer] = []
    real_open = av.open
    monkeypatch.setattr(av, "open", lambda *a, **k: opened.append(real_open(*a, **k)) or opened[-1])
    with pytest.raises(rtstyle.SourceError, match="has no video stream"):
        VideoFileSource(sound_only)
    with pytest.raises(AssertionError, match="not open"):
        list(opened[0].demux())


def test_the_stream_row_paces_a_render_and_not_a_live_run(data: Path):
    """A render's stream is sent at the video's pace (test above for the sink); a live run's
    frames already come at the camera's pace and are sent as they are shown."""
    timing = outputs.RenderTiming(Fraction(1, 10), Fraction(10), 0.0, 23)
    for ctx, paced in ((outputs.OutputContext(64, 48, 10.0, render=timing), True),
                       (outputs.OutputContext(64, 48, 10.0, LiveControls(["a"])), False)):
        listener = Listener()
        output, _ = outputs.OUTPUTS["stream"].open(listener.url, ctx)
        sink = getattr(output, "sink", output)  # a live run's Recorder holds its sink
        assert sink.realtime is paced
        output.close()  # no frame sent: the listener gives up on its own
        listener.join(timeout=30)
