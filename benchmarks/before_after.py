"""README's before/after picture: each photo beside its stylization by the given models.

    python -m benchmarks.before_after --photos A.jpg B.png --video examples/pedestrians.mp4 \\
        --styles starry_night starry_night_fast --out docs/before_after.jpg
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from rtstyle.sinks import write_image
from rtstyle.sources import VideoFileSource, read_image
from rtstyle.stylizer import Stylizer

from .teacher_knobs import at_width


def labelled(rgb: np.ndarray, text: str) -> np.ndarray:
    bar = np.full((22, rgb.shape[1], 3), 255, np.uint8)
    cv2.putText(bar, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([bar, rgb], 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", nargs="*", type=Path, default=[])
    ap.add_argument("--video", type=Path, default=None, help="adds its frame --frame")
    ap.add_argument("--frame", type=int, default=30)
    ap.add_argument("--styles", nargs="+", required=True)
    ap.add_argument("--width", type=int, default=288)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()
    inputs = [(p.stem, at_width(read_image(p), a.width)) for p in a.photos]
    if a.video:
        source = VideoFileSource(a.video)
        inputs.insert(0, (a.video.stem, at_width(next(f.image for f in source.frames() if f.index >= a.frame), a.width)))
        source.close()
    styles = [Stylizer(s, providers="cpu") for s in a.styles]
    rows = [np.concatenate([labelled(img, name)] + [labelled(s(img), s.card.title) for s in styles], 1)
            for name, img in inputs]
    width = max(r.shape[1] for r in rows)
    write_image(a.out, np.concatenate([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255)
                                       for r in rows], 0))


if __name__ == "__main__":
    main()
