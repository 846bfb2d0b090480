"""Window and virtual camera outputs, as far as the machine allows (no display, no camera device)."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_video
from rtstyle.controls import KEYS, ControlState, LiveControls, key_name
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.live import LivePipeline
from rtstyle.outputs import LiveStatus
from rtstyle.painter import Painter
from rtstyle.sources import PacedSource
from rtstyle.vcam import VirtualCamera
from rtstyle.window import NO_GUI, WindowOutput, draw_hud, gui_backend, key_help


def test_controls_cycle_clamp_and_reject():
    c = LiveControls(["a", "b", "c"])
    c.prev_style()
    assert c.state().style == "c"
    c.act("style", "b")
    c.next_style()
    assert c.state().style == "c"
    for _ in range(3):
        c.strength_up()
    assert c.state().strength == 1.0
    c.act("strength", -4)
    assert c.state().strength == 0.0
    assert c.press("c") and c.press("t") and c.press("h") and c.press("m") and c.press("o") and not c.press("x") and not c.press(None)
    s = c.state()
    assert s.keep_colours and s.smoothing and not s.hud and s.mirror and not s.painting
    c.press("s")
    assert c.take_snapshot() and not c.take_snapshot(), "one snapshot per request"
    with pytest.raises(ValueError, match="unknown action"):
        c.act("format_disk")
    with pytest.raises(ValueError, match="unknown style"):
        c.act("style", "zzz")
    c.press("Escape")
    assert c.quitting
    assert set(KEYS.values()) == set(LiveControls.ACTIONS)


def test_opencv_key_codes_map_to_key_names():
    assert key_name(-1) is None and key_name(27) == "Escape" and key_name(ord("n")) == "n"
    assert key_name(0x100000 | ord("q")) == "q", "modifier bits some backends set are ignored"
    assert "n next style" in key_help() and "q/Escape quit" in key_help()


def test_hud_is_drawn_top_left_on_a_copy(data: Path):
    rgb = decode_video(data / "walk_tone.mp4")[0]
    out = draw_hud(rgb, ["tiny  strength 1.0", "30.0 fps  inference 12 ms"])
    assert out.shape == rgb.shape and out is not rgb and not np.shares_memory(out, rgb)
    changed = np.any(out != rgb, axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and ys.max() < 120 and xs.min() < 20
    assert np.array_equal(out[150:], rgb[150:]), "the rest of the picture is untouched"


def test_window_without_gui_or_display_is_a_clear_error(monkeypatch):
    if gui_backend() == "NONE":
        with pytest.raises(SinkError) as e:
            WindowOutput(LiveControls(["a"]))
        assert str(e.value) == NO_GUI and "pip install opencv-python" in NO_GUI
    else:
        monkeypatch.delenv("DISPLAY", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        with pytest.raises(SinkError, match="no display"):
            WindowOutput(LiveControls(["a"]))


def test_virtual_camera_sends_frames_or_says_how_to_get_a_backend():
    pytest.importorskip("pyvirtualcam")
    try:
        cam = VirtualCamera(320, 240, 30)
    except SinkError as e:
        assert "v4l2loopback" in str(e) or "OBS" in str(e)
        assert "\n" not in str(e)
        return
    # A backend exists: what is sent must be what a video app reads from the device.
    pattern = np.zeros((240, 320, 3), np.uint8)
    pattern[:, :160] = (230, 40, 40)
    pattern[120:, 160:] = (40, 200, 60)
    status = LiveStatus("a", 0.0, 0.0, 0.0, 0.0, 1, 0, ControlState("a", 1.0, False, False, True, ""))
    reader = None
    try:
        for i in range(10):
            cam.show(VideoFrame(pattern, i), status)
        reader = cv2.VideoCapture(cam.device)
        cam.show(VideoFrame(pattern, 10), status)
        ok, bgr = reader.read()
        assert ok, f"nothing could be read back from {cam.device}"
        seen = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (320, 240))
        assert np.abs(seen.astype(int) - pattern.astype(int)).mean() < 12, "the device shows another picture"
    finally:
        if reader is not None:
            reader.release()
        cam.close()


@pytest.fixture
def xvfb(monkeypatch) -> Iterator[str]:
    """A virtual X display for the window (needs OpenCV's GUI build, Xvfb and xdotool)."""
    if gui_backend() == "NONE":
        pytest.skip("OpenCV here is the headless build: the window needs opencv-python")
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.skip("Xvfb / xdotool not installed")
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X{n}-lock").exists())
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x720x24", "-nolisten", "tcp", "-noreset"],
                              stderr=subprocess.DEVNULL)
    display = f":{number}"
    for _ in range(100):  # until the server answers
        probe = subprocess.run(["xdotool", "getdisplaygeometry"], env={**os.environ, "DISPLAY": display},
                               capture_output=True)
        if probe.returncode == 0 or server.poll() is not None:
            break
        time.sleep(0.05)
    monkeypatch.setenv("DISPLAY", display)
    yield display
    server.terminate()
    server.wait(timeout=10)


