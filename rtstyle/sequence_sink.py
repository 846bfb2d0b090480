"""Sink: an image sequence, one numbered picture a frame (``painted/shot_%04d.png``), for the
editing and compositing programs that take pictures, not video.

In .png, .webp, .tif and .exr the input's transparency is kept (a render with a transparent
background stays one to composite). Pictures carry no time and no sound: the render's frame rate is said in a note (to give when
the pictures are imported) and the source's other streams are named as left out. A render
that is stopped leaves the pictures of the frames done; a picture that cannot be written
whole (a full disk) is removed. A video is numbered from 1, as FFmpeg numbers; an image
sequence keeps its own numbers (picture 1001 painted is 1001).
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from rtstyle import sequences
from rtstyle.carry import left_out
from rtstyle.demux import SharedDemux
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import ClosesCutShortOnError
from rtstyle.sinks import write_image


class SequenceSink(ClosesCutShortOnError):
    """Write each frame as the picture ``pattern % number``: ``first`` for the first frame, then
    one more each frame, or, with ``rate`` (an image sequence's), ``first`` plus the frame's
    time in frames, so that a picture keeps its number. The render output protocol
    (rtstyle.outputs); ``path`` is the pattern, which the A/V check reads back. Pictures of the
    pattern that are there already (rtstyle.sinks.check_output let them be replaced) are
    removed first (unless not ``replace``: a segment of a render on Ray, whose driver did it):
    none of an earlier, longer render stays in the sequence."""

    actions = "none"  # no stream is carried over

    def __init__(self, pattern: str | Path, fps: Fraction, first: int = 1, rate: Fraction | None = None,
                 carry_from: str | SharedDemux | None = None, replace: bool = True):
        self.path = Path(pattern)
        self.first, self.rate = first, rate
        if replace:
            remove_pictures(self.path)
        self.dropped = notes(carry_from, fps)
        self.frames_written = 0

    def _picture(self, number: int) -> Path:
        return self.path.with_name(self.path.name % number)

    def show(self, frame: VideoFrame, status: object = None) -> None:
        target = self._picture(self.first + (round(frame.time * self.rate) if self.rate else self.frames_written))
        picture = frame.image if frame.alpha is None else np.dstack([frame.image, frame.alpha])
        try:
            write_image(target, picture)
        except SinkError as e:
            raise SinkError(f"{e}; the {self.frames_written} pictures written before it are kept") from None
        self.frames_written += 1

    def close(self, complete: bool = True) -> None:
        """Nothing to finish: every picture was whole when it was written."""

    def discard(self) -> None:
        """Pictures stay: each one is whole (a video cut short may not play; a picture does)."""


def notes(carry_from: str | SharedDemux | None, fps: Fraction) -> list[str]:
    """What numbered pictures leave out of the source: its other streams, and the rate."""
    left = left_out(carry_from, "an image sequence") if carry_from else []
    return [*left, f"pictures carry no frame rate: import them at {float(fps):g} fps"]


def remove_pictures(pattern: Path) -> None:
    """The pictures of ``pattern`` that are there (an earlier render's, or a cancelled one's)."""
    for number in sequences.numbers(pattern):
        pattern.with_name(pattern.name % number).unlink(missing_ok=True)
