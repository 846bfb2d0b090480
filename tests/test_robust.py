"""Failures users run into: bad model files, signals mid-render, a camera that goes away,
a stream that stalls. Each must end with one clear line and lose nothing already made."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import rtstyle
from conftest import stream_info
from test_cli import assert_one_line_error
from test_cli import rtstyle as rtstyle_cli
from rtstyle.controls import LiveControls
from rtstyle.errors import ModelError
from rtstyle.live import LivePipeline
from rtstyle.painter import Painter
from rtstyle.recorder import Recorder
from rtstyle.sources import CameraSource, Reconnect, VideoFileSource

ROOT = Path(__file__).resolve().parent.parent
F, U8 = TensorProto.FLOAT, TensorProto.UINT8


# --- models ---------------------------------------------------------------------------
def _model(folder: Path, name: str, nodes: list, inputs: list, outputs: list, inits: tuple = (),
           card: dict | None = None) -> Path:
    """A real ONNX file: ``inputs``/``outputs`` are (name, element type, shape) triples."""
    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info(*i) for i in inputs],
                              [helper.make_tensor_value_info(*o) for o in outputs],
                              [numpy_helper.from_array(np.asarray(v), n) for n, v in inits])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if card is not None:
        model.metadata_props.add(key="rtstyle", value=json.dumps(card))
    onnx.checker.check_model(model)
    path = folder / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


IMAGE = ("x", F, [1, 3, "h", "w"])
RELU = [helper.make_node("Relu", ["x"], ["y"])]

# name -> (nodes, inputs, outputs, initializers, card, what the error must say)
BAD_GRAPHS = {
    "rank3": (RELU, [("x", F, [1, 3, "w"])], [("y", F, [1, 3, "w"])], (), None, "not an image model"),
    "rank5": (RELU, [("x", F, [1, 3, 1, "h", "w"])], [("y", F, [1, 3, 1, "h", "w"])], (), None, "not an image model"),
    "grey": (RELU, [("x", F, [1, 1, "h", "w"])], [("y", F, [1, 1, "h", "w"])], (), None, "not an image model"),
    "rgba": (RELU, [("x", F, [1, 4, "h", "w"])], [("y", F, [1, 4, "h", "w"])], (), None, "not an image model"),
    "vector": (RELU, [("x", F, [1, 10])], [("y", F, [1, 10])], (), None, "not an image model"),
    "uint8_input": ([helper.make_node("Cast", ["x"], ["y"], to=F)], [("x", U8, [1, 3, "h", "w"])],
                    [("y", F, [1, 3, "h", "w"])], (), None, "not an image model"),
    "nhwc_card_on_nchw": (RELU, [IMAGE], [("y", F, [1, 3, "h", "w"])], (), {"layout": "NHWC"}, "not an image model"),
    "fixed_224": (RELU, [("x", F, [1, 3, 224, 224])], [("y", F, [1, 3, 224, 224])], (), None,
                  "only takes 224x224 images"),
    "classifier": ([helper.make_node("ReduceMean", ["x"], ["m"], axes=[2, 3], keepdims=0),
                    helper.make_node("MatMul", ["m", "fc"], ["y"])], [IMAGE], [("y", F, [1, 1000])],
                   (("fc", np.ones((3, 1000), np.float32)),), None,
                   "not an image-to-image model"),
    "int_output": ([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.INT64)], [IMAGE],
                   [("y", TensorProto.INT64, [1, 3, "h", "w"])], (), None, "not an image-to-image model"),
    "half_size": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])], [IMAGE],
                  [("y", F, [1, 3, "h2", "w2"])], (), None, "must keep the image size"),
    # Exporters only label dynamic axes: this one claims to keep the size and halves it.
    "half_size_mislabelled": ([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                              [IMAGE], [("y", F, [1, 3, "h", "w"])], (), None, "must keep the image size"),
    "double_size": ([helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest")], [IMAGE],
                    [("y", F, [1, 3, "h2", "w2"])], (("scales", np.array([1, 1, 2, 2], np.float32)),), None,
                    "must keep the image size"),
    "grey_output": ([helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=1)], [IMAGE],
                    [("y", F, [1, 1, "h", "w"])], (), None,
                    "must keep the image size"),
    "transposed": ([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 1, 3, 2])], [IMAGE],
                   [("y", F, [1, 3, "w", "h"])], (), None, "must keep the image size"),
    "fixed_reshape": ([helper.make_node("Reshape", ["x", "shape"], ["y"])], [IMAGE], [("y", F, [1, 3, 32, 32])],
                      (("shape", np.array([1, 3, 32, 32], np.int64)),), None, "fails on a 36x32 test image"),
    "two_outputs": ([*RELU, helper.make_node("Sigmoid", ["x"], ["z"])], [IMAGE],
                    [("y", F, [1, 3, "h", "w"]), ("z", F, [1, 3, "h", "w"])], (), None, "has 2 outputs (y, z)"),
    "no_input": ([helper.make_node("Relu", ["c"], ["y"])], [], [("y", F, [1, 3, 2, 2])],
                 (("c", np.ones((1, 3, 2, 2), np.float32)),), None, "takes no input"),
    "undescribed_input": ([helper.make_node("Mul", ["x", "s"], ["y"])], [IMAGE, ("s", F, [1])],
                          [("y", F, [1, 3, "h", "w"])], (), None, "needs input 's'"),
    "card_input_without_default": ([helper.make_node("Mul", ["x", "s"], ["y"])], [IMAGE, ("s", F, [1])],
                                   [("y", F, [1, 3, "h", "w"])], (), {"inputs": {"s": {"shape": [1]}}},
                                   "describes the extra inputs wrongly"),
    "card_default_of_wrong_size": ([helper.make_node("Mul", ["x", "s"], ["y"])], [IMAGE, ("s", F, [1])],
                                   [("y", F, [1, 3, "h", "w"])], (), {"inputs": {"s": {"default": [1.0, 2.0]}}},
                                   "fails on a 36x32 test image"),
    "predictor_role": (RELU, [IMAGE], [("y", F, [1, 3, "h", "w"])], (), {"role": "style_predictor"},
                       "is a style predictor, not a style model"),
}


def _bad_graph(folder: Path, name: str) -> tuple[Path, str]:
    nodes, inputs, outputs, inits, card, needle = BAD_GRAPHS[name]
    return _model(folder, name, nodes, inputs, outputs, inits, card), needle


def _bad_file(folder: Path, name: str, good: Path) -> Path:
    """Files that are not ONNX, or ONNX cut short: a broken download, a wrong file renamed."""
    path = folder / f"{name}.onnx"
    whole = good.read_bytes()
    content = {"empty": b"", "text": b"this is not a model\n" * 40,
               "jpeg": (ROOT / "tests" / "data" / "messi5.jpg").read_bytes()[:20000],
               "random": np.random.default_rng(8).bytes(20000),
               "cut_16_bytes": whole[:16], "cut_half": whole[:len(whole) // 2],
               "cut_last_20_bytes": whole[:-20]}.get(name)
    if content is None:  # "folder": a directory that has a model's name
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


BAD_FILES = ["empty", "text", "jpeg", "random", "cut_16_bytes", "cut_half", "cut_last_20_bytes", "folder"]


def _rejected(path: Path) -> str:
    """Load ``path`` as a style: it must fail at load with one line, and that line is returned."""
    with pytest.raises(ModelError) as info:
        rtstyle.load_style(path, threads=1)
    message = str(info.value)
    assert "\n" not in message and path.name in message, message
    return message


@pytest.mark.parametrize("name", BAD_FILES)
def test_file_that_is_not_a_model_is_rejected(tiny_model: Path, tmp_path: Path, name: str):
    message = _rejected(_bad_file(tmp_path, name, tiny_model))
    assert "not a usable ONNX model" in message or "is a folder" in message, message


@pytest.mark.parametrize("name", sorted(BAD_GRAPHS))
def test_model_that_is_not_image_to_image_is_rejected_at_load(tmp_path: Path, name: str):
    path, needle = _bad_graph(tmp_path, name)
    assert needle in _rejected(path)


def test_a_plain_image_to_image_graph_is_accepted(tmp_path: Path):
    """The control for the table above: the same builder makes a model that loads and runs."""
    path = _model(tmp_path, "relu", RELU, [IMAGE], [("y", F, [1, 3, "h", "w"])])
    frame = np.random.default_rng(0).integers(0, 255, (37, 51, 3), np.uint8)
    assert np.array_equal(rtstyle.load_style(path, threads=1)(frame), frame)


def test_bad_models_through_the_cli(data: Path, tiny_model: Path, tmp_path: Path):
    """What a user sees: one line, exit 1, no output file; one case per kind of check (file, probe, failing run)."""
    cases = [(_bad_file(tmp_path, "cut_half", tiny_model), "not a usable ONNX model"),
             _bad_graph(tmp_path, "half_size_mislabelled"), _bad_graph(tmp_path, "fixed_reshape")]
    for model, needle in cases:
        out = tmp_path / f"{model.stem}.png"
        r = rtstyle_cli("image", data / "messi5.jpg", out, "--style", model)
        assert_one_line_error(r, needle)
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr  # nothing else printed, by us or by ORT
        assert not out.exists()


# --- signals --------------------------------------------------------------------------
def _looped(src: Path, dst: Path, times: int) -> Path:
    """``src`` played ``times`` times in a row, remuxed without re-encoding (video and audio)."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        pairs = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        span = {s.index: s.duration for s in inp.streams}
        for loop in range(times):
            inp.seek(0)
            for packet in inp.demux():
                if packet.dts is None or (loop and packet.pts < 0):  # the encoder's priming, once
                    continue
                packet.pts += loop * span[packet.stream.index]
                packet.dts += loop * span[packet.stream.index]
                packet.stream = pairs[packet.stream.index]
                out.mux(packet)
    return dst


