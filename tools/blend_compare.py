"""Side-by-side of the two ways to mix a stylized frame with its input at part strength.

Shows why rtstyle.frames.blend mixes in YCrCb and restores contrast and colourfulness
rather than mixing RGB: writes one row per strength with the input, the plain RGB mix,
rtstyle's mix and the full style.

    python -m tools.blend_compare PHOTO --style starry_night -o docs/strength_blend.jpg
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import rtstyle
from rtstyle.frames import blend
from rtstyle.sheet import label
from rtstyle.sinks import write_image
from rtstyle.sources import read_image

from .losses import fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photo", type=Path)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--size", type=int, default=360, help="long side of each tile")
    ap.add_argument("--strengths", type=float, nargs="+", default=[0.5, 0.3])
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    photo = fit(read_image(a.photo), a.size)
    styled = rtstyle.load_style(a.style, providers="cpu")(photo)
    rows = [np.hstack([label(photo, "input"),
                       label(cv2.addWeighted(styled, s, photo, 1 - s, 0), f"RGB mix {s:g}"),
                       label(blend(styled, photo, s), f"rtstyle mix {s:g}"),
                       label(styled, "full style")]) for s in a.strengths]
    write_image(a.out, np.vstack(rows))
    print(f"-> {a.out}")


if __name__ == "__main__":
    main()