def test_window_shows_frames_and_obeys_hotkeys(xvfb: str, data: Path, tmp_path: Path, tiny_model: Path):
    """Keys typed into the real window switch style, take a snapshot and quit."""
    other = tmp_path / "other.onnx"
    shutil.copy(tiny_model, other)  # same net, second entry: enough to see the switch
    styles = {"tiny": tiny_model, "tiny2": other}
    controls = LiveControls(["tiny", "tiny2"])
    seen: list[str] = []

    class Record:
        def show(self, frame: VideoFrame, status: LiveStatus) -> None:
            seen.append(status.style)

        def close(self) -> None:
            pass

    def type_keys() -> None:
        run = lambda *a: subprocess.run(["xdotool", *a], capture_output=True, text=True)  # noqa: E731
        for _ in range(100):
            found = run("search", "--name", "^rtstyle$").stdout.split()
            if found:
                break
            time.sleep(0.1)
        run("windowfocus", "--sync", found[0])
        for key, check in (("n", lambda: seen and seen[-1] == "tiny2"), ("s", lambda: list(tmp_path.glob("*.png"))),
                           ("q", lambda: True)):
            run("key", key)
            for _ in range(100):
                if check():
                    break
                time.sleep(0.1)

    typist = threading.Thread(target=type_keys, daemon=True)
    typist.start()
    source = PacedSource(data / "walk_tone.mp4", loop=True, fps=20)
    summary = LivePipeline(source, Painter(styles, threads=1), controls, [WindowOutput(controls), Record()],
                           snapshot_dir=tmp_path).run(duration=15)
    typist.join(timeout=5)
    assert controls.quitting and summary["seconds"] < 15, "q in the window ended the run"
    assert seen[0] == "tiny" and seen[-1] == "tiny2"
    assert len(list(tmp_path.glob("rtstyle-*.png"))) == 1


def test_outputs_open_from_the_table_and_a_failure_closes_the_open_ones(tmp_path: Path, monkeypatch):
    """Every output option of `rtstyle live` is one row of rtstyle.outputs.OUTPUTS. When one
    output fails to open, those already open are closed (the preview's port is free again)."""
    from rtstyle import outputs

    assert set(outputs.OUTPUTS) == {"window", "serve", "vcam", "record", "stream"}
    opened = []
    serve = outputs.OUTPUTS["serve"].open

    def keep(value: object, ctx: outputs.OutputContext) -> outputs.Opened:
        output, lines = serve(value, ctx)
        opened.append(output)
        return output, lines

    def fail(value: object, ctx: outputs.OutputContext) -> outputs.Opened:
        raise SinkError("the recording cannot start")  # a later output that fails to open

    monkeypatch.setitem(outputs.OUTPUTS, "serve", outputs.Row(keep))
    monkeypatch.setitem(outputs.OUTPUTS, "record", outputs.Row(fail))
    said: list[str] = []
    ctx = outputs.OutputContext(64, 48, 10.0, LiveControls(["a"]))
    with pytest.raises(SinkError, match="cannot start"):
        outputs.open_outputs({"serve": "127.0.0.1:0", "record": tmp_path / "rec.mp4"}, ctx, said.append)
    assert len(opened) == 1 and said[0].startswith("browser preview: http://127.0.0.1:")
    with socket.socket() as s:
        s.bind(("127.0.0.1", opened[0].port))  # free again: the server was closed
