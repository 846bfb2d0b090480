"""Flicker metric: the warping error of Lai et al. 2018 ("Learning Blind Video Temporal
Consistency"), with a floor and a fidelity figure so smoothing cannot win by blurring.

For each pair of consecutive frames, optical flow is computed on the *original* frames
(DIS, medium preset, full resolution, grey), occluded and out-of-frame pixels are masked
out by the forward-backward check, and

    E_t = sum_x M(x) * ||V_t(x) - warp(V_{t+1})(x)||^2 / sum_x M(x)

with RGB in [0, 1] (the squared norm sums the three channels, as in Lai et al.'s code).
E_warp is the mean of E_t over all pairs. The same number for the original video is the
floor: how much the input itself changes along the flow (noise, lighting, flow error).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from rtstyle import flow
from rtstyle.errors import SourceError
from rtstyle.sources import VideoFileSource


def estimator() -> flow.FlowFn:
    """The metric's flow: DIS, medium preset, full resolution (measured better than
    Farneback on these clips, and a different setting from the smoother's fast DIS)."""
    return flow.dis(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


def _unit(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * (1.0 / 255.0)


class WarpError:
    """Streaming E_warp of several videos that share one original (the flow is computed once).

    Call :meth:`add` with each original frame and the matching frame of every video, in
    order. Pairs where the check leaves no pixel (a scene cut, a blank frame) are skipped.
    """

    def __init__(self, videos: int, estimate: flow.FlowFn | None = None):
        self.estimate = estimate or estimator()
        self.sums = np.zeros(videos)
        self.pairs = 0
        self.skipped = 0
        self._prev: tuple[np.ndarray, list[np.ndarray]] | None = None

    def add(self, original: np.ndarray, frames: Sequence[np.ndarray]) -> None:
        if len(frames) != len(self.sums):
            raise ValueError(f"expected {len(self.sums)} frames, got {len(frames)}")
        g = flow.grey(original)
        current = [_unit(f) for f in frames]
        if self._prev is not None:
            prev_g, prev = self._prev
            forward = self.estimate(prev_g, g)   # t -> t+1
            mask = flow.consistent(forward, self.estimate(g, prev_g)).astype(np.float32)
            valid = float(mask.sum())
            if valid:
                for i, (a, b) in enumerate(zip(prev, current)):
                    diff = a - flow.warp(b, forward)
                    self.sums[i] += float(np.einsum("hwc,hwc,hw->", diff, diff, mask)) / valid
                self.pairs += 1
            else:
                self.skipped += 1
        self._prev = (g, current)

    @property
    def values(self) -> list[float]:
        """E_warp of each video (mean over the pairs measured so far)."""
        return [float(s / self.pairs) if self.pairs else 0.0 for s in self.sums]


def fidelity(smoothed: np.ndarray, per_frame: np.ndarray) -> float:
    """Mean absolute difference (RGB in [0, 1]) between a smoothed frame and the frame
    stylized on its own: how far smoothing moved away from what the style would paint."""
    return float(np.mean(np.abs(smoothed.astype(np.int16) - per_frame.astype(np.int16)))) / 255.0


@dataclass
class FlickerReport:
    e_warp: float                  # of the stylized video
    floor: float                   # of the original video, under the same flow and mask
    pairs: int                     # frame pairs measured
    frames: int                    # frames compared (common to all inputs)
    fidelity: float | None = None  # mean |stylized - per-frame stylized|, when given
    skipped_pairs: int = 0         # pairs without a single consistent pixel

    def summary(self) -> str:
        text = (f"E_warp {self.e_warp:.5f} (original video: {self.floor:.5f}) over {self.pairs} frame pairs"
                f" of {self.frames} frames")
        if self.skipped_pairs:
            text += f", {self.skipped_pairs} pair(s) without consistent flow skipped"
        if self.fidelity is not None:
            text += f"; fidelity (mean abs difference to per-frame) {self.fidelity:.4f}"
        return text


def _frames(path: str | Path, height: int, width: int) -> Iterator[np.ndarray]:
    """Frames of a video cropped to the reference size: H.264 output may carry one pixel of
    padding (yuv420p needs even sides); any other size difference is an error."""
    with VideoFileSource(path, reference=False) as source:
        if not (0 <= source.height - height <= 1 and 0 <= source.width - width <= 1):
            raise SourceError(f"{Path(path).name} is {source.width}x{source.height}, "
                              f"the reference is {width}x{height}: not the same video")
        for frame in source.frames():
            yield frame.image[:height, :width]


def flicker(stylized: str | Path, reference: str | Path, per_frame: str | Path | None = None) -> FlickerReport:
    """Measure a stylized video against its original (and, for fidelity, against the
    per-frame stylized video it was smoothed from). Frames are compared up to the
    shortest input."""
    with VideoFileSource(reference, reference=False) as ref:
        height, width = ref.height, ref.width
    paths = [reference, stylized] + ([per_frame] if per_frame is not None else [])
    readers = [_frames(p, height, width) for p in paths]
    meter = WarpError(2)
    frames, deviation = 0, 0.0
    try:
        for original, output, *unsmoothed in zip(*readers):
            meter.add(original, [output, original])
            if unsmoothed:
                deviation += fidelity(output, unsmoothed[0])
            frames += 1
    finally:
        for reader in readers:
            reader.close()
    if frames < 2:
        raise SourceError("need at least two frames in every input to measure flicker")
    e_warp, floor = meter.values
    return FlickerReport(e_warp, floor, meter.pairs, frames,
                         deviation / frames if per_frame is not None else None, meter.skipped)
