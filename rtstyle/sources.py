"""Frame sources: video files and streams through PyAV (as fast as decoded, or paced like a
camera), webcams and still images through OpenCV.

A damaged stream is decoded as far as possible: packets that fail to decode are skipped
and counted, so the caller can report them instead of crashing.
"""
from __future__ import annotations

import logging
import sys
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
LINUX = sys.platform.startswith("linux")


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
        except av.error.FFmpegError as e:
            raise SourceError(f"cannot open {Path(self.path).name} as a video: {e.strerror or e}") from None
        except UnicodeDecodeError:  # FFmpeg's message quotes a damaged header, which is not text
            raise SourceError(f"cannot open {Path(self.path).name} as a video: its header is damaged") from None
        if not self.container.streams.video:
            self.container.close()
            raise SourceError(f"{Path(self.path).name} has no video stream")
        self.stream = self.container.streams.video[0]
        ctx = self.stream.codec_context
        if ctx is None:  # a codec FFmpeg has no decoder for (or a damaged codec tag)
            self.container.close()
            raise SourceError(f"{Path(self.path).name}: no decoder for its video stream's codec")
        self.stream.thread_type = "AUTO"
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
        if index == 0:
            raise SourceError(f"no frame of {Path(self.path).name} could be decoded "
                              f"({self.skipped_packets} packet(s) rejected, {self.damaged_packets} damaged)")

    def close(self) -> None:
        self.container.close()


def resize_to(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to ``size`` (width, height); INTER_AREA when shrinking avoids aliasing."""
    if size is None or (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    shrink = size[0] * size[1] < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class PacedSource:
    """A video file or stream played at its native pace, like a camera would deliver it.

    Frames are released when their timestamp comes due on the wall clock (``fps``
    overrides the file's rate), so the live pipeline can be run and tested without a
    camera. ``loop`` plays the file again and again with increasing indices and times.
    """

    def __init__(self, path: str | Path, loop: bool = False, size: tuple[int, int] | None = None,
                 fps: float | None = None):
        self.path, self.loop, self.size = str(path), loop, size
        probe = VideoFileSource(self.path)  # fails early with a clear SourceError
        self.native_fps = float(probe.fps)
        self.width, self.height = size or (probe.width, probe.height)
        probe.close()
        self.fps = fps or self.native_fps
        self.speed = self.fps / self.native_fps
        self.passes = 0

    def describe(self) -> str:
        looped = ", looped" if self.loop else ""
        return f"{Path(self.path).name}: {self.width}x{self.height} @ {self.fps:g} fps{looped}"

    def frames(self) -> Iterator[VideoFrame]:
        """Yield frames when they come due; ``captured_at`` is the moment of release."""
        index, offset = 0, 0.0
        start: float | None = None  # wall clock of time 0, set when the first frame is ready
        while True:
            source = VideoFileSource(self.path)
            # Slice threads, not frame threads: frame threading holds back several frames
            # (latency), and its workers can deadlock with PyAV's log callback when a live
            # run closes the file mid-stream.
            source.stream.thread_type = "SLICE"
            decoded = source.frames()
            last = None
            try:
                for frame in decoded:
                    t = offset + frame.time / self.speed
                    if start is None:
                        start = time.monotonic() - t
                    delay = start + t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    last = frame.time / self.speed
                    yield VideoFrame(resize_to(frame.image, self.size), index, pts=None, time=t,
                                     captured_at=time.monotonic())
                    index += 1
            finally:
                decoded.close()
                source.close()
            self.passes += 1
            if not self.loop or last is None:
                return
            offset += last + 1 / self.fps

    def close(self) -> None:
        """Nothing stays open between passes; present for the live source interface."""


def parse_device(device: str | int) -> str | int:
    """``"0"`` -> camera index 0; anything else (``/dev/video2``) is a device path."""
    text = str(device)
    return int(text) if text.isdigit() else text


class CameraSource:
    """A webcam through OpenCV, by index or device path, at a requested size and rate.

    Cameras grant what they can: ``granted`` says what was really delivered. The
    driver's buffer is kept to one frame so a frame is never older than it needs to be.
    """

    def __init__(self, device: str | int = 0, size: tuple[int, int] | None = None, fps: float | None = None):
        self.device = parse_device(device)
        self.requested = (size, fps)
        # V4L2 directly on Linux: the default (GStreamer, if built in) adds buffering.
        api = cv2.CAP_V4L2 if isinstance(self.device, int) and LINUX else cv2.CAP_ANY
        level = cv2.utils.logging.getLogLevel()
        # A missing camera is reported once, by us, not by OpenCV warnings.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            self.capture = cv2.VideoCapture(self.device, api)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(f"no camera at {self.device} (`rtstyle cameras` lists the cameras found)")
        if size:
            # Most webcams deliver high resolutions at full rate only as MJPEG.
            self.capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
            self.capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self.capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps:
            self.capture.set(cv2.CAP_PROP_FPS, fps)
        self.capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        ok, first = self.capture.read()
        if not ok or first is None:
            self.capture.release()
            raise SourceError(f"camera {self.device} opened but delivered no frame (in use by another program?)")
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or fps or 30.0

    def describe(self) -> str:
        size, fps = self.requested
        asked = f"{size[0]}x{size[1]}" if size else "default size"
        asked += f" @ {fps:g} fps" if fps else ""
        return f"camera {self.device}: {self.width}x{self.height} @ {self.fps:g} fps granted (asked {asked})"

    def frames(self) -> Iterator[VideoFrame]:
        """Yield frames as the camera delivers them; a camera that stops delivering ends the stream."""
        start, index = time.monotonic(), 0
        while True:
            if self._first is not None:
                bgr, self._first = self._first, None
            else:
                ok, bgr = self.capture.read()
                if not ok or bgr is None:
                    log.warning("camera %s stopped delivering frames", self.device)
                    return
            now = time.monotonic()
            yield VideoFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index, pts=None, time=now - start, captured_at=now)
            index += 1

    def close(self) -> None:
        self.capture.release()


def list_cameras(probe: int = 5) -> list[str]:
    """Cameras found, one line each. Linux: the V4L2 capture devices; elsewhere: indices that open."""
    if LINUX:
        found = []
        for dev in sorted(Path("/dev").glob("video*"), key=lambda p: (len(p.name), p.name)):
            name_file = Path("/sys/class/video4linux") / dev.name / "name"
            name = name_file.read_text().strip() if name_file.is_file() else "unknown device"
            found.append(f"{dev}  {name}")
        return found
    found = []
    for i in range(probe):
        capture = cv2.VideoCapture(i)
        if capture.isOpened():
            found.append(f"{i}  camera {i}")
        capture.release()
    return found
