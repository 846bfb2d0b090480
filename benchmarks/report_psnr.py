"""A candidate student's PSNR against its teacher, as the quality report scores it, in a minute.

The report (tools.quality_report) takes 15 minutes for all eight styles; this scores only the
PSNR target (>= 20 dB mean on the photos and on the clip) of the given models of one style: the
report's photos at its 384 px, every frame of its clip, against the int8 ``arbitrary`` network
with the style's vector and knobs, with the report's own functions. Also the largest 2-pixel
grid amplitude over the photos (target <= 0.5 grey levels), and the photos' PSNR in the band of
BORDER pixels along the frame's edges and inside it (the mean of each over the photos): where
the student's padding paints otherwise than the teacher's reflection, the band is worse.

    python -m benchmarks.report_psnr --styles PAINTINGS mosaic models/mosaic_fast.onnx DIR/mosaic_fast.onnx
"""
from __future__ import annotations

import math
import statistics

import numpy as np

import rtstyle
from rtstyle.sources import read_image
from rtstyle.teacher import Vectors, teacher
from tools.image_scores import grid_amplitude, psnr
from tools.losses import fit
from tools.quality_report import HERE, REFERENCE, pictures_in, read_clip
from tools.zoo import BY_NAME

from .common import student_args

BORDER = 8


def band_and_inside(y: np.ndarray, ref: np.ndarray, band: int = BORDER) -> tuple[float, float]:
    """PSNR (dB) of ``y`` against ``ref`` in the ``band`` pixels along the edges, and inside them."""
    err = (y.astype(np.float64) - ref) ** 2
    inside = np.zeros(err.shape[:2], bool)
    inside[band:-band, band:-band] = True
    return tuple(10 * math.log10(255 ** 2 / err[where].mean()) for where in (~inside, inside))


def main() -> None:
    a = student_args(__doc__)
    s = BY_NAME[a.style]
    photos = [fit(read_image(p), REFERENCE.size) for p in pictures_in(HERE / "photos")]
    clip = read_clip(HERE / "clip_megamind.mp4")
    paint = teacher(Vectors(a.threads)(read_image(a.styles / s.picture), s.knobs), a.threads)
    photo_refs, clip_refs = [paint(x) for x in photos], [paint(x) for x in clip]
    print(f"{a.style}: PSNR against the teacher, {len(photos)} photos at {REFERENCE.size} px and {len(clip)} clip frames")
    for m in a.models:
        stylize = rtstyle.load_style(m, providers="cpu", threads=a.threads)  # a name or an .onnx path
        ys = [stylize(x) for x in photos]
        on_photos = statistics.mean(psnr(y, r) for y, r in zip(ys, photo_refs))
        on_clip = statistics.mean(psnr(stylize(x), r) for x, r in zip(clip, clip_refs))
        grid = max(max(grid_amplitude(y).values()) for y in ys)
        border, inside = (statistics.mean(v) for v in zip(*(band_and_inside(y, r) for y, r in zip(ys, photo_refs))))
        print(f"  {m:<48} photos {on_photos:6.2f} dB  clip {on_clip:6.2f} dB  grid {grid:.2f}  "
              f"photos' {BORDER}-px border {border:.2f} dB, inside {inside:.2f} dB")


if __name__ == "__main__":
    main()
