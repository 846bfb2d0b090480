"""What HDR tone mapping (rtstyle.hdr) costs a frame, side by side with the SDR path and a fast style.

A 10-bit frame tagged HLG / BT.2020 (a picture's pixels: the timing does not depend on them) is
tone-mapped, an 8-bit SDR frame of the same size converted as usual (rtstyle.yuv.to_rgb), and the
result painted by a fast style, taking turns (benchmarks.common.time_rounds); medians and the tone
map's share:

    python -m benchmarks.hdr [--size 1920x1080] [--style candy_fast] [--rounds 3] > docs/hdr_cost.txt
"""
from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import av
import cv2

import rtstyle
from rtstyle import hdr, yuv
from rtstyle.sources import read_image

from .common import time_rounds

PICTURE = Path(__file__).resolve().parent.parent / "docs" / "quality" / "photos" / "building.jpg"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--style", default="candy_fast")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    rgb = cv2.resize(read_image(PICTURE), (w, h), interpolation=cv2.INTER_AREA)
    sdr = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    tagged = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
        format="yuv420p10le", dst_colorspace=av.video.reformatter.Colorspace.BT2020,
        dst_color_trc=hdr.HLG, dst_color_primaries=hdr.BT2020)
    assert tagged.color_trc == hdr.HLG
    style = rtstyle.load_style(a.style, providers="cpu", threads=a.threads)
    steps: dict[str, Callable[[], object]] = {"tone map (hdr.to_sdr)": lambda: hdr.to_sdr(tagged),
                                              "SDR frame to RGB (yuv.to_rgb)": lambda: yuv.to_rgb(sdr),
                                              a.style: lambda: style(rgb)}
    med = {k: stats.p50_ms for k, stats in time_rounds(steps, a.rounds).items()}
    print(f"{w}x{h}, {a.threads} threads for the style, medians of {a.rounds} rounds of 3 turns (ms): "
          + ", ".join(f"{k} {v:.1f}" for k, v in med.items()))
    print(f"tone map / {a.style}: {med['tone map (hdr.to_sdr)'] / med[a.style]:.2f}")


if __name__ == "__main__":
    main()
