"""Frame sources: video files and streams through PyAV, still images through OpenCV.

A damaged stream is decoded as far as possible: packets that fail to decode are skipped
and counted, so the caller can report them instead of crashing.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import cv2
import numpy as np

from rtstyle import yuv
from rtstyle.errors import SourceError
from rtstyle.frames import VideoFrame

log = logging.getLogger(__name__)


class _DecoderErrors(logging.Handler):
    """Counts FFmpeg's error messages: decoders conceal damage and only say so in the log."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


_decoder_errors = _DecoderErrors()
_libav_log = logging.getLogger("libav")
_libav_log.addHandler(_decoder_errors)
_libav_log.propagate = False  # counted and summarised, not printed line by line


def read_image(path: str | Path) -> np.ndarray:
    """Still image file -> RGB uint8."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"input not found: {p}")
    data = np.fromfile(p, dtype=np.uint8)  # np.fromfile + imdecode also handles non-ASCII paths
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise SourceError(f"cannot read image {p.name}: not an image OpenCV can decode")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class VideoFileSource:
    """Decode the first video stream of a file (or URL) into RGB frames with their timestamps."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if "://" not in self.path and not Path(self.path).is_file():
            raise SourceError(f"input not found: {self.path}")
        try:
            self.container = av.open(self.path, "r")
        except (av.error.FFmpegError, UnicodeDecodeError) as e:
            raise SourceError(f"cannot open {Path(self.path).name} as a video: {e}") from None
        if not self.container.streams.video:
            self.container.close()
            raise SourceError(f"{Path(self.path).name} has no video stream")
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        ctx = self.stream.codec_context
        self.width, self.height = ctx.width, ctx.height
        if not self.width or not self.height:
            self.container.close()
            raise SourceError(f"{Path(self.path).name}: video stream has no frame size (unreadable)")
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(25)
        self.fps: Fraction = Fraction(rate)
        # Common origin for all streams so audio stays aligned when video does not start at 0.
        self.start_time = (self.container.start_time or 0) / av.time_base
        self.skipped_packets = 0  # packets the decoder rejected
        self.damaged_packets = 0  # packets the decoder reported errors in (concealed or dropped)
        av.logging.set_level(av.logging.ERROR)
        self.frame_count_hint = self.stream.frames or int(float(self.container.duration or 0) / av.time_base * self.fps)

    @property
    def has_audio(self) -> bool:
        return bool(self.container.streams.audio)

    def frames(self) -> Iterator[VideoFrame]:
        """Yield frames in presentation order; undecodable packets are skipped and counted."""
        index = 0
        last_pts: int | None = None
        step = max(1, round(1 / (self.fps * self.time_base)))
        start = round(self.start_time / self.time_base)
        try:
            for packet in self.container.demux(self.stream):
                errors_before = _decoder_errors.count
                try:
                    decoded = packet.decode()
                except av.error.FFmpegError as e:
                    self.skipped_packets += 1
                    log.debug("skipped packet at %s: %s", packet.pts, e)
                    continue
                finally:
                    self.damaged_packets += _decoder_errors.count > errors_before
                for frame in decoded:
                    pts = frame.pts if frame.pts is not None else (last_pts + step if last_pts is not None else start)
                    if last_pts is not None and pts <= last_pts:
                        pts = last_pts + 1  # broken files repeat timestamps; keep them increasing
                    last_pts = pts
                    yield VideoFrame(image=yuv.to_rgb(frame), index=index, pts=pts - start,
                                     time=float((pts - start) * self.time_base), captured_at=time.monotonic())
                    index += 1
        except av.error.FFmpegError as e:
            # The demuxer itself gave up (truncated file): keep what was decoded.
            self.skipped_packets += 1
            log.warning("stopped reading %s: %s", self.path, e)

    def close(self) -> None:
        self.container.close()
