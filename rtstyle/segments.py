"""One video as segments that render on their own: split at keyframes, render, join.

A distributed render (rtstyle.distributed) cuts the input at keyframes so every segment
decodes on its own after a seek. Each segment is rendered by the ordinary pipeline
(rtstyle.pipeline.render_video) from a few *warm-up* frames before its start: they are
stylized, smoothed and encoded but not kept, so the smoother carries the same history into
the segment's first frame as a one-machine render would. A few *trailing* frames after its
end are encoded too, so the encoder codes the segment's last frames as in a continuous
encode. Segments are encoded with the same settings, in the output's codec (H.264; VP9
for WebM), and keep the source's timestamps, so the driver joins them by copying packets
(no re-encoding), keeping each segment's own frames, and muxes the source's audio and
subtitles once.
"""
from __future__ import annotations

import bisect
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.frame import PictureType

from rtstyle import avcheck, pipeline, sequences
from rtstyle.carry import Soundtrack
from rtstyle.errors import SinkError, SourceError
from rtstyle.frames import VideoFrame
from rtstyle.pipeline import RenderReport
from rtstyle.painter import Painter
from rtstyle.sequence_sink import SequenceSink
from rtstyle.sequence_sink import notes as sequence_notes
from rtstyle.sinks import ALPHA_SUFFIXES, VideoFileSink
from rtstyle.sources import STREAM_TIMEOUT, VideoFileSource
from rtstyle.stylizer import Stylizer
from rtstyle.temporal import Smoother

MAX_WARMUP = 120        # frames: very strong smoothing is matched at the seam only approximately
SEAM_TOLERANCE = 0.01   # share of a fresh start's difference the history may still carry at the seam
BEGINNING = -(1 << 62)  # a timestamp before any frame: the first segment starts with the video
# Frames encoded on each side of a seam but not kept (docs/scale_out.md, "Seams"): before it, the
# rate control has a history when it codes the seam's keyframe; after it, x264's lookahead and
# mb-tree see the video go on, as in a one-machine encode, instead of an end of stream.
ENCODER_CONTEXT = 3


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


def lead_frames(smoother: Smoother | None) -> int:
    """Frames rendered before a seam: the smoother's warm-up, and at least the encoder's context."""
    return max(warmup_frames(smoother), ENCODER_CONTEXT)


@dataclass(frozen=True)
class Segment:
    """Frames [start, end) of a video by presentation timestamp (source time base, from the
    container start, as VideoFrame.pts), led by warm-up frames from ``warmup_from`` and
    followed by trailing frames up to ``trail_to`` (None: to the end of the video)."""

    index: int
    start: int
    end: int | None       # None: to the end of the video
    warmup_from: int
    seek: int | None      # stream timestamp of a keyframe at or before the warm-up; None: from the beginning
    frames: int           # frames in [start, end) by the container's packets
    start_time: float     # seconds, for messages
    end_time: float
    trail_to: int | None = None

    def describe(self, name: str) -> str:
        return f"segment {self.index + 1} ({_clock(self.start_time)}-{_clock(self.end_time)} of {name})"


def _clock(seconds: float) -> str:
    minutes, s = divmod(seconds, 60)
    return f"{int(minutes)}:{s:06.3f}"


@dataclass
class Index:
    """A video's packets, read once and not decoded: the plan cuts them into segments, and the
    A/V check of the joined file compares it with ``reference`` (the input's own account)."""

    time_base: Fraction
    packets: list[tuple[int, bool, int]]  # pts from the container start, keyframe, earliest timestamp to seek to
    stamped: bool                         # False: packets without timestamps (then ``packets`` stops there)
    frame_count_hint: int
    end_time: float                       # seconds, the end of the last frame
    reference: avcheck.Probe

    @property
    def seconds(self) -> float:
        return self.reference.video_seconds


