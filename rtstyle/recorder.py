"""Video outputs, to a file or a stream URL, for live runs and renders (:func:`open_video`).

A render's frames carry their timestamps, and the source's sound goes along. A live run
shows the newest frame and drops the others, so its recording (or stream) is timed by the
capture times (:class:`Recorder`), has a variable frame rate and no sound: a source's audio
would not line up with the frames kept. To keep a file's sound, render it (`rtstyle render`,
also with --stream), which paints every frame.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from rtstyle import sequences
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus, Opened, OutputContext
from rtstyle.gif import GifSink
from rtstyle.sequence_sink import SequenceSink
from rtstyle.sinks import VideoFileSink, is_gif
from rtstyle.sources import STREAM_TIMEOUT, is_url
from rtstyle.stream import open_stream

TIME_BASE = Fraction(1, 1000)  # capture times in milliseconds


class Recorder:
    """Records the stylized stream to ``target``, a file or a stream URL (rtstyle.stream);
    timestamps are the capture times (variable frame rate)."""

    def __init__(self, target: str | Path, width: int, height: int, fps: float, timeout: float = STREAM_TIMEOUT,
                 codec: str | None = None):
        """``codec``: a video file's encoder (rtstyle.encoders; default: its container's own)."""
        rate = Fraction(fps).limit_denominator(1001)
        if is_url(target):
            self.sink = open_stream(str(target), width, height, TIME_BASE, rate, timeout=timeout)
        elif is_gif(target):
            self.sink = GifSink(target, width, height, TIME_BASE, rate)
        else:
            self.sink = VideoFileSink(target, width, height, TIME_BASE, rate, codec=codec)
        self.start: float | None = None
        self.last_pts = -1

    def show(self, frame: VideoFrame, status: LiveStatus | None) -> None:
        if self.start is None:
            self.start = frame.captured_at
        pts = max(round((frame.captured_at - self.start) * 1000), self.last_pts + 1)
        self.sink.write(frame.image, pts)
        self.last_pts = pts

    def close(self) -> None:
        self.sink.close()


def open_video(target: str | Path, ctx: OutputContext) -> Opened:
    """The output for a file (a Path) or a stream URL (a str): a render's, which takes the
    frames' own timestamps and the source's sound, or a live run's :class:`Recorder`."""
    stream = isinstance(target, str)
    timing = ctx.render
    source = None if ctx.source and sequences.is_sequence(ctx.source) else ctx.source  # pictures: nothing to carry
    if timing is None:
        # A live run drops frames: the source's sound would not line up, so none goes along (the user is told).
        notes = [f"note: the {'stream' if stream else 'recording'} has no sound (a live run drops frames, so "
                 f"{Path(source).name}'s audio would not line up); `rtstyle render` keeps it"] \
            if source and ctx.source_sound else []
        return Recorder(target, ctx.width, ctx.height, ctx.fps, ctx.timeout, ctx.encoder), notes
    shape = (ctx.width, ctx.height, timing.time_base, timing.fps)
    source = ctx.shared or source  # a URL's one reading (rtstyle.demux)
    carry = dict(carry_from=source, start_time=timing.start_time, crf=timing.crf, part=timing.part,
                 length=timing.length, soundtrack=timing.soundtrack)
    if stream:  # sent at the video's pace, as a player would play the file
        return open_stream(target, *shape, realtime=True, timeout=ctx.timeout, **carry), []
    if is_gif(target):
        return GifSink(target, *shape, carry_from=source, progress=ctx.finishing), []
    if sequences.is_pattern(target):
        first, rate = timing.numbers or (1, None)
        return SequenceSink(target, timing.fps, first, rate, carry_from=source), []
    return VideoFileSink(target, *shape, carry_timeout=ctx.timeout, grid_rate=timing.grid_rate, codec=ctx.encoder,
                         alpha=ctx.alpha, **carry), []

