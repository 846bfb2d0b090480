"""A big picture that would not fit in memory is said to before it is painted (rtstyle.headroom)."""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import rtstyle
from rtstyle import headroom
from rtstyle.cli import main
from rtstyle.stylizer import Stylizer

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="measures through Linux's /proc")


def test_the_memory_per_pixel_of_a_quarter_size_painting_holds_at_full_size(tiny_model: Path):
    """What the probe (a quarter of the width and height) measures per pixel is what the whole
    picture takes per pixel, each in a fresh process: within a fifth."""
    probe = headroom.bytes_per_pixel(tiny_model, 1.0, 1000, 1000)
    whole = headroom.bytes_per_pixel(tiny_model, 1.0, 4000, 4000)
    assert probe and whole and probe == pytest.approx(whole, rel=0.2), (probe, whole)
    half = headroom.bytes_per_pixel(tiny_model, 0.5, 4000, 4000)
    assert half and half < 0.8 * whole, "painting at half size takes less"


def test_the_warning_says_what_would_fit(tiny_model: Path):
    stylizer = Stylizer(tiny_model, providers="cpu")
    rate = headroom.bytes_per_pixel(tiny_model, 1.0, 5000 // 4, 4000 // 4)
    needed = rate * 5000 * 4000
    said = headroom.warning(stylizer, 5000, 4000, available=int(needed / 3))
    assert said and said.startswith(f"painting 5000x4000 takes about {needed / 1e9:.1f} GB of memory and "
                                    f"{needed / 3e9:.1f} GB is available: the system may stop rtstyle")
    width, height = (int(side) for side in said.split("--max-size ")[1].split()[0].split("x"))
    assert width / height == pytest.approx(5000 / 4000, rel=0.01)
    assert 0.7 * needed / 3 <= rate * width * height <= needed / 3, "the size suggested fits, and not by far"
    assert headroom.warning(stylizer, 5000, 4000, available=int(needed * 2)) is None
    assert headroom.warning(stylizer, 4000, 4000, available=0) is None, "16 MP and less: not measured"


def test_image_warns_before_painting(tmp_path: Path, tiny_model: Path, monkeypatch):
    """On a machine with less memory available than the picture needs, the warning comes first,
    then the painting is tried all the same."""
    photo = tmp_path / "big.jpg"
    cv2.imwrite(str(photo), np.random.default_rng(0).integers(0, 255, (3400, 5000, 3), np.uint8))
    monkeypatch.setattr(headroom, "available_bytes", lambda: 50_000_000)
    r = CliRunner().invoke(main, ["image", str(photo), str(tmp_path / "painted.jpg"), "-s", str(tiny_model)])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    warned = next(i for i, line in enumerate(lines) if line.startswith("warning: painting 5000x3400 takes about"))
    assert "0.1 GB is available" in lines[warned] and lines[-1] == f"wrote {tmp_path / 'painted.jpg'}"
    assert warned < len(lines) - 1
    r = CliRunner().invoke(main, ["image", str(photo), "-o", str(tmp_path / "painted"), "-s", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert any(line.startswith("warning: big.jpg: painting 5000x3400 takes about") for line in r.stderr.splitlines())


RENDER = """
import sys
import rtstyle
from rtstyle.headroom import peak_bytes
clip, out, style = sys.argv[1:]
before = peak_bytes()
report = rtstyle.render(clip, out, style, workers=2)
print(report.frames_out, peak_bytes() - before)
"""


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """The test clip's 30 frames enlarged to 1280x960, as H.264: big enough for the memory of a
    frame to outweigh a process's own (at 320x240 the probe's figure a pixel is 1.5-2.5x as large)."""
    path = tmp_path_factory.mktemp("big") / "clip.mp4"
    with av.open(str(data / "walk_tone.mp4")) as clip, av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 1280, 960, "yuv420p"
        for n, frame in enumerate(clip.decode(video=0)):
            big = cv2.resize(frame.to_ndarray(format="rgb24"), (1280, 960), interpolation=cv2.INTER_CUBIC)
            picture = av.VideoFrame.from_ndarray(big, format="rgb24")
            picture.pts = n
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def _needs(tiny_model: Path, width: int, height: int) -> tuple[float, float]:
    """What render_fit foresees for one and for two frames at once."""
    rate = headroom.bytes_per_pixel(tiny_model, 1.0, width // 4, height // 4)
    return tuple(width * height * (n * (rate + headroom.RENDER_PER_FRAME) + headroom.RENDER_PIPELINE) for n in (1, 2))


def test_a_renders_memory_is_foreseen_from_the_probe(tmp_path: Path, big_clip: Path, tiny_model: Path):
    """A render as planned (two frames at once, flow smoothing), in a fresh process: its peak
    memory grows by no more than render_fit foresees, and not by far less."""
    done = subprocess.run([sys.executable, "-c", RENDER, str(big_clip), str(tmp_path / "out.mp4"), str(tiny_model)],
                          capture_output=True, text=True, check=True)
    frames, grew = (int(v) for v in done.stdout.split())
    _, foreseen = _needs(tiny_model, 1280, 960)
    assert frames == 30 and grew <= foreseen <= 1.5 * grew, (grew, foreseen)


def test_a_render_paints_one_frame_at_a_time_where_two_would_not_fit(tmp_path: Path, big_clip: Path,
                                                                    tiny_model: Path, monkeypatch):
    """Where two frames at once would not fit and one would: one at a time, on the threads of
    both, a note saying so, the stylizer given back as it was; the file is whole."""
    one, two = _needs(tiny_model, 1280, 960)
    assert (one + two) / 2 < 1280 * 960 * headroom.RENDER_BOUND * 2, "measured, not taken to fit unmeasured"
    monkeypatch.setattr(headroom, "available_bytes", lambda: int((one + two) / 2))
    stylizer = Stylizer(tiny_model, providers="cpu", threads=1)
    threads = []
    report = rtstyle.render(big_clip, tmp_path / "out.mp4", stylizer, workers=2,
                            on_frame=lambda r: threads.append(stylizer.threads))
    assert report.check.ok and report.frames_out == 30
    assert report.notes[0] == (f"painted one frame at a time: 2 at once would take about {two / 1e9:.1f} GB of "
                               f"memory and {(one + two) / 2e9:.1f} GB was available")
    assert set(threads) == {2} and stylizer.threads == 1
    monkeypatch.setattr(headroom, "available_bytes", lambda: int(two * 1.1))
    report = rtstyle.render(big_clip, tmp_path / "out.mp4", stylizer, workers=2, overwrite=True)
    assert report.check.ok and not any("one frame at a time" in note for note in report.notes)


def test_render_warns_where_one_frame_at_a_time_does_not_fit(tmp_path: Path, data: Path, tiny_model: Path,
                                                            monkeypatch):
    """Less memory than one frame at a time needs: a warning first, then the render is tried."""
    one, _ = _needs(tiny_model, 320, 240)
    monkeypatch.setattr(headroom, "available_bytes", lambda: int(one / 3))
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(tmp_path / "out.mp4"),
                                  "-s", str(tiny_model)])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    warned = next(i for i, line in enumerate(lines)
                  if line.startswith("warning: rendering 320x240 one frame at a time takes about"))
    assert f"{one / 1e9:.1f} GB of memory and {one / 3e9:.1f} GB is available" in lines[warned]
    assert "--max-size" in lines[warned] and lines[-1].startswith("A/V check: ok")


def test_a_frozen_program_is_not_started_again_to_measure(tiny_model: Path, monkeypatch):
    """In a program frozen by PyInstaller, sys.executable is that program: no probe runs (it
    would start the program again), and nothing is said or changed."""
    stylizer = Stylizer(tiny_model, providers="cpu")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(headroom, "bytes_per_pixel", lambda *args: pytest.fail("probed"))
    assert headroom.render_fit(stylizer, 2, 7680, 4320, available=1) == headroom.RenderFit(2)
    assert headroom.warning(stylizer, 8000, 6000, available=1) is None


def test_ray_workers_reserve_what_a_render_takes_where_the_frames_are_big_for_the_nodes(tiny_model: Path):
    """Each node holds the workers its memory for Ray fits (rtstyle.headroom.cluster_fit), each
    reserving render_fit's figure; one frame at a time where that keeps more frames painting."""
    one, two = _needs(tiny_model, 1280, 960)
    stylizer = Stylizer(tiny_model, providers="cpu")
    roomy = headroom.cluster_fit(lambda: pytest.fail("measured"), [(2, 1280 * 960 * headroom.RENDER_BOUND * 4)], 2,
                                 1280, 960)
    assert roomy == headroom.ClusterFit(2, 2), "room for the bound: nothing measured, nothing reserved"
    fit = headroom.cluster_fit(lambda: stylizer, [(2, 1.5 * two)], 2, 1280, 960)
    assert fit == headroom.ClusterFit(1, 2, math.ceil(two), note=(
        f"1 Ray worker painting 2 frames at once where the CPUs hold 2: each takes about {two / 1e9:.1f} GB of memory for "
        f"1280x960 frames, and the cluster has {1.5 * two / 1e9:.1f} GB for Ray"))
    fit = headroom.cluster_fit(lambda: stylizer, [(1, 0.9 * one), (4, 3.2 * one)], 2, 1280, 960)
    assert (fit.workers, fit.frames, fit.memory) == (3, 1, math.ceil(one)), "3 painting one beat 1 painting two"
    assert fit.note.startswith("3 Ray workers painting 1 frame at once where the CPUs hold 5 painting 2: ")
    fit = headroom.cluster_fit(lambda: stylizer, [(2, 0.5 * one)], 2, 1280, 960)
    assert (fit.workers, fit.frames, fit.memory, fit.note) == (1, 1, None, None)
    assert fit.warning.startswith(f"rendering 1280x960 on a Ray worker takes about {one / 1e9:.1f} GB of memory and "
                                  f"{0.5 * one / 1e9:.1f} GB is available")
    unmeasured = headroom.cluster_fit(lambda: None, [(2, 1280 * 960 * headroom.RENDER_BOUND * 3)], 2, 1280, 960)
    assert (unmeasured.workers, unmeasured.frames, unmeasured.memory) == (1, 2, 1280 * 960 * headroom.RENDER_BOUND * 2)