def read_index(path: str | Path, rate: Fraction | None = None) -> Index:
    """One pass over the video and audio packets of a file or an image sequence at ``rate``
    (a damaged tail ends it, as it ends decoding)."""
    source = VideoFileSource(path, reference=False, rate=rate)  # a clear SourceError for anything that does not open
    time_base, origin = source.time_base, round(source.start_time / source.time_base)
    frame_seconds, hint = float(1 / source.fps), source.frame_count_hint
    duration = float((source.container.duration or 0) / av.time_base)
    source.close()
    packets: list[tuple[int, bool, int]] = []
    stamped = True
    reference = avcheck.Probe()
    with source.open_container() as container:
        reference.add_streams(container)
        video = avcheck.main_video(container)
        try:
            for p in container.demux(video, *container.streams.audio):
                reference.add(p)
                if p.stream is not video or not p.size or p.is_discard or not stamped:  # (an edit list's: not shown)
                    continue
                if p.pts is None:
                    stamped = False
                    continue
                packets.append((p.pts - origin, p.is_keyframe, min(p.pts, p.dts if p.dts is not None else p.pts)))
        except av.error.FFmpegError:
            pass  # a damaged tail: the decoder will stop there too
    packets.sort()
    end_time = float(packets[-1][0] * time_base) + frame_seconds if packets else duration
    return Index(time_base, packets, stamped, len(packets) if stamped else hint, end_time, reference)


def plan(video: Index, segment_seconds: float, warmup: int = 0, trailing: int = ENCODER_CONTEXT,
         start: float = 0.0, duration: float | None = None) -> list[Segment]:
    """Cut a video into segments of about ``segment_seconds`` that start at keyframes.

    Each segment but the first starts ``warmup`` frames early, each but the last ends
    ``trailing`` frames late. A video whose packets carry no timestamps, or with a single
    keyframe, is one segment. ``start`` and ``duration`` (seconds) plan that part only, as
    rtstyle.render renders it: from the first frame at or after ``start``, whose smoothing
    starts there (the first segment has no warm-up; the others' stays inside the part).
    """
    if segment_seconds <= 0:
        raise ValueError(f"segment length must be positive, got {segment_seconds}")
    packets, end_time = video.packets, video.end_time
    seconds = [float(pts * video.time_base) for pts, _, _ in packets]
    part = bool(start) or duration is not None
    if not part and (not video.stamped or len(packets) < 2):
        return [Segment(0, BEGINNING, None, BEGINNING, None, video.frame_count_hint, 0.0, end_time)]
    half_tick = float(video.time_base) / 2
    lo = bisect.bisect_left(seconds, start - half_tick)
    hi = len(packets) if duration is None else bisect.bisect_left(seconds, start + duration - half_tick)
    if lo >= hi:
        raise SourceError(f"no video frame at or after {start:g} s" +
                          (f" and before {start + duration:g} s" if duration is not None else ""))
    keys = [i for i, (_, key, _) in enumerate(packets) if key]
    cuts = [lo]
    for i in keys:
        if lo < i < hi and seconds[i] - seconds[cuts[-1]] >= segment_seconds:
            cuts.append(i)
    bounds = cuts + [hi]
    segments = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:])):
        first = max(lo, a - warmup)
        key = bisect.bisect_right(keys, first) - 1  # the last keyframe at or before the first warm-up frame
        trail = b + trailing
        sought = n or lo  # the first segment of the whole video reads it from its beginning
        segments.append(Segment(
            index=n, start=packets[a][0] if sought else BEGINNING, end=packets[b][0] if b < len(packets) else None,
            warmup_from=packets[first][0] if sought else BEGINNING,
            seek=packets[keys[key]][2] if sought and key >= 0 else None,
            frames=b - a, start_time=seconds[a], end_time=seconds[b] if b < len(packets) else end_time,
            trail_to=packets[trail][0] if trail < len(packets) else None))
    return segments


