"""Live output to a video file or a stream URL: the stylized stream as shown, at its capture times.

A live run shows the newest frame and drops the others, so the recording (or stream) has a
variable frame rate and no sound: a source's audio would not line up with the frames kept.
To keep a file's sound, render it (`rtstyle render`, also with --stream), which paints every frame.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from rtstyle.errors import SourceError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource, is_url
from rtstyle.stream import open_stream

TIME_BASE = Fraction(1, 1000)  # capture times in milliseconds


class Recorder:
    """Records the stylized stream to ``target``, a file or a stream URL (rtstyle.stream);
    timestamps are the capture times (variable frame rate)."""

    def __init__(self, target: str | Path, width: int, height: int, fps: float):
        rate = Fraction(fps).limit_denominator(1001)
        self.sink = (open_stream(str(target), width, height, TIME_BASE, rate) if is_url(target)
                     else VideoFileSink(target, width, height, TIME_BASE, rate))
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


def sound_note(source: str, output: str = "recording") -> str | None:
    """What the user should know when recording a live run of a file that has sound."""
    try:
        with VideoFileSource(source, reference=False) as probe:
            has_audio = probe.has_audio
    except SourceError:
        return None  # the live source itself reports it
    if not has_audio:
        return None
    return (f"note: the {output} has no sound (a live run drops frames, so {Path(source).name}'s audio "
            f"would not line up); `rtstyle render` keeps it")
