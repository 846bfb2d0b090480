"""Contact sheet: rows of photos, columns of styles (the first column is the photo itself).

Uses only the runtime API, so it shows exactly what users get.

    python -m tools.contact_sheet --photos a.jpg b.jpg --styles starry_night --height 240 -o docs/sheet.png
    python -m tools.contact_sheet --photos a.jpg --styles multistyle26:{0..25} --columns 7 --height 150 \
        --render-height 300 --colours 256 -o docs/multistyle26.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import rtstyle
from rtstyle.sheet import fit, stack, tiles
from rtstyle.sinks import write_image
from rtstyle.sources import read_image


def caption(style: rtstyle.Stylizer) -> str:
    """The style's title, with its index when it is one of a mixable model's named styles."""
    current = style.current_style if style.space else None
    return f"{style.styles.index(current)} {style.title}" if current else style.title


def sheet(photos: list[Path], styles: list[str], height: int, columns: int = 0, render_height: int = 0) -> np.ndarray:
    """Each photo's tiles (the photo, then each style) wrap into rows of ``columns`` tiles (0: one row).

    ``render_height`` stylizes at that height and shrinks to ``height``: strokes keep the
    size they have on real frames instead of swelling on a thumbnail-sized input.
    """
    stylizers = [rtstyle.load_style(s) for s in styles]
    rows = []
    for p in photos:
        img = fit(read_image(p), render_height or height)
        rows += tiles([(p.stem, img)] + [(caption(s), s(img)) for s in stylizers], height, columns)
    return stack(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", nargs="+", type=Path, required=True)
    ap.add_argument("--styles", nargs="+", required=True, help="model names or .onnx paths")
    ap.add_argument("--height", type=int, default=240, help="tile height in pixels")
    ap.add_argument("--columns", type=int, default=0, help="tiles per row (default: all in one row)")
    ap.add_argument("--render-height", type=int, default=0, help="stylize at this height, then shrink to --height")
    ap.add_argument("--colours", type=int, default=0, help="write a palette PNG of this many colours (smaller file)")
    ap.add_argument("-o", "--out", type=Path, required=True)
    a = ap.parse_args()
    image = sheet(a.photos, a.styles, a.height, a.columns, a.render_height)
    if a.colours:
        from PIL import Image  # tools only ([train] extra): OpenCV cannot write palette PNGs

        Image.fromarray(image).quantize(a.colours, method=Image.Quantize.MEDIANCUT).save(a.out, optimize=True)
    else:
        write_image(a.out, image)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
