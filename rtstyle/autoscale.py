"""Live's automatic scale (``live --scale auto``): the largest that paints as fast as the source sends.

A camera sends a frame every 33 ms; two CPU cores paint a 1280x720 frame in about 90 ms, so
two frames in three were dropped and the picture moved in jerks. Painting at a smaller internal
scale (rtstyle.guided brings it back to full size) costs about the square of the scale, so
:class:`AutoScale` watches how long the inference thread takes per frame; when the recent median
overruns the source's frame interval it goes down to the rung predicted to fit (time x scale
ratio squared: at once, not a rung every dozen frames), and it steps back up a rung when the
rung above is predicted to fit with room to spare. Rungs, not a continuous value: each size's
first run costs extra (ONNX Runtime plans it), and the strokes, whose size follows the scale,
must not creep. The gap between the two thresholds keeps it from going back and forth.
"""
from __future__ import annotations

import statistics
from collections import Counter

# Each about 0.7x the pixels of the one before, down to half size: below it the strokes blur and
# the guided upsampling leaves halos beside hard edges (a pole's ghost at 0.35), so a machine too
# slow at 0.5 drops frames there rather than paint mush.
RUNGS = (1.0, 0.85, 0.7, 0.6, 0.5)
WINDOW = 12         # frames timed at one scale before a decision (the first at a new size is slow)
DOWN_ABOVE = 1.0    # the median frame over this fraction of the source's interval: down...
DOWN_TO = 0.9       # ...to the largest rung predicted under this fraction (else the last)
UP_BELOW = 0.75     # the rung above predicted under this fraction: a rung up


class AutoScale:
    """The scale to paint the next frame at, from the times of the frames before it.

    ``interval``: seconds between the source's frames. The top rung is 1: a style is painted at
    no more than its own scale (rtstyle.painter.Painter.paint). Not thread-safe: the inference
    thread alone reads and feeds it."""

    def __init__(self, interval: float):
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self.interval = interval
        self.rung = 0
        self.changes = 0
        self.frames: Counter[float] = Counter()  # frames painted at each scale
        self._times: list[float] = []

    @property
    def scale(self) -> float:
        return RUNGS[self.rung]

    def start(self, seconds: float, at: float = 1.0) -> None:
        """Begin at the rung predicted to fit from one frame's time at scale ``at`` (measured
        before the session; a style is painted at no more than its own scale), not a dozen slow
        frames later."""
        self.rung = self._fitting(lambda rung: seconds * (min(RUNGS[rung], at) / at) ** 2, 0)

    def _fitting(self, predicted, above: int) -> int:  # noqa: ANN001 (rung -> seconds)
        """The first rung after ``above`` predicted to fit, else the last; ``above`` itself if it fits."""
        if predicted(above) <= DOWN_ABOVE * self.interval:
            return above
        last = len(RUNGS) - 1
        return next((r for r in range(above + 1, last) if predicted(r) <= DOWN_TO * self.interval), last)

    def add(self, seconds: float) -> None:
        """One frame painted at :attr:`scale` took ``seconds`` (painting and smoothing)."""
        self.frames[self.scale] += 1
        self._times.append(seconds)
        if len(self._times) < WINDOW:
            return
        median = statistics.median(self._times)
        self._times.clear()

        def predicted(rung: int) -> float:  # the frame's time at another rung
            return median * (RUNGS[rung] / self.scale) ** 2

        if median > DOWN_ABOVE * self.interval and self.rung < len(RUNGS) - 1:
            self.rung = self._fitting(predicted, self.rung)
        elif self.rung > 0 and predicted(self.rung - 1) < UP_BELOW * self.interval:
            self.rung -= 1
        else:
            return
        self.changes += 1
