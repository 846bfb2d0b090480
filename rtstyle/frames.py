"""Frame type and pre/post-processing around the network.

Pre: RGB uint8 HxWx3 -> float tensor in the model's layout and value range, reflection
padded to a multiple of the network stride (and to its minimum size). Post: crop back
to the frame's own size, optional strength blend and colour preservation, back to uint8.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from rtstyle.errors import RtstyleError
from rtstyle.models import ModelCard

NAMED_SIZES = {"180p": (320, 180), "360p": (640, 360), "720p": (1280, 720), "1080p": (1920, 1080)}


@dataclass
class VideoFrame:
    """One decoded frame travelling through the pipeline."""

    image: np.ndarray      # RGB uint8, H x W x 3
    index: int             # 0-based position in the source
    pts: int | None = None  # presentation timestamp in the source's time base
    time: float = 0.0      # seconds from the start of the source
    captured_at: float = 0.0  # time.monotonic() when the frame entered the pipeline
    alpha: np.ndarray | None = None  # H x W uint8 transparency, kept for an output that holds it


def parse_size(text: str) -> tuple[int, int]:
    """``640x360`` -> (640, 360); also 180p / 360p / 720p / 1080p. The one size parser of every command."""
    if text.lower() in NAMED_SIZES:
        return NAMED_SIZES[text.lower()]
    w, sep, h = text.lower().partition("x")
    if not (sep and w.strip().isdigit() and h.strip().isdigit()):
        raise RtstyleError(f"bad size '{text}': expected WIDTHxHEIGHT such as 640x360, or 720p")
    if int(w) < 1 or int(h) < 1:
        raise RtstyleError(f"bad size '{text}': sides must be positive")
    return int(w), int(h)


def square_pixels(size: tuple[int, int], aspect: Fraction | None) -> tuple[int, int]:
    """The size (width, height) of a picture stored at ``size`` whose pixels are ``aspect`` times as
    wide as tall (a sample aspect ratio: DVDs, HDV, DV widescreen) with square pixels: the
    narrow side stretched, so that no detail is lost; sides even. None or 0 means square, and
    so does a ratio within 1 % of it (no one sees that; a 1920-wide frame would grow 2 pixels)."""
    if not aspect or abs(aspect - 1) < 0.01:
        return size
    width, height = (size[0] * aspect, size[1]) if aspect > 1 else (size[0], size[1] / aspect)
    return max(2, round(width / 2) * 2), max(2, round(height / 2) * 2)


def fit_within(size: tuple[int, int], box: tuple[int, int] | None) -> tuple[int, int]:
    """``size`` (width, height) shrunk to fit in ``box`` with its aspect kept, never enlarged;
    shrunk sides are even, as yuv420p video takes them (a side of 1 stays 1). The box turns
    with the picture: a portrait video fits 720p as 720x1280."""
    if box is None:
        return size
    if (size[1] > size[0]) != (box[1] > box[0]):
        box = (box[1], box[0])
    k = min(1.0, box[0] / size[0], box[1] / size[1])
    if k == 1.0:
        return size
    sides = [max(1, int(side * k)) for side in size]
    return sides[0] - sides[0] % 2 if sides[0] > 1 else 1, sides[1] - sides[1] % 2 if sides[1] > 1 else 1


# A row or column of a frame is a letterbox bar when its mean is at most this (FFmpeg's
# cropdetect takes 24 of 255) and no pixel of it is brighter than BAR_MAX (noise, ringing).
BAR_MEAN, BAR_MAX = 24, 48


def picture_box(frames: Iterable[np.ndarray]) -> tuple[int, int, int, int] | None:
    """Where the picture is in frames that have black bars around it (a film letterboxed in
    16:9, 4:3 pillarboxed, a phone video on a wide canvas): (left, top, right, bottom), the
    smallest box holding everything that is not a bar in any of ``frames`` (RGB, one size).
    None when there are no bars, or nothing but bars (a black frame says nothing)."""
    bar_rows = bar_cols = None
    for frame in frames:
        grey = cv2.max(cv2.max(frame[..., 0], frame[..., 1]), frame[..., 2])  # a bar is dark in every channel
        rows, cols = _bars(grey, 1), _bars(grey, 0)
        if rows.all():
            continue
        bar_rows = rows if bar_rows is None else bar_rows & rows
        bar_cols = cols if bar_cols is None else bar_cols & cols
    if bar_rows is None:
        return None
    top, bottom = _edges(bar_rows)
    left, right = _edges(bar_cols)
    if (left, top, right, bottom) == (0, 0, len(bar_cols), len(bar_rows)):
        return None
    return left, top, right, bottom


def _bars(grey: np.ndarray, axis: int) -> np.ndarray:
    """Which rows (``axis`` 1) or columns (0) are bars, by OpenCV's reductions (numpy's took 5x as long on 4K)."""
    mean = cv2.reduce(grey, axis, cv2.REDUCE_AVG, dtype=cv2.CV_32F).ravel()
    return (mean <= BAR_MEAN) & (cv2.reduce(grey, axis, cv2.REDUCE_MAX).ravel() <= BAR_MAX)


def _edges(bars: np.ndarray) -> tuple[int, int]:
    """The first and one past the last index that is not a bar, counting bars from the ends only."""
    content = np.flatnonzero(~bars)
    return int(content[0]), int(content[-1]) + 1


def as_rgb(image: np.ndarray) -> np.ndarray:
    """Accept grey, RGB or RGBA uint8 arrays and return contiguous RGB uint8.

    Anything else is refused with a ValueError that says what was expected: this is
    the library's boundary, past it every step assumes a non-empty RGB uint8 frame.
    """
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    if not (image.ndim == 2 or image.ndim == 3 and image.shape[2] in (3, 4)):
        raise ValueError(f"expected an H x W (grey), H x W x 3 (RGB) or H x W x 4 (RGBA) image, got shape {image.shape}")
    if image.size == 0:
        raise ValueError(f"expected an image of at least 1 x 1 pixels, got shape {image.shape}")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_RGBA2RGB)
    return np.ascontiguousarray(image)


def pad_amounts(size: int, stride: int, min_size: int) -> tuple[int, int]:
    """Padding (before, after) that makes ``size`` a multiple of stride and at least min_size."""
    target = max(min_size, -(-size // stride) * stride)
    extra = target - size
    return extra // 2, extra - extra // 2


def tensor_shape(height: int, width: int, card: ModelCard) -> tuple[int, int, int, int]:
    """Shape of the tensor ``to_tensor`` makes for a frame of this size (fixes GPU engine profiles)."""
    h = height + sum(pad_amounts(height, card.stride, card.min_size))
    w = width + sum(pad_amounts(width, card.stride, card.min_size))
    return (1, 3, h, w) if card.layout == "NCHW" else (1, h, w, 3)


def to_tensor(rgb: np.ndarray, card: ModelCard) -> np.ndarray:
    """RGB uint8 frame -> padded float32 tensor (1 x 3 x H' x W' or 1 x H' x W' x 3).

    Padding is done on the uint8 frame and the scale written straight into the tensor: at
    640x360 that halves this step's time against padding and transposing floats.
    """
    h, w = rgb.shape[:2]
    (top, bottom), (left, right) = pad_amounts(h, card.stride, card.min_size), pad_amounts(w, card.stride, card.min_size)
    if top or bottom or left or right:
        # Reflection keeps edge statistics natural; a 1-pixel side cannot reflect, so edge.
        border = cv2.BORDER_REFLECT_101 if min(h, w) > 1 else cv2.BORDER_REPLICATE
        rgb = cv2.copyMakeBorder(rgb, top, bottom, left, right, border)
    src = rgb.transpose(2, 0, 1) if card.layout == "NCHW" else rgb
    x = np.empty((1, *src.shape), np.float32)
    np.multiply(src, np.float32(card.value_range / 255.0), out=x[0])
    return x


def from_tensor(y: np.ndarray, card: ModelCard, height: int, width: int) -> np.ndarray:
    """Network output -> RGB uint8 frame cropped back to ``height`` x ``width``."""
    top = pad_amounts(height, card.stride, card.min_size)[0]
    left = pad_amounts(width, card.stride, card.min_size)[0]
    nchw = card.layout == "NCHW"
    img = y[0, :, top:top + height, left:left + width] if nchw else y[0, top:top + height, left:left + width]
    img = img * np.float32(255.0 / card.value_range) + np.float32(0.5)
    img = np.clip(img, 0, 255, out=img).astype(np.uint8)
    return cv2.merge(list(img)) if nchw else img


def blend(stylized: np.ndarray, original: np.ndarray, strength: float) -> np.ndarray:
    """Mix the stylized frame with the original: 1.0 is full style, 0.0 the input.

    A plain RGB mix of two unrelated textures halves their contrast and greys their colours
    (the "muddy" look at 0.5). Mixing in YCrCb and then restoring the spread of luminance
    and the colourfulness that a mix of the two frames should have keeps strokes crisp
    and colours clean; docs/styles.md shows the two side by side.
    """
    if strength >= 1.0:
        return stylized
    if strength <= 0.0:
        return original
    s = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    o = cv2.cvtColor(original, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    mix = strength * s + (1.0 - strength) * o
    y = mix[..., 0]
    spread = strength * s[..., 0].std() + (1.0 - strength) * o[..., 0].std()
    y_mean = y.mean()
    mix[..., 0] = y_mean + (y - y_mean) * (spread / max(float(y.std()), 1e-3))
    chroma = mix[..., 1:] - 128.0
    colourful = strength * _colourfulness(s) + (1.0 - strength) * _colourfulness(o)
    mix[..., 1:] = 128.0 + chroma * (colourful / max(float(np.abs(chroma).mean()), 1e-3))
    return cv2.cvtColor(np.clip(mix + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)


def _colourfulness(ycrcb: np.ndarray) -> float:
    """Mean distance of the chroma from grey."""
    return float(np.abs(ycrcb[..., 1:] - 128.0).mean())


def keep_colours(stylized: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Style's luminance with the original's chroma (Gatys et al. 2016, colour preservation)."""
    y = cv2.cvtColor(stylized, cv2.COLOR_RGB2YCrCb)[..., :1]
    crcb = cv2.cvtColor(original, cv2.COLOR_RGB2YCrCb)[..., 1:]
    return cv2.cvtColor(np.concatenate([y, crcb], axis=2), cv2.COLOR_YCrCb2RGB)
