"""Contact sheet: rows of photos, columns of styles (the first column is the photo itself).

Uses only the runtime API, so it shows exactly what users get.

    python -m tools.contact_sheet --photos a.jpg b.jpg --styles starry_night --height 240 -o docs/sheet.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import rtstyle
from rtstyle.sources import read_image
from rtstyle.sinks import write_image


def label(img: np.ndarray, text: str) -> np.ndarray:
    """Caption strip above a tile."""
    strip = np.full((24, img.shape[1], 3), 255, np.uint8)
    cv2.putText(strip, text, (6, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, img])


def sheet(photos: list[Path], styles: list[str], height: int) -> np.ndarray:
    stylizers = [rtstyle.load_style(s) for s in styles]
    rows = []
    for p in photos:
        img = read_image(p)
        img = cv2.resize(img, (round(img.shape[1] * height / img.shape[0]), height), interpolation=cv2.INTER_AREA)
        tiles = [label(img, p.stem)] + [label(s(img), s.card.title) for s in stylizers]
        rows.append(np.hstack([np.pad(t, ((0, 0), (0, 4), (0, 0)), constant_values=255) for t in tiles]))
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((0, 4), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", nargs="+", type=Path, required=True)
    ap.add_argument("--styles", nargs="+", required=True, help="model names or .onnx paths")
    ap.add_argument("--height", type=int, default=240, help="tile height in pixels")
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    write_image(a.out, sheet(a.photos, a.styles, a.height))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
