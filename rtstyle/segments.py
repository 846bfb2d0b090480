"""One video as segments that render on their own: split at keyframes, render, join.

A distributed render (rtstyle.distributed) cuts the input at keyframes so every segment
decodes on its own after a seek. Each segment is rendered by the ordinary pipeline
(rtstyle.pipeline.render_video) from a few *warm-up* frames before its start: they are
stylized and smoothed but not written, so the smoother carries the same history into the
segment's first frame as a one-machine render would. Segments are encoded with the same
H.264 settings and keep the source's timestamps, so the driver joins them by copying
packets (no re-encoding) and muxes the source's audio and subtitles once.
"""
from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av

from rtstyle import avcheck, pipeline
from rtstyle.errors import SinkError, SourceError
from rtstyle.frames import VideoFrame
from rtstyle.pipeline import RenderReport
from rtstyle.painter import Painter
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import STREAM_TIMEOUT, VideoFileSource
from rtstyle.stylizer import Stylizer
from rtstyle.temporal import Smoother

MAX_WARMUP = 120        # frames: very strong smoothing is matched at the seam only approximately
SEAM_TOLERANCE = 0.01   # share of a fresh start's difference the history may still carry at the seam
BEGINNING = -(1 << 62)  # a timestamp before any frame: the first segment starts with the video


def warmup_frames(smoother: Smoother | None) -> int:
    """Frames before a seam needed for the smoother's history to match a one-machine run.

    The history weighs at most ``strength`` per frame, so after n frames a fresh start
    differs from the continuous run by at most strength^n of what it did at first. No
    smoothing needs none. A deadband can hold a pixel indefinitely: seams then match only
    where the picture moved during the warm-up (docs/scale_out.md).
    """
    if smoother is None or smoother.mode == "none" and not smoother.deadband:
        return 0
    if smoother.strength <= 0:
        return 1
    return min(MAX_WARMUP, math.ceil(math.log(SEAM_TOLERANCE) / math.log(smoother.strength)))


@dataclass(frozen=True)
class Segment:
    """Frames [start, end) of a video by presentation timestamp (source time base, from the
    container start, as VideoFrame.pts), led by warm-up frames from ``warmup_from``."""

    index: int
    start: int
    end: int | None       # None: to the end of the video
    warmup_from: int
    seek: int | None      # stream timestamp of a keyframe at or before the warm-up; None: from the beginning
    frames: int           # frames in [start, end) by the container's packets
    start_time: float     # seconds, for messages
    end_time: float

    def describe(self, name: str) -> str:
        return f"segment {self.index + 1} ({_clock(self.start_time)}-{_clock(self.end_time)} of {name})"


def _clock(seconds: float) -> str:
    minutes, s = divmod(seconds, 60)
    return f"{int(minutes)}:{s:06.3f}"


def plan(path: str | Path, segment_seconds: float, warmup: int = 0) -> list[Segment]:
    """Cut a video into segments of about ``segment_seconds`` that start at keyframes.

    Read from the container's packets (no decoding). A video whose packets carry no
    timestamps, or with a single keyframe, is one segment.
    """
    if segment_seconds <= 0:
        raise ValueError(f"segment length must be positive, got {segment_seconds}")
    source = VideoFileSource(path, reference=False)  # a clear SourceError for anything that does not open or decode
    time_base, origin = source.time_base, round(source.start_time / source.time_base)
    frame_seconds, hint = float(1 / source.fps), source.frame_count_hint
    duration = float((source.container.duration or 0) / av.time_base)
    source.close()
    packets: list[tuple[int, bool, int]] = []  # pts, keyframe, earliest stream timestamp to seek to
    stamped = True
    with av.open(str(path)) as container:
        try:
            for p in container.demux(container.streams.video[0]):
                if not p.size:
                    continue
                if p.pts is None:
                    stamped = False
                    break
                packets.append((p.pts - origin, p.is_keyframe, min(p.pts, p.dts if p.dts is not None else p.pts)))
        except av.error.FFmpegError:
            pass  # a damaged tail: the decoder will stop there too
    packets.sort()
    seconds = [float(pts * time_base) for pts, _, _ in packets]
    end_time = seconds[-1] + frame_seconds if seconds else duration
    if not stamped or len(packets) < 2:
        return [Segment(0, BEGINNING, None, BEGINNING, None, len(packets) if stamped else hint,
                        0.0, end_time)]
    keys = [i for i, (_, key, _) in enumerate(packets) if key]
    cuts = [0]
    for i in keys:
        if seconds[i] - seconds[cuts[-1]] >= segment_seconds:
            cuts.append(i)
    bounds = cuts + [len(packets)]
    segments = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:])):
        first = max(0, a - warmup)
        key = bisect.bisect_right(keys, first) - 1  # the last keyframe at or before the first warm-up frame
        segments.append(Segment(
            index=n, start=packets[a][0] if n else BEGINNING, end=packets[b][0] if b < len(packets) else None,
            warmup_from=packets[first][0] if n else BEGINNING, seek=packets[keys[key]][2] if n and key >= 0 else None,
            frames=b - a, start_time=seconds[a], end_time=seconds[b] if b < len(packets) else end_time))
    return segments


