"""The flicker metric on real frames: ~0 where nothing flickers, the analytic value for noise,
and the `rtstyle flicker` command on real files."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import decode_video
from rtstyle import flow, metrics
from rtstyle.errors import SourceError
from rtstyle.sources import read_image
from test_cli import assert_one_line_error, rtstyle

NOISE = 8.0  # grey levels (standard deviation) of the per-frame noise


@pytest.fixture(scope="module")
def still(data: Path) -> np.ndarray:
    return read_image(data / "rubberwhale1.png")  # 584 x 388 Middlebury frame


def e_warp(originals: list[np.ndarray], videos: list[list[np.ndarray]]) -> list[float]:
    meter = metrics.WarpError(len(videos))
    for i, original in enumerate(originals):
        meter.add(original, [v[i] for v in videos])
    return meter.values


def translated(still: np.ndarray, frames: int, step: tuple[int, int] = (3, 2)) -> list[np.ndarray]:
    """A camera panning over a still: each frame is the same picture moved by ``step`` pixels."""
    h, w = 240, 320
    return [np.ascontiguousarray(still[k * step[1]:k * step[1] + h, k * step[0]:k * step[0] + w])
            for k in range(frames)]


def noisy(frames: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, NOISE, f.shape), 0, 255).astype(np.uint8) for f in frames]


def test_static_video_has_no_flicker(still: np.ndarray):
    frames = [still] * 4
    assert e_warp(frames, [frames]) == [0.0]


def test_exact_warp_of_a_still_has_almost_no_flicker(still: np.ndarray):
    frames = translated(still, 6)
    (clean, flickering) = e_warp(frames, [frames, noisy(frames)])
    # Bilinear resampling of sharp edges leaves a trace; per-frame noise is ~100x larger.
    assert clean < 2e-4
    assert flickering > 50 * clean


def test_per_frame_noise_gives_the_expected_error(still: np.ndarray):
    """Independent noise of std s in each of 3 channels: E[||a - b||^2] = 3 * 2 s^2 (RGB 0-1)."""
    frames = [still[:240, :320]] * 5
    (value,) = e_warp(frames, [noisy(frames)])
    expected = 6 * (NOISE / 255) ** 2
    assert expected * 0.8 < value < expected * 1.1


ESTIMATE = flow.dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def test_consistency_mask_on_a_real_flow_pair(data: Path):
    """Middlebury RubberWhale (little occlusion): the forward-backward check keeps nearly
    every pixel, and the flow explains the kept ones."""
    a, b = (flow.grey(read_image(data / f"rubberwhale{i}.png")) for i in (1, 2))
    forward, backward = ESTIMATE(a, b), ESTIMATE(b, a)
    mask = flow.consistent(forward, backward)
    assert mask.mean() > 0.95
    assert np.abs(a.astype(int) - flow.warp(b, forward))[mask].mean() < 2
    assert not flow.consistent(forward, -backward + 5).any()  # a flow pair that disagrees everywhere


def test_consistency_mask_finds_occlusions(data: Path, still: np.ndarray):
    """A real patch slides 8 px right over a real static background: the background it
    covers in the next frame has no correspondence and must be masked out."""
    background = flow.grey(read_image(data / "messi5.jpg"))[:240, :320]
    patch = flow.grey(still)[100:200, 200:300]
    frames = []
    for x in (100, 108):
        f = background.copy()
        f[70:170, x:x + 100] = patch
        frames.append(f)
    a, b = frames
    mask = flow.consistent(ESTIMATE(a, b), ESTIMATE(b, a))
    covered = mask[80:160, 200:208]  # background in a, under the patch in b
    far = np.ones_like(mask)
    far[50:190, 80:230] = False
    assert covered.mean() < 0.5
    assert mask[far].mean() > 0.98


def test_fidelity():
    a = np.full((4, 4, 3), 100, np.uint8)
    assert metrics.fidelity(a, a) == 0.0
    assert metrics.fidelity(a, a + 51) == pytest.approx(0.2)


def write_video(path: Path, frames: list[np.ndarray]) -> None:
    """Lossless (FFV1) so the file holds exactly these frames."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=10)
        s.width, s.height, s.pix_fmt = w, h, "bgr0"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode(None))


def test_flicker_on_files(data: Path, tmp_path: Path):
    clip = decode_video(data / "walk_tone.mp4")[:12]
    write_video(tmp_path / "orig.mkv", clip)
    write_video(tmp_path / "noisy.mkv", noisy(clip))
    report = metrics.flicker(tmp_path / "noisy.mkv", tmp_path / "orig.mkv", per_frame=tmp_path / "orig.mkv")
    assert report.frames == 12 and report.pairs == 11
    assert report.e_warp > 5 * report.floor > 0
    assert report.fidelity == pytest.approx(np.sqrt(2 / np.pi) * NOISE / 255, rel=0.1)  # mean |N(0, s)|
    same = metrics.flicker(tmp_path / "orig.mkv", tmp_path / "orig.mkv")
    assert same.e_warp == same.floor and same.fidelity is None


def test_flicker_ignores_the_padding_of_odd_sized_output(data: Path, tmp_path: Path):
    """H.264 output of a 317x181 source is 318x182 (yuv420p): the extra pixel is cropped."""
    clip = [np.ascontiguousarray(f[:181, :317]) for f in decode_video(data / "walk_tone.mp4")[:5]]
    write_video(tmp_path / "odd.mkv", clip)
    write_video(tmp_path / "padded.mkv", [np.pad(f, ((0, 1), (0, 1), (0, 0)), mode="edge") for f in clip])
    report = metrics.flicker(tmp_path / "padded.mkv", tmp_path / "odd.mkv")
    assert report.frames == 5 and report.e_warp == report.floor


def test_flicker_rejects_a_different_video(data: Path, tmp_path: Path):
    with pytest.raises(SourceError, match="not the same video"):
        metrics.flicker(data / "walk_tone.mp4", data / "damaged.avi")


def test_flicker_command(data: Path, tmp_path: Path):
    clip = decode_video(data / "walk_tone.mp4")[:8]
    write_video(tmp_path / "orig.mkv", clip)
    write_video(tmp_path / "noisy.mkv", noisy(clip))
    r = rtstyle("flicker", tmp_path / "noisy.mkv", "--reference", tmp_path / "orig.mkv", "--per-frame",
                tmp_path / "orig.mkv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("E_warp ") and "7 frame pairs of 8 frames" in r.stdout and "fidelity" in r.stdout
    assert "lower is steadier" in r.stdout and "x the floor" in r.stdout and "lower = more faithful" in r.stdout
    assert_one_line_error(rtstyle("flicker", tmp_path / "noisy.mkv", "--reference", tmp_path / "nope.mp4"),
                          "not found")
