"""Sink: a contact sheet, one picture painted in many styles side by side (`rtstyle sheet`).

Choosing a style is looking: each tile is the picture as a render paints it in one style
(at the picture's own size, shrunk into the tile afterwards, so the strokes keep the size they
have in the render), captioned with the name that ``--style`` takes. The same tiles make the
quality report's sheets (tools/contact_sheet.py, tools/quality_report.py).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

from rtstyle.painter import Look, Painter

CAPTION = 24  # pixels of the strip above a tile
GAP = 4       # white pixels between tiles and between rows
FONT = 0.5    # the captions' size (OpenCV's Hershey font scale)


def label(img: np.ndarray, text: str) -> np.ndarray:
    """Caption strip above a tile; a caption wider than the tile in smaller letters (down to
    0.3 of OpenCV's font: still legible), so that the name --style takes can be read whole."""
    strip = np.full((CAPTION, img.shape[1], 3), 255, np.uint8)
    (width, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, FONT, 1)
    scale = max(0.3, min(FONT, FONT * (img.shape[1] - 8) / max(width, 1)))
    cv2.putText(strip, text, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([strip, img])


def fit(img: np.ndarray, height: int) -> np.ndarray:
    """``img`` at ``height`` pixels, its aspect kept (area averaging when it shrinks)."""
    return cv2.resize(img, (max(1, round(img.shape[1] * height / img.shape[0])), height), interpolation=cv2.INTER_AREA)


def tiles(images: Sequence[tuple[str, np.ndarray]], height: int, columns: int = 0) -> list[np.ndarray]:
    """Captioned tiles of one subject, wrapped into rows of ``columns`` tiles (0: one row)."""
    tiles = [np.pad(label(fit(img, height), text), ((0, 0), (0, GAP), (0, 0)), constant_values=255)
             for text, img in images]
    step = columns or len(tiles)
    return [np.hstack(tiles[i:i + step]) for i in range(0, len(tiles), step)]


def stack(rows: Sequence[np.ndarray]) -> np.ndarray:
    """Rows of tiles one under the other, left-aligned on white."""
    width = max(r.shape[1] for r in rows)
    return np.vstack([np.pad(r, ((0, GAP), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])


def style_sheet(picture: np.ndarray, painter: Painter, height: int, columns: int,
                box: tuple[int, int, int, int] | None = None,
                on_style: Callable[[str], None] | None = None) -> np.ndarray:
    """The picture, then the picture in each of the painter's styles, as captioned tiles ``height``
    pixels high in rows of ``columns``. ``box``: the picture inside black bars (a video's), the
    only part painted, as in a render. ``on_style`` hears each style's name before it is painted."""
    shown = [("input", picture)]
    for name in painter.names:
        if on_style:
            on_style(name)
        shown.append((name, painter.paint(picture, Look(name, picture=box))))
    return stack(tiles(shown, height, columns))
