"""Fast RGB <-> yuv420p conversion: same colours as PyAV's own (swscale) conversion."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from rtstyle import yuv


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_decoded_frames_match_swscale(data: Path):
    frame = first_frame(data / "walk_tone.mp4")
    assert frame.format.name == "yuv420p"
    rgb = yuv.to_rgb(frame)
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert mean_abs(rgb, frame.to_ndarray(format="rgb24")) < 1.5


def test_bt709_frames_keep_their_matrix(data: Path):
    frame = first_frame(data / "walk_tone.mp4")
    frame.colorspace = 1  # BT.709: swscale converts with that matrix, so must we
    np.testing.assert_array_equal(yuv.to_rgb(frame), frame.to_ndarray(format="rgb24"))


def test_encoder_frames_round_trip(data: Path):
    rgb = first_frame(data / "walk_tone.mp4").to_ndarray(format="rgb24")
    frame = yuv.from_rgb(rgb)
    assert frame.format.name == "yuv420p" and (frame.width, frame.height) == (320, 240)
    assert mean_abs(frame.to_ndarray(format="rgb24"), rgb) < 1.5
    odd = yuv.from_rgb(np.ascontiguousarray(rgb[:239, :319]))  # yuv420p needs even sides: left to swscale
    assert odd.format.name == "rgb24" and (odd.width, odd.height) == (319, 239)


def bt601_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A decoded yuv420p frame -> RGB float by the BT.601 limited-range formula in numpy: a
    decoder independent of OpenCV (rtstyle's path) and of swscale (whose unscaled path
    rounds about one level low on its own)."""
    h, w = frame.height, frame.width
    i420 = frame.to_ndarray().astype(np.float64)
    y = (i420[:h] - 16) * 255 / 219
    u = (i420[h:h + h // 4].reshape(h // 2, w // 2) - 128) * 255 / 224
    v = (i420[h + h // 4:].reshape(h // 2, w // 2) - 128) * 255 / 224
    u, v = (np.repeat(np.repeat(c, 2, 0), 2, 1) for c in (u, v))
    rgb = np.dstack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u])
    return np.clip(rgb, 0, 255)


def encoded_and_decoded(rgb: np.ndarray, path: Path) -> np.ndarray:
    """``rgb`` through the render's own sink (H.264, crf 18), read back independently."""
    from fractions import Fraction

    from rtstyle.sinks import VideoFileSink

    sink = VideoFileSink(path, rgb.shape[1], rgb.shape[0], Fraction(1, 10), Fraction(10))
    sink.write(rgb, 0)
    sink.close()
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    assert frame.format.name == "yuv420p"
    return bt601_rgb(frame)


STYLES = [c.name for c in __import__("rtstyle").list_models() if c.role == "style"]


@pytest.mark.parametrize("style", STYLES)
def test_stylized_frames_keep_their_colours_when_encoded(style: str, data: Path, tmp_path: Path):
    """Issue 16: the fast nets' 2-pixel pattern (pixel shuffle) must not alias into a colour
    cast when chroma is subsampled: every shipped style, mean shift <= 1 level per channel."""
    import rtstyle

    painted = rtstyle.load_style(style, threads=2)(first_frame(data / "walk_tone.mp4").to_ndarray(format="rgb24"))
    shift = encoded_and_decoded(painted, tmp_path / "out.mp4").mean((0, 1)) - painted.mean((0, 1))
    assert np.all(np.abs(shift) <= 1.0), f"{style}: mean shift R, G, B {np.round(shift, 2)}"


@pytest.mark.parametrize("height, width", [(2, 2), (6, 10), (182, 318), (240, 320)])
def test_encoder_chroma_is_each_blocks_mean(height: int, width: int):
    """U and V of every 2x2 block from its mean colour (BT.601 limited range), whatever the
    size: the planes need not fill whole rows of the frame's width (heights not a multiple of 4)."""
    rgb = np.random.default_rng(height).integers(0, 256, (height, width, 3), np.uint8)
    mean = rgb.reshape(height // 2, 2, width // 2, 2, 3).astype(float).mean((1, 3))
    u = 128 + mean @ np.array([-37.797, -74.203, 112.0]) / 255
    v = 128 + mean @ np.array([112.0, -93.786, -18.214]) / 255
    flat = yuv.from_rgb(rgb).to_ndarray().reshape(-1)
    n = (height // 2) * (width // 2)
    for got, want in [(flat[height * width:height * width + n], u), (flat[height * width + n:], v)]:
        diff = got.reshape(want.shape) - want
        assert np.abs(diff).max() <= 1.5 and abs(diff.mean()) < 0.8, (np.abs(diff).max(), diff.mean())
