"""live --scale auto (rtstyle.autoscale): the largest scale that keeps up with the source.

The governor is fed frame times of a machine whose painting costs grow with the square of the
scale (as a network's work grows with its pixels) plus a part that does not (smoothing); the
live pipeline runs it on a real clip and a real model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import decode_video
from rtstyle.autoscale import RUNGS, UP_BELOW, WINDOW, AutoScale
from rtstyle.cli import main
from rtstyle.controls import LiveControls
from rtstyle.frames import VideoFrame
from rtstyle.live import LivePipeline
from rtstyle.outputs import LiveStatus
from rtstyle.painter import Look, Painter
from rtstyle.sources import PacedSource
from rtstyle.stylizer import Stylizer

CAMERA = 1 / 30  # a camera's frame interval


def run(auto: AutoScale, cost: float, frames: int, fixed: float = 0.003) -> list[float]:
    """Feed ``frames`` frames of a machine that paints a full-size frame in ``cost`` seconds; the
    scale each was painted at."""
    scales = []
    for _ in range(frames):
        scales.append(auto.scale)
        auto.add(cost * auto.scale ** 2 + fixed)
    return scales


@pytest.mark.parametrize("cost, fits", [(0.090, 0.5), (0.045, 0.7), (0.200, 0.5), (0.010, 1.0)])
def test_it_settles_on_the_largest_rung_that_keeps_up(cost: float, fits: float):
    """A 720p frame at 90 ms against a 30 fps camera: down to 0.5 (25.5 ms a frame) at the first
    decision, and it stays there (0.6 would take 35.4 ms); a machine too slow even for the last rung
    paints at it; one fast enough stays at 1."""
    auto = AutoScale(CAMERA)
    scales = run(auto, cost, 40 * WINDOW)
    assert scales[-1] == fits
    assert set(scales[2 * WINDOW:]) == {fits}, "it went back and forth"
    assert auto.changes <= 1 and sum(auto.frames.values()) == 40 * WINDOW
    rung = RUNGS.index(fits)
    assert cost * fits ** 2 + 0.003 <= CAMERA or rung == len(RUNGS) - 1
    assert rung == 0 or cost * RUNGS[rung - 1] ** 2 + 0.003 > UP_BELOW * CAMERA


def test_it_comes_back_up_a_rung_at_a_time_when_the_machine_frees_up():
    """Another program took the CPU (90 ms a frame), then let it go (20 ms): back to full size,
    rung by rung."""
    auto = AutoScale(CAMERA)
    run(auto, 0.090, 10 * WINDOW)
    assert auto.scale == 0.5
    scales = run(auto, 0.020, 20 * WINDOW)
    steps = [b for a, b in zip(scales, scales[1:]) if a != b]
    assert steps == [0.6, 0.7, 0.85, 1.0] and auto.scale == 1.0


@pytest.mark.parametrize("first, scale", [(0.090, 0.5), (0.045, 0.7), (0.030, 1.0), (0.500, 0.5)])
def test_it_starts_where_the_frame_timed_before_the_session_fits(first: float, scale: float):
    auto = AutoScale(CAMERA)
    auto.start(first)
    assert auto.scale == scale


def test_the_interval_must_be_positive():
    with pytest.raises(ValueError):
        AutoScale(0.0)


def test_a_style_made_to_run_at_half_size_is_painted_at_no_more(data: Path, tiny_model: Path):
    """A model whose own scale is 0.5 (its card's internal_scale; here asked for) stays at 0.5 when
    auto says 1, and goes no lower than auto says."""
    clip = decode_video(data / "walk_tone.mp4")
    half = Stylizer(tiny_model, threads=1, scale=0.5)
    painter = Painter({"half": half})
    assert np.array_equal(painter.paint(clip[0], Look("half", scale=1.0)), half(clip[0]))
    assert np.array_equal(painter.paint(clip[0], Look("half", scale=0.35)),
                          Stylizer(tiny_model, threads=1, scale=0.35)(clip[0]))
    auto = AutoScale(CAMERA)
    auto.start(0.025, at=0.5)  # 25 ms at its own half size: it keeps up at every rung above it too
    assert auto.scale == 1.0


class Keep:
    """An output that keeps the pictures it is shown and the scale the HUD said."""

    def __init__(self) -> None:
        self.images: dict[int, np.ndarray] = {}
        self.hud: list[list[str]] = []

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        self.images[frame.index] = frame.image.copy()
        self.hud.append(status.hud_lines())

    def close(self) -> None:
        pass


def test_live_paints_each_frame_at_the_scale_chosen(data: Path, two_styles):
    """An interval no machine keeps up with: the first dozen frames painted at full size, the rest
    at the last rung, each shown frame the very painting of its frame at one of the two scales;
    the HUD and the summary say so."""
    clip = decode_video(data / "walk_tone.mp4")
    painter = Painter({"tiny": two_styles["tiny"]}, threads=1)
    out = Keep()
    auto = AutoScale(1e-9)
    summary = LivePipeline(PacedSource(data / "walk_tone.mp4"), painter, LiveControls(["tiny"], smoothing=False),
                           [out], autoscale=auto).run()
    # what stylizers made for each scale paint (rtstyle.Stylizer(scale=...), as render --scale does)
    at_full, at_small = (Stylizer(two_styles["tiny"], threads=1, scale=s) for s in (1.0, RUNGS[-1]))
    full = {i: at_full(clip[i]) for i in out.images}
    small = {i: at_small(clip[i]) for i in out.images}
    painted_small = [not np.array_equal(out.images[i], full[i]) for i in sorted(out.images)]
    assert all(np.array_equal(out.images[i], small[i] if s else full[i]) for i, s in zip(sorted(out.images),
                                                                                         painted_small))
    assert not painted_small[0] and painted_small[-1] and painted_small == sorted(painted_small)
    assert summary["scale"] == RUNGS[-1]
    assert summary["scale_auto"] == {"changes": 1, "frames": {"1": WINDOW, f"{RUNGS[-1]:g}": summary["frames_stylized"]
                                                              - WINDOW}}
    assert f"scale {RUNGS[-1]:g} (auto)" in out.hud[-1][1]


@pytest.mark.parametrize("asked", [[], ["--scale", "auto"], ["--scale", "1"]], ids=["default", "auto", "pinned"])
def test_live_command_paints_smaller_to_keep_up_unless_told(asked: list[str], data: Path, tmp_path: Path,
                                                            tiny_model: Path):
    """A source at 1000 fps no machine keeps up with: by default (and with --scale auto) the frame
    timed before the session sends live to half size from the first frame on; --scale 1 keeps it."""
    log = tmp_path / "live.json"
    r = CliRunner().invoke(main, ["live", "--source", str(data / "walk_tone.mp4"), "-s", str(tiny_model), "--no-window",
                                  "--fps", "1000", "--loop", "--size", "640x480", "--duration", "2",
                                  "--log-json", str(log), "--threads", "1", *asked])
    assert r.exit_code == 0, r.output
    summary = json.loads(log.read_text())
    if asked[1:] == ["1"]:
        assert "frames will be dropped (--scale auto, a lower --scale" in r.stderr
        assert "scale_auto" not in summary and summary["scale"] == 1.0
        return
    assert "slower than the source's 1000 fps: painted smaller to keep up, down to half size" in r.stderr
    assert summary["scale_auto"]["frames"] == {"0.5": summary["frames_stylized"]} and summary["scale"] == 0.5
    r = CliRunner().invoke(main, ["live", "--source", str(data / "walk_tone.mp4"), "--scale", "fast"])
    assert r.exit_code == 2 and "'fast' is neither a fraction from 0.1 to 1 nor auto" in r.stderr
