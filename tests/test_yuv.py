"""Fast RGB <-> yuv420p conversion: same colours as PyAV's own (swscale) conversion."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

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