class SegmentSource(VideoFileSource):
    """The frames of one segment between its warm-up and trailing frames (which carry negative indices).

    Seeks to the keyframe before the warm-up; segment frames are numbered from 0 and keep
    the source's timestamps.
    """

    def __init__(self, path: str | Path, segment: Segment, timeout: float = STREAM_TIMEOUT,
                 max_size: tuple[int, int] | None = None, rate: Fraction | None = None, alpha: bool = False):
        # The joined file is what gets checked: no reference here.
        super().__init__(path, timeout, reference=False, max_size=max_size, rate=rate, alpha=alpha)
        self.segment = segment
        self.header_frames = 0  # the whole file's count says nothing about a segment
        self.frame_count_hint = segment.frames

    def frames(self) -> Iterator[VideoFrame]:
        seg = self.segment
        if seg.seek is not None:
            self._seek_to(seg.seek)
        index, first = 0, True
        for frame in super().frames():
            if first and seg.seek is not None and frame.pts > seg.warmup_from:  # the seek went past needed frames
                raise SourceError("the seek landed after its warm-up frames (an inaccurate index): "
                                  "render this file without --ray")
            first = False
            if frame.pts < seg.warmup_from:
                continue
            if seg.end is not None and frame.pts >= seg.end:
                if seg.trail_to is not None and frame.pts >= seg.trail_to:
                    return
                frame.index = -1
            elif frame.pts < seg.start:
                frame.index = -1
            else:
                frame.index, index = index, index + 1
            yield frame


@dataclass
class SegmentResult:
    """What one rendered segment holds, sent back to the driver."""

    index: int
    frames: int
    seconds: float        # the pipeline's, from the first decoded frame
    skipped_packets: int = 0
    damaged_packets: int = 0
    notes: list[str] = field(default_factory=list)
    worker: int = 0       # the process that rendered it
    started: float = 0.0  # wall-clock times (time.time()) of the call: where a cluster's time goes
    finished: float = 0.0


def part_path(folder: Path, index: int, pictures: bool = False) -> Path:
    """A finished segment's file: its video, or for numbered pictures (written where they go)
    a mark that they are all there."""
    return folder / f"segment-{index:05d}.{'done' if pictures else 'mp4'}"


class SegmentSink(VideoFileSink):
    """A segment's encoder: its frames, and around them the context frames the pipeline hands to
    :meth:`write_context` (render_video's ``context``), all in one video stream (the join keeps
    the segment's own frames).

    The segment's first frame after leading context is forced to be a keyframe (an IDR: nothing
    after it refers to what came before), and its last frame before trailing context a P-frame
    (no kept B-frame refers to a frame after it). Frames are encoded one behind, because which
    is the last one is known only when the next arrives.
    """

    def __init__(self, path: Path, source: VideoFileSource, crf: int, codec: str, options: dict[str, str],
                 alpha: bool = False):
        # An MP4 file, the source's time base kept exactly; a MOV for ProRes, which MP4 does not hold;
        # Matroska for VP9 with alpha, which MP4 drops (whatever the name: the join reads what is in it).
        container = "mov" if codec == "prores_ks" else "matroska" if alpha and codec == "libvpx-vp9" else None
        super().__init__(path, source.width, source.height, source.time_base, source.fps, crf=crf, codec=codec,
                         options=options, format=container, alpha=alpha)
        # A forced keyframe is an IDR, not an open-GOP I (VP9's and ProRes's are; x265 runs closed GOPs: encoders.py).
        if codec == "libx264":
            self.stream.codec_context.options["forced-idr"] = "1"
        self.held: tuple[np.ndarray, int, bool, np.ndarray | None] | None = None
        self.kept = 0

    def write(self, rgb: np.ndarray, pts: int, pict_type: PictureType | None = None,
              alpha: np.ndarray | None = None) -> None:
        """One of the segment's own frames (its picture type is this sink's to choose)."""
        self._hold(rgb, pts, True, alpha)

    def write_context(self, rgb: np.ndarray, pts: int) -> None:
        self._hold(rgb, pts, False, None)

    def _hold(self, rgb: np.ndarray, pts: int, kept: bool, alpha: np.ndarray | None) -> None:
        held, self.held = self.held, (rgb, pts, kept, alpha)
        if held:
            self._encode(*held, followed_by_context=not kept)

    def _encode(self, rgb: np.ndarray, pts: int, kept: bool, alpha: np.ndarray | None,
                followed_by_context: bool) -> None:
        kind = None
        if kept and not self.kept and self.frames_written:
            kind = PictureType.I
        elif kept and followed_by_context:
            kind = PictureType.P
        super().write(rgb, pts, kind, alpha)
        self.kept += kept

    def close(self, complete: bool = True) -> None:
        if self.held and complete and not self.closed:
            held, self.held = self.held, None
            self._encode(*held, followed_by_context=False)
        super().close(complete)


