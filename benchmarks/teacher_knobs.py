"""Side-by-side sheets for choosing a style's teacher knobs by eye (tools/zoo.py records the choice).

One row per knob setting, one column per photo, each the teacher's output at the photo's own
size (no rescaling of the result), the setting written in the row's corner.

    python -m benchmarks.teacher_knobs PAINTING --photos A.jpg B.png --video CLIP --out sheet.png \\
        [--sizes 192 256 384 512] [--weights 1.0] [--width 360]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from rtstyle.sinks import write_image
from rtstyle.sources import VideoFileSource, read_image
from rtstyle.style_images import StylePredictor
from rtstyle.teacher import PREDICTOR, Knobs, photo_vector, read_painting, style_vector, teacher
from rtstyle.training import default_content


def at_width(rgb: np.ndarray, width: int) -> np.ndarray:
    s = width / rgb.shape[1]
    return cv2.resize(rgb, (width, round(rgb.shape[0] * s) // 4 * 4), interpolation=cv2.INTER_AREA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("painting", type=Path)
    ap.add_argument("--photos", nargs="+", type=Path, required=True)
    ap.add_argument("--video", type=Path, default=None, help="adds its frame --frame as a column")
    ap.add_argument("--frame", type=int, default=60)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--sizes", nargs="+", type=int, default=[256])
    ap.add_argument("--weights", nargs="+", type=float, default=[1.0])
    ap.add_argument("--width", type=int, default=360)
    a = ap.parse_args()
    photos = [at_width(read_image(p), a.width) for p in a.photos]
    if a.video:
        source = VideoFileSource(a.video)
        photos.append(at_width(next(f.image for f in source.frames() if f.index >= a.frame), a.width))
        source.close()
    predictor = StylePredictor(PREDICTOR, providers="cpu", cache=False)
    photo = photo_vector(predictor, default_content())
    painting = read_painting(a.painting)
    height = max(p.shape[0] for p in photos)
    rows = []
    for size in a.sizes:
        for weight in a.weights:
            knobs = Knobs(size, weight)
            paint = teacher(style_vector(predictor, painting, knobs, photo))
            row = np.concatenate([np.pad(paint(p), ((0, height - p.shape[0]), (0, 4), (0, 0)), constant_values=255)
                                  for p in photos], 1)
            cv2.putText(row, f"style_size {size}, style_weight {weight}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                        (255, 0, 0), 2)
            rows.append(row)
    write_image(a.out, np.concatenate(rows, 0))


if __name__ == "__main__":
    main()
