"""Temporal smoothing of stylized video: the same stateful object serves render and live.

A feed-forward style network paints every frame on its own, so textures boil on static
walls and swim on moving objects. A smoother sees each input frame with its stylized
result and returns the frame to show:

- ``none``: the stylized frame as it is.
- ``ema``: exponential blend with the previous output (ghosts on motion).
- ``flow``: the previous *output* warped along optical flow computed on the inputs (DIS
  on a downscaled grey frame), blended only where the forward-backward and photometric
  checks say the warp is valid; elsewhere, and after a scene cut, the fresh frame.

Any mode can add an input deadband: pixels whose input has barely changed since they
were last refreshed keep their previous value (static webcam scenes).

``strength`` is the weight of the history, 0 (off) to <1. State resets on a scene cut,
a change of frame size, or an explicit :meth:`Smoother.reset` (seek, source switch).
"""
from __future__ import annotations

import cv2
import numpy as np

from rtstyle import flow

MODES = ("none", "ema", "flow")
DEFAULT_MODE = "flow"     # chosen by measurement: docs/temporal.md
DEFAULT_STRENGTH = 0.6

WORK_WIDTH = 320          # width of the grey frames used for flow, cuts and deadband
CUT_LEVELS = 30.0         # mean grey change of the thumbnails that means a scene cut
PHOTOMETRIC_TOLERANCE = 40.0  # grey levels of warped-input error at which a warp stops counting (soft from half of it)
FLOW_PRESET = cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST


def thumbnail(grey: np.ndarray) -> np.ndarray:
    """16 pixels wide: only large areas survive, and motion between two frames barely
    changes those (measured: <= 18 levels mean change on fast motion, 43-91 on real cuts)."""
    return flow.shrink(grey, 16)


def is_cut(a: np.ndarray, b: np.ndarray) -> bool:
    """Scene cut between two frames, given their thumbnails."""
    return float(cv2.absdiff(a, b).mean()) > CUT_LEVELS


def _resize(weights: np.ndarray, height: int, width: int) -> np.ndarray:
    """Small mask or weights -> float32 weights at frame size (soft edges, no blocky seams)."""
    return cv2.resize(weights.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def _local_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Absolute grey difference averaged over a small window (robust to noise)."""
    return cv2.blur(cv2.absdiff(a, b).astype(np.float32), (5, 5))


class Smoother:
    """Base smoother (mode ``none``): keeps the state every mode shares.

    ``__call__(original_rgb, stylized_rgb) -> rgb`` with RGB uint8 H x W x 3 frames;
    ``reset()`` forgets the past (call it on seek or source change). State is kept in
    8 bits (memory bandwidth is most of the cost); rounding can hold a pixel up to
    0.5 / (1 - strength) levels away from where it would settle.
    """

    mode = "none"

    def __init__(self, strength: float = DEFAULT_STRENGTH, deadband: float = 0.0):
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be in [0, 1), got {strength}")
        if deadband < 0:
            raise ValueError(f"deadband must be >= 0 grey levels, got {deadband}")
        self.strength = strength
        self.deadband = deadband
        self.cuts = 0  # scene cuts seen (each one reset the state)
        self.reset()

    def reset(self) -> None:
        self._prev_small: np.ndarray | None = None  # grey input, WORK_WIDTH wide
        self._prev_thumb: np.ndarray | None = None  # its thumbnail, for cut detection
        self._prev_out: np.ndarray | None = None    # last output, full size
        self._anchor: np.ndarray | None = None      # deadband: input when each pixel was last refreshed

    def __call__(self, original: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if self.mode == "none" and not self.deadband:
            return stylized
        small = flow.grey(original, WORK_WIDTH)
        thumb = thumbnail(small)
        prev_small, prev_out = self._prev_small, self._prev_out
        restart = prev_out is None or prev_out.shape != stylized.shape or prev_small.shape != small.shape
        if not restart and is_cut(self._prev_thumb, thumb):
            self.cuts += 1
            restart = True
        if restart:
            out, self._anchor = stylized, small
        else:
            out = self._smooth(prev_small, small, prev_out, stylized)
            if self.deadband:
                out = self._hold(small, prev_out, out)
        # A copy is kept, so the caller may draw on the frame it gets (an overlay, say).
        self._prev_small, self._prev_thumb, self._prev_out = small, thumb, out.copy()
        return out

    def _smooth(self, prev_small: np.ndarray, small: np.ndarray, prev_out: np.ndarray,
                fresh: np.ndarray) -> np.ndarray:
        """Combine the history with the fresh frame; the base class keeps the fresh frame."""
        return fresh

    def _hold(self, small: np.ndarray, prev_out: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Deadband: keep the previous output where the input stayed within ``deadband``
        grey levels of its value at the pixel's last refresh (so slow drift still refreshes)."""
        refresh = _local_error(small, self._anchor) > self.deadband
        self._anchor = np.where(refresh, small, self._anchor)
        keep = _resize(~refresh, *out.shape[:2])
        return cv2.blendLinear(prev_out, out, keep, 1.0 - keep)


class EmaSmoother(Smoother):
    """out = strength * previous output + (1 - strength) * stylized."""

    mode = "ema"

    def _smooth(self, prev_small: np.ndarray, small: np.ndarray, prev_out: np.ndarray,
                fresh: np.ndarray) -> np.ndarray:
        return cv2.addWeighted(prev_out, self.strength, fresh, 1.0 - self.strength, 0.0)


class FlowSmoother(Smoother):
    """Previous output warped along the input's optical flow, blended where the warp is valid."""

    mode = "flow"

    def __init__(self, strength: float = DEFAULT_STRENGTH, deadband: float = 0.0):
        super().__init__(strength, deadband)
        self._estimate = flow.dis(FLOW_PRESET)

    def _smooth(self, prev_small: np.ndarray, small: np.ndarray, prev_out: np.ndarray,
                fresh: np.ndarray) -> np.ndarray:
        backward = self._estimate(small, prev_small)  # current pixel -> where it was
        moved_error = _local_error(small, flow.warp(prev_small, backward))
        still_error = _local_error(small, prev_small)
        # Where "nothing moved" explains the input as well as the flow does, believe it: DIS
        # invents sub-pixel motion on static and flat areas, which makes textures swim.
        moving = moved_error < still_error
        backward *= moving.astype(np.float32)[..., None]
        consistent = flow.consistent(backward, self._estimate(prev_small, small)) | ~moving
        # Confidence falls from 1 to 0 as the warped input's error rises to the tolerance:
        # no hard seams, and no ghosts where the warp does not explain the new frame.
        residual = np.minimum(moved_error, still_error)
        valid = consistent * np.clip(2.0 - residual * (2.0 / PHOTOMETRIC_TOLERANCE), 0.0, 1.0)
        h, w = fresh.shape[:2]
        weight = _resize(valid * self.strength, h, w)
        warped = flow.warp(prev_out, flow.upscale(backward, h, w))
        return cv2.blendLinear(warped, fresh, weight, 1.0 - weight)


_CLASSES = {cls.mode: cls for cls in (Smoother, EmaSmoother, FlowSmoother)}


def make_smoother(mode: str = DEFAULT_MODE, strength: float = DEFAULT_STRENGTH, deadband: float = 0.0) -> Smoother:
    """A fresh smoother for one stream: ``mode`` is one of :data:`MODES`."""
    if mode not in _CLASSES:
        raise ValueError(f"unknown smoothing mode '{mode}' (choose from {', '.join(MODES)})")
    return _CLASSES[mode](strength, deadband)