def render_segment(src: str | Path, segment: Segment, folder: Path, stylizer: Stylizer,
                   smoother: Smoother | None = None, workers: int = 1, crf: int = 18,
                   encoder: tuple[str, dict[str, str]] = ("libx264", {}),
                   on_frame: Callable[[RenderReport], None] | None = None,
                   stop: threading.Event | None = None, max_size: tuple[int, int] | None = None,
                   picture: tuple[int, int, int, int] | None = None, rate: Fraction | None = None,
                   pictures: tuple[str, int, Fraction | None] | None = None, alpha: bool = False) -> SegmentResult:
    """Render one segment into ``folder`` with the one-machine pipeline and encoder settings
    (``encoder``: the output's and its container's options, rtstyle.sinks.encoder_for; MP4
    segment files take either; ``max_size``: rtstyle.render's; ``picture``: the whole video's
    picture inside black bars, VideoFileSource.picture_box, found once for all its segments;
    ``rate``: an image sequence's). ``pictures``: numbered pictures are the output (pattern,
    first number, and the input sequence's rate to number by time, as SequenceSink): the
    segment's own frames are written there, with their transparency where it is kept. ``alpha``:
    the video segments keep it (ProRes 4444, VP9 in WebM), as decided once for the whole input.

    The file gets its final name only once complete and checked, so a segment file that
    exists is a finished one (what ``--resume`` relies on); a retry overwrites a cut one.
    """
    started = time.time()
    out = part_path(folder, segment.index, pictures is not None)
    partial = out.with_suffix(".partial.mp4")
    kept = alpha or pictures is not None and Path(pictures[0]).suffix.lower() in ALPHA_SUFFIXES
    with SegmentSource(src, segment, max_size=max_size, rate=rate, alpha=kept) as source, \
            _segment_sink(partial, source, crf, encoder, pictures, alpha) as sink:
        painter, look = Painter.of(stylizer, smoother)
        look = replace(look, picture=picture)
        report = pipeline.render_video(source, sink, painter, look, on_frame=on_frame, stop=stop, workers=workers,
                                       context=getattr(sink, "write_context", None))
    # The driver names the segment in front of these messages.
    if report.interrupted:
        partial.unlink(missing_ok=True)
        raise SinkError("stopped")
    if not report.frames_out:
        raise SourceError("no frame of it could be decoded")
    if report.check and not report.check.ok:
        raise SinkError(f"check of the segment file {report.check.summary()}")
    try:
        if pictures:
            out.write_text(f"{report.frames_out} pictures\n")
        else:
            partial.replace(out)
    except OSError as e:
        raise SinkError(f"cannot store {out.name}: {e.strerror}") from None
    return SegmentResult(segment.index, report.frames_out, report.seconds, report.skipped_packets,
                         report.damaged_packets, report.notes, os.getpid(), started, time.time())


def _segment_sink(partial: Path, source: SegmentSource, crf: int, encoder: tuple[str, dict[str, str]] | None,
                  pictures: tuple[str, int, Fraction | None] | None, alpha: bool) -> SegmentSink | SequenceSink:
    if pictures is None:
        return SegmentSink(partial, source, crf, *encoder, alpha=alpha)
    pattern, first, rate = pictures
    return SequenceSink(pattern, source.fps, first, rate, replace=False)


def _within(packet: av.Packet, segment: Segment, time_base: Fraction) -> bool:
    """Whether a packet of a segment file (whose muxer chose its own time base) is one of the segment's frames."""
    pts = round(packet.pts * packet.time_base / time_base)
    return segment.start <= pts and (segment.end is None or pts < segment.end)


