"""Live output to a video file: the stylized stream as shown, at its capture times.

A live run shows the newest frame and drops the others, so the recording has a variable
frame rate and no sound: a source's audio would not line up with the frames kept. To keep
a file's sound, render it (`rtstyle render`), which paints every frame.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from rtstyle.errors import SourceError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource


class Recorder:
    """Records the stylized stream; timestamps are the capture times (variable frame rate)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float):
        self.sink = VideoFileSink(path, width, height, Fraction(1, 1000), Fraction(fps).limit_denominator(1001))
        self.start: float | None = None
        self.last_pts = -1

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        if self.start is None:
            self.start = frame.captured_at
        pts = max(round((frame.captured_at - self.start) * 1000), self.last_pts + 1)
        self.sink.write(frame.image, pts)
        self.last_pts = pts

    def close(self) -> None:
        self.sink.close()


def sound_note(source: str) -> str | None:
    """What the user should know when recording a live run of a file that has sound."""
    try:
        probe = VideoFileSource(source, reference=False)
    except SourceError:
        return None  # the live source itself reports it
    try:
        has_audio = probe.has_audio
    finally:
        probe.close()
    if not has_audio:
        return None
    return (f"note: the recording has no sound (a live run drops frames, so {Path(source).name}'s audio "
            f"would not line up); `rtstyle render` keeps it")
