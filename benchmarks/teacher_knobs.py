"""Side-by-side sheets for choosing a style's teacher knobs by eye (tools/zoo.py records the choice).

One row per knob setting, one column per photo, each the teacher's output at the photo's own
size (no rescaling of the result), the setting written in the row's corner. ``--score`` also
prints, per setting, the faces kept and edge structure of the baked quality model on the
quality report's inputs (tools.faces_kept), so a setting can be checked against the report's
targets before anything is trained from it.

    python -m benchmarks.teacher_knobs PAINTING --photos A.jpg B.png --video CLIP --out sheet.png \\
        [--sizes 192 256 384 512] [--weights 1.0] [--width 360] [--score]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np
import onnx

from rtstyle.sinks import write_image
from rtstyle.sources import VideoFileSource, read_image
from rtstyle.stylizer import Stylizer
from rtstyle.teacher import Knobs, Vectors, read_painting, teacher
from tools.bake import bake
from tools.faces_kept import ContentKept


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
    ap.add_argument("--score", action="store_true", help="faces kept and edge structure of each setting, baked")
    a = ap.parse_args()
    score = ContentKept() if a.score else None
    photos = [at_width(read_image(p), a.width) for p in a.photos]
    if a.video:
        source = VideoFileSource(a.video)
        photos.append(at_width(next(f.image for f in source.frames() if f.index >= a.frame), a.width))
        source.close()
    vectors = Vectors()
    painting = read_painting(a.painting)
    height = max(p.shape[0] for p in photos)
    rows = []
    for size in a.sizes:
        for weight in a.weights:
            knobs = Knobs(size, weight)
            vector = vectors(painting, knobs)
            paint = teacher(vector)
            if score:
                with tempfile.TemporaryDirectory() as tmp:
                    onnx.save(bake(vector), f"{tmp}/baked.onnx")
                    kept, edges = score(Stylizer(f"{tmp}/baked.onnx", providers="cpu"))
                print(f"style_size {size}, style_weight {weight}: {score.describe(kept, edges)}", flush=True)
            row = np.concatenate([np.pad(paint(p), ((0, height - p.shape[0]), (0, 4), (0, 0)), constant_values=255)
                                  for p in photos], 1)
            cv2.putText(row, f"style_size {size}, style_weight {weight}", (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                        (255, 0, 0), 2)
            rows.append(row)
    write_image(a.out, np.concatenate(rows, 0))


if __name__ == "__main__":
    main()