class SegmentSource(VideoFileSource):
    """The frames of one segment, after its warm-up frames (which carry negative indices).

    Seeks to the keyframe before the warm-up; segment frames are numbered from 0 and keep
    the source's timestamps.
    """

    def __init__(self, path: str | Path, segment: Segment, timeout: float = STREAM_TIMEOUT):
        super().__init__(path, timeout, reference=False)  # the joined file is what gets checked
        self.segment = segment
        self.header_frames = 0  # the whole file's count says nothing about a segment
        self.frame_count_hint = segment.frames

    def frames(self) -> Iterator[VideoFrame]:
        seg = self.segment
        if seg.seek is not None:
            self._first = None  # decoded when the file was opened: before the seek
            self.container.seek(seg.seek, stream=self.stream, backward=True, any_frame=False)
            self.stream.codec_context.flush_buffers()
        index, first = 0, True
        for frame in super().frames():
            if first and seg.seek is not None and frame.pts > seg.warmup_from:  # the seek went past needed frames
                raise SourceError("the seek landed after its warm-up frames (an inaccurate index): "
                                  "render this file without --ray")
            first = False
            if frame.pts < seg.warmup_from:
                continue
            if seg.end is not None and frame.pts >= seg.end:
                return
            if frame.pts < seg.start:
                frame.index = -1
            else:
                frame.index, index = index, index + 1
            yield frame


@dataclass
class SegmentResult:
    """What one rendered segment holds, sent back to the driver."""

    index: int
    frames: int
    seconds: float
    skipped_packets: int = 0
    damaged_packets: int = 0
    notes: list[str] = field(default_factory=list)


def part_path(folder: Path, index: int) -> Path:
    return folder / f"segment-{index:05d}.mp4"


def render_segment(src: str | Path, segment: Segment, folder: Path, stylizer: Stylizer,
                   smoother: Smoother | None = None, workers: int = 1, crf: int = 18,
                   on_frame: Callable[[RenderReport], None] | None = None,
                   stop: threading.Event | None = None) -> SegmentResult:
    """Render one segment into ``folder`` with the one-machine pipeline and encoder settings.

    The file gets its final name only once complete and checked, so a segment file that
    exists is a finished one (what ``--resume`` relies on); a retry overwrites a cut one.
    """
    out = part_path(folder, segment.index)
    partial = out.with_suffix(".partial.mp4")
    with SegmentSource(src, segment) as source, \
            VideoFileSink(partial, source.width, source.height, source.time_base, source.fps, crf=crf) as sink:
        painter, look = Painter.of(stylizer, smoother)
        report = pipeline.render_video(source, sink, painter, look, on_frame=on_frame, stop=stop, workers=workers)
    # The driver names the segment in front of these messages.
    if report.interrupted:
        partial.unlink(missing_ok=True)
        raise SinkError("stopped")
    if not report.frames_out:
        raise SourceError("no frame of it could be decoded")
    if report.check and not report.check.ok:
        raise SinkError(f"check of the segment file {report.check.summary()}")
    try:
        partial.replace(out)
    except OSError as e:
        raise SinkError(f"cannot store {out.name}: {e.strerror}") from None
    return SegmentResult(segment.index, report.frames_out, report.seconds, report.skipped_packets,
                         report.damaged_packets, report.notes)


def join(parts: list[Path], src: str | Path, dst: Path, timeout: float = STREAM_TIMEOUT) -> RenderReport:
    """Copy the segments' video into ``dst`` with the source's audio and subtitles, then check it.

    No re-encoding: every segment must carry the same encoder parameters (same settings
    give the same ones). The A/V check compares the file with the input as a one-machine
    render's would (``report.check``).
    """
    source = VideoFileSource(src, timeout)
    try:
        with av.open(str(parts[0])) as first:
            template = first.streams.video[0]
            params = template.codec_context.extradata
            sink = VideoFileSink(dst, source.width, source.height, source.time_base, source.fps, carry_from=str(src),
                                 start_time=source.start_time, carry_timeout=timeout, video_template=template)
        report = RenderReport(audio=sink.actions, notes=list(sink.dropped))
        complete = False
        try:
            for part in parts:
                with av.open(str(part)) as c:
                    stream = c.streams.video[0]
                    if stream.codec_context.extradata != params:
                        raise SinkError(f"{part.name} was encoded with other parameters than {parts[0].name}: "
                                        "the segments cannot be joined without re-encoding")
                    for packet in c.demux(stream):
                        if packet.size and packet.pts is not None:
                            sink.write_packet(packet)
            complete = True
        finally:
            sink.close(complete=complete)
        report.frames_in = report.frames_out = sink.frames_written
        report.check = avcheck.verify(dst, source.reference, header_frames=source.header_frames)
        return report
    finally:
        source.close()
