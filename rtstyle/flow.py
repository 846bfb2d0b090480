"""Optical flow helpers shared by temporal smoothing and the flicker metric.

Conventions: a flow ``f`` computed by ``estimate(a, b)`` maps each pixel ``x`` of image
``a`` to its position ``x + f(x)`` in image ``b``, so ``warp(b, f)`` pulls ``b`` back onto
``a``'s pixel grid (backward warping, no holes).
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import cv2
import numpy as np

FlowFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


def shrink(image: np.ndarray, width: int) -> np.ndarray:
    """Area-downscale to ``width`` pixels wide (aspect kept); narrower images are returned as they are."""
    h, w = image.shape[:2]
    if width >= w:
        return image
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def grey(rgb: np.ndarray, width: int | None = None) -> np.ndarray:
    """RGB uint8 -> grey uint8, optionally area-downscaled to ``width``."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return shrink(g, width) if width else g


# Smallest (short side, long side) for which DIS keeps its preset's pyramid. Below it,
# OpenCV picks the pyramid from the width alone and then fails, or crashes the process
# (segfault on 16x100, say), and keeps the changed settings for later frames.
DIS_MIN_SIZE = (32, 96)


def dis(preset: int = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST) -> FlowFn:
    """A DIS estimator (Kroeger et al. 2016): fast and good enough for warping outputs.

    Images smaller than :data:`DIS_MIN_SIZE` are stretched to it and the flow is brought
    back to their size, so a tiny or a thin video gets a flow instead of a crash.
    """
    engine = cv2.DISOpticalFlow_create(preset)
    short, long = DIS_MIN_SIZE

    def estimate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        h, w = a.shape[:2]
        if min(h, w) >= short and max(h, w) >= long:
            return engine.calc(a, b, None)
        size = (max(w, long), max(h, short)) if w >= h else (max(w, short), max(h, long))
        a, b = (cv2.resize(x, size, interpolation=cv2.INTER_LINEAR) for x in (a, b))
        return upscale(engine.calc(a, b, None), h, w)

    return estimate


def upscale(flow: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize a flow field computed on a smaller (or larger) image, scaling its vectors to match."""
    h, w = flow.shape[:2]
    if (h, w) == (height, width):
        return flow
    # Scaling commutes with linear interpolation: do it on the small field, 4x fewer pixels.
    return cv2.resize(flow * np.array([width / w, height / h], np.float32), (width, height),
                      interpolation=cv2.INTER_LINEAR)


@lru_cache(maxsize=8)
def _grid(height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.dstack([x, y])


def sample_map(flow: np.ndarray) -> np.ndarray:
    """Absolute sampling coordinates x + f(x) (H x W x 2) for cv2.remap."""
    return flow + _grid(*flow.shape[:2])


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Pull ``image`` back along ``flow`` (bilinear; edges replicated).

    The map goes to OpenCV's fixed-point form first (1/32 pixel, what remap computes
    with anyway): remapping from it is markedly faster.
    """
    fixed, fraction = cv2.convertMaps(sample_map(flow), None, cv2.CV_16SC2)
    return cv2.remap(image, fixed, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _norm2(flow: np.ndarray) -> np.ndarray:
    """Squared length of each flow vector (channel slices: far faster than a reduction)."""
    return flow[..., 0] ** 2 + flow[..., 1] ** 2


def consistent(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """Forward-backward check (Sundaram et al. 2010, constants as in Lai et al. 2018).

    ``forward`` maps a -> b and ``backward`` b -> a. Where a pixel is visible in both
    frames, following the forward flow and then the backward flow returns to the start;
    a large round-trip error marks occlusions and unreliable flow. Returns True where
    the flow is trustworthy and its target lies inside the frame.
    """
    h, w = forward.shape[:2]
    target = sample_map(forward)
    back = cv2.remap(backward, target, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = _norm2(forward + back)
    scale = _norm2(forward) + _norm2(back)
    tx, ty = target[..., 0], target[..., 1]
    return (round_trip <= 0.01 * scale + 0.5) & (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
