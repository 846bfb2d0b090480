"""How much of the quality tier survives losing detail: the teacher itself at half size.

A fast student must paint the quality tier's picture from less computation. The cheapest
way to spend less on the teacher itself is to run it on a half-size frame (internal scale
0.5, guided upsampling back), with the style vector of the shipped knobs or of a half-size
painting (so that strokes keep their size relative to the picture). Its PSNR against the
quality tier at full size shows how the picture depends on detail the student has to get
right to reach the issue's 20 dB.

    python -m benchmarks.half_scale_teacher --styles PAINTINGS --photos P1.jpg P2.jpg ... [--only candy]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnx

from rtstyle.sources import read_image
from rtstyle.stylizer import Stylizer
from rtstyle.teacher import Knobs, Vectors, read_painting
from tools.bake import bake
from tools.image_scores import psnr
from tools.losses import fit
from tools.zoo import BY_NAME, ZOO


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder with the eight paintings")
    ap.add_argument("--photos", nargs="+", type=Path, required=True, help="held-out photos")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--size", type=int, default=384, help="long side the photos are scored at")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    vectors = Vectors()
    photos = [fit(read_image(p), a.size) for p in a.photos]  # as the quality report sizes them
    print(f"{len(photos)} photos at {a.size} px long side; PSNR (dB) against the quality tier at full size")
    with tempfile.TemporaryDirectory() as tmp:
        for s in [BY_NAME[n] for n in a.only] if a.only else ZOO:
            quality = Stylizer(s.name, providers="cpu", threads=a.threads)
            references = [quality(x) for x in photos]
            painting = read_painting(a.styles / s.picture)
            for size in (s.knobs.style_size, s.knobs.style_size // 2):
                knobs = Knobs(style_size=size, style_weight=s.knobs.style_weight)
                path = Path(tmp) / f"{s.name}_{size}.onnx"
                onnx.save(bake(vectors(painting, knobs)), str(path))
                half = Stylizer(path, providers="cpu", threads=a.threads, scale=0.5)
                scores = [psnr(half(x), y) for x, y in zip(photos, references)]
                print(f"{s.name:16s} teacher at scale 0.5, style_size {size:4d}: mean {np.mean(scores):5.2f}  "
                      f"per photo {' '.join(f'{v:.1f}' for v in scores)}", flush=True)


if __name__ == "__main__":
    main()
