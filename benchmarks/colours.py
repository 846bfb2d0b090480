"""Issue 16's colour figures: each shipped style's first frame of the test clip, encoded
through the render's sink (H.264 crf 18), decoded by a BT.601 formula in numpy, against
the network's own output. Two RGB -> I420 conversions side by side in one run: OpenCV's
(one pixel's chroma per 2x2 block, what rtstyle used) and rtstyle.yuv.from_rgb (the
block's mean); then their speed at 640x360 (medians of 7 x 200 calls).

    python -m benchmarks.colours > docs/colours.txt
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import timeit
from pathlib import Path
from unittest import mock

import av
import cv2
import numpy as np

import rtstyle
from rtstyle import yuv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from test_yuv import encoded_and_decoded  # noqa: E402  the test's own independent decoder


def one_pixel(rgb: np.ndarray) -> av.VideoFrame:
    """OpenCV's conversion as it is: each 2x2 block's chroma from one pixel."""
    return av.VideoFrame.from_ndarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), format="yuv420p")


def main() -> None:
    with av.open(str(ROOT / "tests" / "data" / "walk_tone.mp4")) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    print("mean shift R, G, B (grey levels) after encode + decode; worst channel")
    print(f"{'style':24} {'one pixel (before)':>26} {'block mean (now)':>26}")
    worst = {"before": 0.0, "now": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        for card in (c for c in rtstyle.list_models() if c.role == "style"):
            painted = rtstyle.load_style(card.name, threads=2)(frame)
            shifts = {}
            for name, convert in [("before", one_pixel), ("now", yuv.from_rgb)]:
                with mock.patch.object(yuv, "from_rgb", convert):
                    decoded = encoded_and_decoded(painted, Path(tmp) / f"{card.name}-{name}.mp4")
                shifts[name] = decoded.mean((0, 1)) - painted.mean((0, 1))
                worst[name] = max(worst[name], float(np.abs(shifts[name]).max()))
            cells = [" ".join(f"{v:+6.2f}" for v in shifts[k]) + f" |{np.abs(shifts[k]).max():5.2f}" for k in shifts]
            print(f"{card.name:24} {cells[0]:>26} {cells[1]:>26}")
    print(f"worst channel over all styles: before {worst['before']:.2f}, now {worst['now']:.2f}")
    rgb = np.random.default_rng(0).integers(0, 256, (360, 640, 3), np.uint8)
    times = {}
    for name, fn in [("one pixel", one_pixel), ("block mean", yuv.from_rgb),
                     ("swscale", lambda x: av.VideoFrame.from_ndarray(x, format="rgb24").reformat(format="yuv420p"))]:
        times[name] = statistics.median(t / 200 * 1000 for t in timeit.repeat(lambda: fn(rgb), number=200, repeat=7))
    print("RGB -> yuv420p frame at 640x360, median ms: "
          + ", ".join(f"{k} {v:.3f}" for k, v in times.items())
          + f"; block mean / one pixel {times['block mean'] / times['one pixel']:.2f}x, "
            f"swscale / block mean {times['swscale'] / times['block mean']:.2f}x")


if __name__ == "__main__":
    main()