def render_then_signal(tmp_path: Path, signals: list[tuple[float, int]]) -> tuple[subprocess.Popen, str, Path]:
    """Start a real render and send ``signals`` (seconds after the previous one, signal)
    once it is rendering; the finished process, its stderr and its output path."""
    # A real clip with audio played six times (60 s, 600 frames) on one thread: about 20 s
    # of rendering here, so the signal lands mid-render even on a machine several times faster.
    src = _looped(ROOT / "examples" / "pedestrians.mp4", tmp_path / "long.mp4", 6)
    dst, log = tmp_path / "cut.mp4", tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as err:
        p = subprocess.Popen([sys.executable, "-m", "rtstyle", "render", src, dst, "--style", "starry_night",
                              "--threads", "1", "--smooth", "none"], stderr=err, env=env,
                             # As from a terminal: a background job (CI) inherits SIGINT ignored.
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 60
        while "rendering" not in log.read_text() and time.monotonic() < deadline:  # the model is loaded
            time.sleep(0.05)
        for delay, sig in signals:
            time.sleep(delay)
            p.send_signal(sig)
        p.wait(timeout=60)
    return p, log.read_text(), dst


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_mid_render_finishes_the_file(tmp_path: Path, sig: int):
    """Ctrl-C or SIGTERM while rendering: exit 128 + signal, one line saying how many frames
    were written, and a file that plays exactly those frames with audio of the same length,
    checked against the part of the input rendered."""
    p, err_text, dst = render_then_signal(tmp_path, [(3.0, sig)])
    assert p.returncode == 128 + sig, err_text
    assert "Traceback" not in err_text
    lines = [ln for ln in err_text.splitlines() if ln.startswith("interrupted")]
    assert len(lines) == 1 and signal.Signals(sig).name in lines[0], err_text
    assert "A/V check: ok" in err_text, err_text
    written = int(lines[0].split(": ", 1)[1].split(" frames")[0])
    info = stream_info(dst)
    assert 0 < written < 600 and info["frames"] == written, (written, info["frames"])
    assert info["video_times"] == pytest.approx([i / 10 for i in range(written)], abs=1e-3)  # source timing kept
    assert abs(info["audio_duration"] - info["video_duration"]) <= 0.05, info


@pytest.mark.slow  # two real renders; the two tests after it pin the logic down in a fraction of a second
@pytest.mark.parametrize("gaps", [[3.0, 0.3], [3.0, 0.02, 0.02]], ids=["twice", "three times"])
def test_quick_repeated_ctrl_c_leaves_a_playable_file_or_none(tmp_path: Path, gaps: list[float]):
    """A second Ctrl-C while the file is being finished only says so; a third abandons it.
    Either way: a file that plays with audio as long as its video, or no file and a line."""
    p, err_text, dst = render_then_signal(tmp_path, [(gap, signal.SIGINT) for gap in gaps])
    # A signal after the render is done, as the process exits, ends it as signals do (-2).
    assert p.returncode in (130, -signal.SIGINT) and "Traceback" not in err_text, err_text
    if dst.exists():
        info = stream_info(dst)
        assert info["frames"] > 0 and abs(info["audio_duration"] - info["video_duration"]) <= 0.05, info
    else:
        assert "nothing was kept" in err_text, err_text


def test_a_second_signal_while_finishing_only_says_so():
    """Where the second signal lands is up to the user: after arming, only the third one stops at once."""
    from rtstyle.cli import Interrupt

    asked = []
    with Interrupt() as interrupt:
        interrupt.arm(lambda: asked.append(1))
        os.kill(os.getpid(), signal.SIGTERM)
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        except KeyboardInterrupt:  # what it did before: landing mid-close, it cut the MP4's index
            pytest.fail("the second signal stopped the run at once")
        assert asked == [1]
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("frames, kept", [(30, True), (5, False)])
def test_stopping_at_once_while_finishing_keeps_the_file_only_if_it_plays(frames: int, kept: bool, data: Path,
                                                                          tmp_path: Path, tiny_model: Path):
    """The third signal lands between the encoder's last packets and the MP4's finishing: the
    fragments written so far stay where they play (3 s of video: its first seconds), and a file
    stopped within its first second, which holds no fragment yet, is removed."""
    from tools.bad_inputs import clip_frames, write_video

    class CutShort(rtstyle.sinks.VideoFileSink):
        def close(self, complete: bool = True) -> None:
            self.container.mux(self.stream.encode(None))
            raise KeyboardInterrupt

    clip = write_video(tmp_path / "clip.mp4", clip_frames(data, frames))
    source = VideoFileSource(clip)
    sink = CutShort(tmp_path / "out.mp4", source.width, source.height, source.time_base, source.fps,
                    carry_from=str(clip))
    with pytest.raises(KeyboardInterrupt):
        rtstyle.pipeline.render_video(source, sink, *Painter.of(rtstyle.load_style(tiny_model, threads=1)))
    assert sink.path.exists() == kept
    if kept:
        assert 10 <= stream_info(sink.path)["frames"] < frames


# --- a camera that goes away ----------------------------------------------------------
# No camera here: a clip opened through the same OpenCV capture path stands in for one
# (as in test_live.py). At its end reads fail as they do when a camera is unplugged; moving
# the file away makes reopening fail too, moving it back is the camera plugged in again.
FAST_RETRY = Reconnect(first=0.05, longest=0.2, give_up=5.0)


@pytest.fixture
def camera_clip(data: Path, tmp_path: Path) -> Path:
    clip = tmp_path / "camera.mp4"
    clip.write_bytes((data / "walk_tone.mp4").read_bytes())  # 30 frames
    return clip


def _later(seconds: float, action) -> threading.Thread:
    t = threading.Timer(seconds, action)
    t.start()
    return t


def test_lost_camera_is_retried_with_backoff_and_comes_back(camera_clip: Path):
    cam = CameraSource(str(camera_clip), reconnect=FAST_RETRY)
    away = camera_clip.with_suffix(".away")
    seen: list[str | None] = []
    try:
        stream = cam.frames()
        first = [next(stream) for _ in range(30)]  # the whole clip: the next read fails
        camera_clip.rename(away)
        _later(0.35, lambda: seen.append(cam.problem))
        _later(0.6, lambda: away.rename(camera_clip))
        t = time.monotonic()
        back = next(stream)
        gap = time.monotonic() - t
    finally:
        cam.close()
    # Attempts at 0.05, 0.15, 0.35, 0.55 (waits doubling to 0.2 s), then every 0.2 s.
    assert seen and seen[0].startswith("camera lost, retrying ") and int(seen[0].split()[-1].rstrip(".")) >= 2, seen
    assert 0.55 <= gap < 0.6 + FAST_RETRY.longest + 0.5, gap
    assert cam.problem is None, "the HUD note goes away when frames come back"
    assert back.index == 30 and back.image.shape == first[0].image.shape
    assert np.array_equal(back.image, first[0].image), "reopened: the stand-in camera starts over"


def test_camera_that_never_returns_ends_with_one_clear_error(camera_clip: Path):
    cam = CameraSource(str(camera_clip), reconnect=Reconnect(first=0.05, longest=0.2, give_up=0.8))
    try:
        stream = cam.frames()
        for _ in range(30):
            next(stream)
        camera_clip.unlink()
        t = time.monotonic()
        with pytest.raises(rtstyle.SourceError, match=r"camera .*camera\.mp4 lost: no frame for 0\.8 s \(\d+ reconnection"):
            next(stream)
        assert 0.8 <= time.monotonic() - t < 1.5
    finally:
        cam.close()


def test_stop_ends_the_wait_for_a_lost_camera(camera_clip: Path):
    cam = CameraSource(str(camera_clip), reconnect=Reconnect(first=10, longest=10, give_up=60))
    stop = threading.Event()
    try:
        stream = cam.frames(stop)
        for _ in range(30):
            next(stream)
        camera_clip.unlink()
        _later(0.2, stop.set)
        t = time.monotonic()
        assert next(stream, None) is None
        assert time.monotonic() - t < 1.0, "the 10 s wait was cut short"
    finally:
        cam.close()


class Statuses:
    """An output that keeps the frame index and HUD lines of everything it is shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, list[str]]] = []
        self.closed = False

    def show(self, frame, status) -> None:
        self.shown.append((frame.index, status.hud_lines()))

    def close(self) -> None:
        self.closed = True


def test_live_session_shows_the_lost_camera_and_ends_cleanly(camera_clip: Path, tmp_path: Path, tiny_model: Path):
    """Through the live pipeline: the HUD says the camera is lost while it is retried, and when
    it never returns the session ends with the reason, every output closed, the recording playable."""
    # 2 s: room for several held pictures even when a loaded machine takes a second to show the last frames.
    cam = CameraSource(str(camera_clip), reconnect=Reconnect(first=0.05, longest=0.2, give_up=2.0))
    camera_clip.unlink()  # opened already: the clip plays to its end, then the camera is gone
    out, rec = Statuses(), Recorder(tmp_path / "rec.mp4", cam.width, cam.height, cam.fps)
    pipe = LivePipeline(cam, Painter({"tiny": tiny_model}, threads=1), LiveControls(["tiny"]), [out, rec])
    try:
        with pytest.raises(rtstyle.SourceError, match="lost: no frame for 2 s"):
            pipe.run(duration=30)
    finally:
        cam.close()
    indices = [index for index, _ in out.shown]
    held = [lines for i, (index, lines) in enumerate(out.shown) if index in indices[:i]]  # shown again
    assert out.closed and pipe.stats.shown == len(set(indices)) >= 1, "held pictures are not counted as frames"
    assert len(held) >= 2 and all(lines[0].startswith("camera lost, retrying") for lines in held), held
    frames = stream_info(tmp_path / "rec.mp4")["frames"]
    assert frames == len(out.shown), "the recording was finished: every picture shown is in it"


def test_live_command_ends_with_the_reason_when_the_camera_is_gone(camera_clip: Path, tmp_path: Path,
                                                                   tiny_model: Path):
    rec, log = tmp_path / "rec.mp4", tmp_path / "stderr.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("w") as err:
        p = subprocess.Popen([sys.executable, "-m", "rtstyle", "live", "--camera", camera_clip, "--style", tiny_model,
                              "--threads", "1", "--no-window", "--record", rec, "--camera-timeout", "1"],
                             stderr=err, env=env)
        deadline = time.monotonic() + 60
        while "granted" not in log.read_text() and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        camera_clip.unlink()  # the camera is open: at the clip's end it is lost for good
        p.wait(timeout=60)
    r = subprocess.CompletedProcess(p.args, p.returncode, "", log.read_text())
    assert_one_line_error(r, "lost: no frame for 1 s")
    assert stream_info(rec)["frames"] >= 1, "the recording was finished"


# --- a stream that stalls ---------------------------------------------------------------
class StallingServer:
    """A local TCP server that sends each client ``payload`` (maybe nothing) and then keeps the
    connection open without sending more: a camera or server that hangs."""

    def __init__(self, payload: bytes = b""):
        self.payload = payload
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.clients: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.clients.append(client)
            client.sendall(self.payload)

    def close(self) -> None:
        self.sock.close()
        for c in self.clients:
            c.close()


@pytest.fixture
def stalling_server():
    servers: list[StallingServer] = []

    def start(payload: bytes = b"") -> StallingServer:
        servers.append(StallingServer(payload))
        return servers[-1]

    yield start
    for s in servers:
        s.close()


@pytest.mark.parametrize("scheme", ["tcp", "http"])
def test_stream_that_sends_nothing_times_out(stalling_server, scheme: str):
    url = f"{scheme}://127.0.0.1:{stalling_server().port}/live"
    t = time.monotonic()
    with pytest.raises(rtstyle.SourceError, match=r"nothing received for 0\.5 s while opening"):
        VideoFileSource(url, timeout=0.5)
    assert time.monotonic() - t < 3


def test_stream_that_stalls_midway_ends_with_an_error_not_a_hang(data: Path, stalling_server):
    """The first part of a real clip arrives, then nothing: the frames that came are kept."""
    clip = (data / "walk_pcm.mkv").read_bytes()  # Matroska plays from a stream, 20 frames
    source = VideoFileSource(f"tcp://127.0.0.1:{stalling_server(clip[:len(clip) // 2]).port}", timeout=0.5)
    frames = []
    t = time.monotonic()
    with pytest.raises(rtstyle.SourceError, match=r"stalled after \d+ frames \(nothing received for 0\.5 s\)"):
        for frame in source.frames():
            frames.append(frame)
    source.close()
    assert 0 < len(frames) < 20 and time.monotonic() - t < 5


def test_render_of_a_stalling_stream_is_one_error_line_and_keeps_the_frames(data: Path, tmp_path: Path,
                                                                            tiny_model: Path, stalling_server):
    clip = (data / "walk_pcm.mkv").read_bytes()
    url = f"tcp://127.0.0.1:{stalling_server(clip[:len(clip) // 2]).port}"
    dst = tmp_path / "o.mp4"
    t = time.monotonic()
    r = rtstyle_cli("render", url, dst, "--style", tiny_model, "--threads", "1", "--stream-timeout", "1")
    assert_one_line_error(r, "the stream stalled after")
    assert time.monotonic() - t < 30
    assert stream_info(dst)["frames"] > 0, "what was rendered before the stall is a playable file"