class Joiner:
    """Copies the segments' video into one output, in order and as they come (the driver joins
    while workers still render), with the source's audio and subtitles once; then checks it.

    Of each part only the frames of its segment are kept (not its context frames). No
    re-encoding: every segment must carry the same encoder parameters (same settings give the
    same ones). The A/V check compares the file with the input's own account (``reference``,
    from :func:`read_index`) as a one-machine render's would (``report.check``). Numbered
    pictures (a ``dst`` pattern) were written by the workers where they go: there is nothing to
    copy, and the check counts them.
    """

    def __init__(self, src: str | Path, dst: Path, reference: avcheck.Probe, timeout: float = STREAM_TIMEOUT,
                 start: float = 0.0, length: float | None = None, rate: Fraction | None = None,
                 audio: str | None = None):
        """``start``: a part's first frame time (seconds from the container start), which becomes
        the output's zero; ``length``: the part ends that many seconds later, before the video does
        (its sound ends with it);
        ``rate``: an image sequence's; ``audio``: a file whose sound goes in instead of the input's
        (rtstyle.carry.Soundtrack)."""
        self.soundtrack = Soundtrack(audio, since=start) if audio else None
        if audio:  # checked against that file's sound
            reference = replace(reference)
            reference.dub(avcheck.probe(audio))
        self.src, self.dst, self.reference, self.timeout = src, dst, reference, timeout
        self.start, self.length = start, length
        source = VideoFileSource(src, timeout, reference=False, rate=rate)
        self.carry_from = None if source.sequence else str(src)  # pictures have no sound to carry
        self.video = (source.width, source.height, source.time_base, source.fps)
        self.grid_rate = source.grid_rate(reference.video_times)
        self.start_time, self.header_frames = source.start_time, source.header_frames
        source.close()
        self.sink: VideoFileSink | None = None
        self.first = ""
        self.params: bytes | None = None
        self.pictures = sequences.is_pattern(dst)
        self.end = 0.0  # seconds: the end of the last segment added (for pictures, whose check is by count)

    @property
    def cut(self) -> bool:
        """Whether the part ends before the video does (its sound ends with it)."""
        return self.length is not None

    def add(self, part: Path, segment: Segment) -> None:
        self.end = segment.end_time
        if self.pictures:
            return
        with av.open(str(part)) as c:
            stream = c.streams.video[0]
            if self.sink is None:
                self.sink = VideoFileSink(self.dst, *self.video, carry_from=self.carry_from,
                                          start_time=self.start_time + self.start, part=self.start > 0,
                                          length=self.length,
                                          carry_timeout=self.timeout, video_template=stream,
                                          grid_rate=self.grid_rate, soundtrack=self.soundtrack)
                self.first, self.params = part.name, stream.codec_context.extradata
            elif stream.codec_context.extradata != self.params:
                raise SinkError(f"{part.name} was encoded with other parameters than {self.first}: "
                                "the segments cannot be joined without re-encoding")
            for packet in c.demux(stream):
                if packet.size and packet.pts is not None and _within(packet, segment, self.video[2]):
                    shift = round(self.start / packet.time_base)  # a part starts at the output's zero
                    packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
                    self.sink.write_packet(packet)

    def finish(self) -> RenderReport:
        """Close the output (the sound after the last frame goes in too) and check it."""
        if self.pictures:
            report = RenderReport(notes=sequence_notes(self.carry_from, self.video[3]))
            until = self.end - self.start - 1e-3 if self.cut else None  # the part's last frame
            report.check = avcheck.verify(self.dst, self.reference, since=self.start, until=until)
            report.frames_in = report.frames_out = report.check.frames
            return report
        assert self.sink is not None, "no segment was added"
        report = RenderReport(audio=self.sink.actions, notes=list(self.sink.dropped))
        self.sink.close(complete=not self.cut)
        report.frames_in = report.frames_out = self.sink.frames_written
        part = bool(self.start) or self.cut
        report.check = avcheck.verify(self.dst, self.reference, since=self.start,
                                      until=self.sink.last_time if self.cut else None,
                                      header_frames=0 if part else self.header_frames,
                                      decoder_delays=self.sink.decoder_delays)
        return report

    def discard(self) -> None:
        """Close and remove an unfinished output (its segments stay for ``--resume``; so do
        numbered pictures, which are those segments' own)."""
        if self.pictures:
            return
        if self.sink is not None:
            try:
                self.sink.close(complete=False)
            except SinkError:
                pass  # removed below either way
        self.dst.unlink(missing_ok=True)
