"""Frame sources: video files and streams through PyAV (as fast as decoded, or paced like a
camera), webcams and still images through OpenCV.

A damaged stream is decoded as far as possible: packets that fail to decode are skipped
and counted, so the caller can report them instead of crashing.
"""
from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import math
import os
import stat
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
import cv2
import numpy as np

from rtstyle import avcheck, exif, hdr, icc, sequences, yuv
from rtstyle.demux import SharedDemux
from rtstyle.deinterlace import deinterlaced
from rtstyle.errors import SourceError
from rtstyle.frames import VideoFrame, fit_within, picture_box, square_pixels

log = logging.getLogger(__name__)
LINUX = sys.platform.startswith("linux")


# The ISO-BMFF brands of HEIF still pictures (HEIC is Apple's) and of HEIF image sequences, which
# OpenCV does not decode: pillow-heif does (rtstyle[heic]).
HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"mif1"}
HEIF_SEQUENCE_BRANDS = {b"hevc", b"msf1"}
# Film and VFX picture formats OpenCV's wheels do not read; FFmpeg does (rtstyle.sources._read_with_ffmpeg).
FFMPEG_PICTURES = {".exr", ".dpx", ".tga"}
# Picture files, by suffix: what a folder of pictures is read for.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".bmp", ".tif", ".tiff", ".heic", ".heif"} | FFMPEG_PICTURES
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".flv", ".wmv",
                  ".ogv", ".3gp"}
PNG_CODECS = {"png", "apng"}  # decoders that name a picture's colour profile (rtstyle.sources._display_matrix)
# Seconds of a URL's sound and subtitles kept from before a part's start (the packet that spans it, a cue
# on screen then): the rest is read and dropped (rtstyle.demux).
KEPT_BEFORE_PART = 60.0
HEIF_MISSING = "HEIC/HEIF (an iPhone's photo format) needs pillow-heif: pip install 'rtstyle[heic]'"


def read_image(path: str | Path, alpha: bool = False, straight: bool = False) -> np.ndarray:
    """Still image file -> RGB uint8, turned upright as its EXIF says, in sRGB (a Display P3 or
    Adobe RGB photo's colours converted as its ICC profile, or a camera's EXIF, says:
    rtstyle.icc); with ``alpha``, RGBA when the file has transparency (a logo, an overlay), with
    ``straight`` too in colours not premultiplied by it (rtstyle.yuv.to_rgb: an OpenEXR's), for
    an output that keeps it."""
    picture = _read_picture(Path(path), alpha, straight)
    convert = icc.converter(path)
    if convert is None:
        return picture
    rgb = convert(picture[..., :3])
    return rgb if picture.shape[2] == 3 else np.dstack([rgb, picture[..., 3]])


def _read_picture(p: Path, alpha: bool, straight: bool) -> np.ndarray:
    """The picture's levels as stored (read_image)."""
    if p.is_dir():
        raise SourceError(f"input is a folder: {p} (give an image file)")
    if not p.is_file():
        raise not_found(p)
    data = np.fromfile(p, dtype=np.uint8)  # np.fromfile + imdecode also handles non-ASCII paths
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        if bytes(data[4:8]) == b"ftyp" and bytes(data[8:12]) in HEIF_BRANDS | HEIF_SEQUENCE_BRANDS:
            return _read_heif(p, alpha)
        if p.suffix.lower() in FFMPEG_PICTURES:
            return _read_with_ffmpeg(p, alpha, straight)
        raise SourceError(f"cannot read image {p.name}: not an image OpenCV can decode")
    rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if alpha:
        whole = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)  # with the alpha, but not turned as the EXIF says
        if whole is not None and whole.ndim == 3 and whole.shape[2] == 4:
            if bytes(data[:4]) in exif.TIFF_MAGIC:  # OpenCV (libtiff's RGBA reader) premultiplies a TIFF's colours
                return _read_with_ffmpeg(p, alpha, straight)
            eight = (whole >> (8 * whole.dtype.itemsize - 8)).astype(np.uint8)
            for turned in _turns(eight):  # the turn that makes its colours the upright picture's
                if turned.shape[:2] == img.shape[:2] and np.array_equal(turned[..., :3], img):
                    return np.dstack([rgb, turned[..., 3]])
    return rgb


def _read_with_ffmpeg(path: Path, alpha: bool, straight: bool) -> np.ndarray:
    """A picture of a format OpenCV's wheel does not read (OpenEXR, DPX, Targa), or a TIFF's
    transparency, -> RGB (RGBA with ``alpha`` if it has one) through FFmpeg, in the colours a
    viewer shows (rtstyle.yuv.to_rgb: an EXR's linear light through the sRGB curve), upright."""
    try:
        with av.open(str(path), "r", format="image2") as container:
            frame = next(container.decode(video=0))
    except (av.error.FFmpegError, StopIteration) as e:
        raise SourceError(f"cannot read image {path.name}: {getattr(e, 'strerror', None) or 'damaged'}") from None
    rgb = yuv.to_rgb(frame, straight=alpha and straight)
    transparency = yuv.alpha(frame) if alpha else None
    return orientation(frame, path).apply(rgb if transparency is None else np.dstack([rgb, transparency]))


def _read_heif(path: Path, alpha: bool) -> np.ndarray:
    """A HEIC/HEIF photo -> RGB (RGBA with ``alpha`` if it has one), turned as it says (libheif
    applies the rotation and mirroring the file stores), 10-bit ones in 8 bits."""
    try:
        import pillow_heif
    except ImportError:
        raise SourceError(f"cannot read image {path.name}: {HEIF_MISSING} (or convert it to JPEG)") from None
    try:
        picture = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
        pixels = np.asarray(picture)
    except (ValueError, RuntimeError, OSError) as e:  # libheif's errors
        raise SourceError(f"cannot read image {path.name}: {e}") from None
    return np.ascontiguousarray(pixels if alpha or pixels.shape[2] == 3 else pixels[..., :3])


def _turns(image: np.ndarray) -> Iterator[np.ndarray]:
    """The 8 ways an EXIF orientation can turn and mirror a picture, none first."""
    for flipped in (image, image[:, ::-1]):
        for k in range(4):
            yield np.rot90(flipped, k)


REORDER_WINDOW = 8  # frames read ahead to see whether timestamps run in presentation order
STREAM_TIMEOUT = 10.0  # seconds a network stream may send nothing before it counts as stalled
# Frame rates a variable-rate video's times may fall on, tried from the lowest (VideoFileSource.grid_rate).
COMMON_RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(30), Fraction(50),
                Fraction(60000, 1001), Fraction(60), Fraction(100), Fraction(120)]


def is_url(path: str | Path) -> bool:
    return "://" in str(path)


def special_file(path: str | Path) -> str | None:
    """What ``path`` is when it is there but is neither a file nor a folder ("a named pipe"):
    rtstyle reads an input more than once and reads back what it wrote, which a pipe
    (``<(command)`` too) or a device cannot give; without this, a pipe read as "not found"
    and an output pipe hung the check after the render."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None


def not_found(path: str | Path) -> SourceError:
    """The error for an input that is not a file or a folder: not there, or a pipe or device."""
    kind = special_file(path)
    if kind:
        return SourceError(f"input is {kind}, not a file: {path} (rtstyle reads its input more than once: "
                           "save it to a file first)")
    return SourceError(f"input not found: {path}")


def url_scheme(url: str) -> str:
    """``rtmp`` of ``RTMP://host/app``: the part before ``://``, lower case as FFmpeg compares it."""
    return url.split("://", 1)[0].lower()


def stream_timeout(path: str | Path, seconds: float = STREAM_TIMEOUT) -> float | None:
    """The ``timeout`` for ``av.open``: ``seconds`` for a URL (to open, and again for each
    read), None for a file, which cannot stall and must not pay for the check."""
    return seconds if is_url(path) else None


class Closing:
    """``with Source(...) as src:`` closes the source however the block ends."""

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()  # type: ignore[attr-defined]


_S = TypeVar("_S", bound=Closing)


@dataclass(frozen=True)
class Orientation:
    """How a stored frame is turned and flipped to look as players show it: the file's display
    matrix (a phone's rotation; QuickTime's Flip Horizontal and Vertical), read as FFmpeg's
    command line reads it. ``rotate`` (an OpenCV rotation) comes first, then ``flip`` (OpenCV's
    flip code: 1 left to right, 0 upside down, -1 both)."""

    rotate: int | None = None
    flip: int | None = None
    note: str = ""

    @property
    def sideways(self) -> bool:
        return self.rotate in (cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE)

    def apply(self, image: np.ndarray) -> np.ndarray:
        if self.rotate is not None:
            image = cv2.rotate(image, self.rotate)
        return image if self.flip is None else cv2.flip(image, self.flip)


def _display_matrix(frame: av.VideoFrame, picture: Path | None, codec: str) -> np.ndarray | None:
    """The frame's display matrix (nine 32-bit numbers, libavutil/display.h), None without one.
    A picture's is the one FFmpeg makes of its EXIF orientation, read from the ``picture`` file
    itself: PyAV 18 has no name for FFmpeg 8's EXIF side data beside it (and then reads none), and
    frees the name FFmpeg gives a PNG's colour profile a second time after FFmpeg did (a crash when
    the frame goes): a PNG frame's side data is never looked at, only its rotation."""
    if picture is None and codec not in PNG_CODECS:
        try:
            found = frame.side_data.get(av.sidedata.sidedata.Type.DISPLAYMATRIX)
            return None if found is None else np.frombuffer(bytes(found), "<i4")
        except ValueError:  # EXIF side data (a Motion JPEG's frames may carry it): the rotation, as below
            pass
    said = exif.orientation(picture) if picture else None
    if said is not None:
        return exif.display_matrix(*exif.TURNS[said])
    return exif.display_matrix(-frame.rotation) if frame.rotation else None


def orientation(frame: av.VideoFrame, picture: Path | None = None, codec: str = "") -> Orientation:
    """The frame's :class:`Orientation` from its display matrix (none: as stored); ``picture``:
    the file it was decoded from, for a sequence; ``codec``: its decoder's name. FFmpeg's
    ``frame.rotation`` alone reads a left-to-right mirror as 180 degrees, and an upside-down flip
    as nothing."""
    matrix = _display_matrix(frame, picture, codec)
    if matrix is None or len(matrix) != 9:
        return Orientation()
    scale = math.hypot(matrix[0], matrix[3]), math.hypot(matrix[1], matrix[4])
    if not all(scale):
        return Orientation()
    # As fftools' get_rotation and autorotate: the angle players turn the picture clockwise, then the flips.
    theta = round(math.degrees(math.atan2(matrix[1] / scale[1], matrix[0] / scale[0]))) % 360
    cw, ccw, mirrored, upside_down = cv2.ROTATE_90_CLOCKWISE, cv2.ROTATE_90_COUNTERCLOCKWISE, 1, 0
    said = "as the file says players show it"
    if theta == 90:  # transpose=clock, or cclock_flip
        return Orientation(ccw, upside_down, f"turned a quarter and mirrored, {said}") if matrix[3] > 0 else \
            Orientation(cw, None, "rotated 270° to upright")
    if theta == 270:  # transpose=cclock, or clock_flip
        return Orientation(cw, upside_down, f"turned a quarter and mirrored, {said}") if matrix[3] < 0 else \
            Orientation(ccw, None, "rotated 90° to upright")
    h, v = (matrix[0] < 0, matrix[4] < 0) if theta == 180 else (False, theta == 0 and matrix[4] < 0)
    if h and v:
        return Orientation(cv2.ROTATE_180, None, "rotated 180° to upright")
    if h:
        return Orientation(None, mirrored, f"mirrored left to right, {said}")
    return Orientation(None, upside_down, f"flipped upside down, {said}") if v else Orientation()


class VideoFileSource(Closing):
    """Decode the first video stream of a file (or URL) into upright RGB frames with their timestamps.

    The first frame is decoded when the source opens: its size and rotation are the
    output's, and an input with no decodable frame fails here, before any output exists.
    ``notes`` says what was changed on the way (rotation, alpha, bit depth, size changes).
    ``thread_type`` is FFmpeg's decoder threading ("AUTO", or "SLICE" for low latency).
    A URL that sends nothing for ``timeout`` seconds, when opened or later, is a
    SourceError instead of a hang. ``reference`` keeps the input's own account of its
    streams for the A/V check (``self.reference``; None without); a live player needs none.
    ``start`` and ``duration`` (seconds) read that part of the video only (:meth:`frames`);
    ``max_size`` (width, height) shrinks the frames to fit in it (rtstyle.frames.fit_within).
    A folder of numbered pictures or their printf pattern is read as a video at ``rate``
    (rtstyle.sequences); ``rate`` is refused for anything else. With ``alpha``, frames that
    have transparency carry it (``VideoFrame.alpha``), for an output that keeps it.
    """

    def __init__(self, path: str | Path, timeout: float = STREAM_TIMEOUT, thread_type: str = "AUTO",
                 reference: bool = True, start: float = 0.0, duration: float | None = None,
                 max_size: tuple[int, int] | None = None, rate: Fraction | float | str | None = None,
                 alpha: bool = False):
        self.path, self.timeout, self.keep_alpha = str(path), timeout, alpha
        self.start, self.duration, self.max_size = start, duration, max_size
        is_file = not is_url(path)
        self.sequence = sequences.find(path, rate) if sequences.is_sequence(path) else None
        if rate is not None and self.sequence is None:
            raise SourceError(f"{path} is not an image sequence: a video keeps its own frame rate")
        self.name = name = self.sequence.name if self.sequence else Path(self.path).name if is_file else self.path
        if is_file and not self.sequence:
            if Path(self.path).is_dir():
                raise SourceError(f"input is a folder: {self.path} (give a video file)")
            if not Path(self.path).is_file():
                raise not_found(self.path)
            if Path(self.path).stat().st_size == 0:
                raise SourceError(f"{name} is empty (0 bytes)")
        try:
            self.container = self.open_container()
        except av.error.ExitError:  # the timeout's interrupt
            raise SourceError(f"{name}: nothing received for {timeout:g} s while opening "
                              "(the server does not answer or sends nothing)") from None
        except av.error.InvalidDataError:
            raise SourceError(f"cannot open {name}: {_unreadable_reason(self.path)}") from None
        except av.error.FFmpegError as e:
            raise SourceError(f"cannot open {name} as a video: {e.strerror or e}") from None
        except UnicodeDecodeError:  # FFmpeg's message quotes a damaged header, which is not text
            raise SourceError(f"cannot open {name} as a video: its header is damaged") from None
        with contextlib.ExitStack() as opened:  # the container is closed again if its video cannot be read
            opened.callback(self.container.close)
            self._open_video(name, thread_type, reference)
            opened.pop_all()

    def open_container(self) -> av.container.InputContainer:
        """The input opened anew (as when this source opened it): a second reader of its packets."""
        if self.sequence:
            return self.sequence.open()
        return av.open(self.path, "r", timeout=stream_timeout(self.path, self.timeout))

    def _open_video(self, name: str, thread_type: str, reference: bool) -> None:
        brand = self.container.metadata.get("major_brand", "").encode()
        if not self.sequence and (self.container.format.name == "image2" or self.container.format.name.endswith("_pipe")
                                  or brand in HEIF_BRANDS):
            # FFmpeg reads a photo (a HEIC too) as a video of one frame: 40 ms of it would be no one's wish.
            raise SourceError(f"{name} is a still picture, not a video: paint it with `rtstyle image {name} OUT.png`")
        stream = avcheck.main_video(self.container)
        if stream is None:
            cover = " (only a cover picture)" if self.container.streams.video else ""
            raise SourceError(f"{name} has no video stream{cover}")
        self.stream = stream
        if self.stream.codec_context is None:  # a codec FFmpeg has no decoder for (or a damaged codec tag)
            raise SourceError(f"{name}: no decoder for its video stream's codec")
        self.stream.thread_type = self.thread_type = thread_type
        self.decoder = decoder_for(self.stream)
        self.time_base: Fraction = self.stream.time_base or Fraction(1, 90000)
        self.fps: Fraction = frame_rate(self.stream)
        # Common origin for all streams so audio stays aligned when video does not start at 0.
        self.start_time = (self.container.start_time or 0) / av.time_base
        self.skipped_packets = 0  # packets the decoder rejected
        # Times (seconds) of the packets read before the decoder's first frame and shown before it, that
        # gave none: a stream joined between two keyframes (every live one), a recording cut there.
        self.lost_at_start: list[float] = []
        # An image sequence's pictures (by timestamp: number - first) read and decoded, to name those lost.
        self.pictures_read: set[int] = set()
        self.pictures_decoded: set[int] = set()
        # Frames the decoder marked as damaged (errors concealed): its own flag on each frame, so the
        # count is this source's alone, with no global log handler that every open decoder shares.
        self.damaged_packets = 0
        self.resized_frames = 0   # frames whose size differed from the first one's
        self.packets_read = 0     # video packets with data given to the decoder
        self.frames_decoded = 0   # frames it gave back
        self.header_frames = self.stream.frames  # what the container declares (0: unknown)
        seconds = float(self.container.duration or 0) / av.time_base
        if self.start and seconds and self.start >= seconds:
            raise SourceError(f"{name} lasts {seconds:.2f} s: there is nothing from {self.start:g} s on")
        self.frame_count_hint = self.header_frames or int(seconds * self.fps)
        if self.start or self.duration is not None:
            left = max(0.0, seconds - self.start) if seconds else float("inf")
            span = min(left, self.duration if self.duration is not None else left)
            self.frame_count_hint = round(span * self.fps) if span != float("inf") else 0
        self.reference = self._reference() if reference else None
        # A URL is read once, its sound and subtitles beside the video (rtstyle.demux): the outputs carry
        # them from here. The sound before a part is read, not kept: only from KEPT_BEFORE_PART seconds before it.
        self.shared = None if not is_url(self.path) else \
            SharedDemux(self.container, self.stream, self.reference.add if self._recorded else None,
                        keep_from=self.start_time + self.start - KEPT_BEFORE_PART)
        self._decoded = self._decode()
        self._first: av.VideoFrame | None = next(self._decoded)  # no frame at all: SourceError
        self.interlaced = bool(self._first.interlaced_frame)
        if self.interlaced:  # camcorder, broadcast, DVD: made progressive before painting
            self._decoded = deinterlaced(itertools.chain([self._first], self._decoded), self.time_base)
            self._first = next(self._decoded)
        # When the render's first frame shows (seconds from the container's start; a part's: 0), as its
        # file says unless the muxer moved every stream (rtstyle.resume reads a stopped render's file from it).
        lead = round(self.reference.pts_lead / self.time_base) if self.reference else 0
        self.first_time = float((self._first.pts - lead) * self.time_base - self.start_time) \
            if self._first.pts is not None else 0.0
        first_picture = self.sequence.picture(self.sequence.first) if self.sequence else None
        self.orientation = orientation(self._first, first_picture, self.stream.codec_context.name)
        # Pictures in Display P3 or Adobe RGB: their colours converted to sRGB, as read_image converts a picture's.
        self.colours = icc.converter(first_picture) if first_picture else None
        stored = (self._first.width, self._first.height)
        # Stored pixels may not be square (a DVD's, HDV's): frames are stretched to look as players
        # show them, so that every output (a GIF, a window, a picture) and the strokes keep the shape.
        self.pixel_aspect = self.stream.sample_aspect_ratio or self.stream.codec_context.sample_aspect_ratio
        shown = square_pixels(stored, self.pixel_aspect)
        if self.orientation.sideways:
            stored, shown = stored[::-1], shown[::-1]
        self.decoded_size, self.shown_size = stored, shown  # upright
        self.width, self.height = fit_within(shown, self.max_size)
        # Transparency where some pixel is not opaque (an animated GIF decodes with alpha where none is).
        first_alpha = yuv.alpha(self._first)
        self.has_alpha = first_alpha is not None and (first_alpha.min() < 255 or self._transparent_later())
        self.notes = self._notes(self._first)
        if self.trimmed:
            self._open_part()

    def _transparent_later(self) -> bool:
        """Whether the middle or the end has transparency where the first frame has none (a render
        whose first frame an object covers, an overlay that wipes in): a sequence's pictures read
        as stills, a file's frames decoded there by a second reader; a stream is judged by its
        first frame (it cannot be read twice)."""
        if self.sequence:
            files = self.sequence.files()
            for path in dict.fromkeys([files[len(files) // 2], files[-1]]):
                with contextlib.suppress(SourceError):  # a damaged picture is named when the render reaches it
                    picture = read_image(path, alpha=True)
                    if picture.shape[2] == 4 and picture[..., 3].min() < 255:
                        return True
            return False
        seconds = float(self.container.duration or 0) / av.time_base
        end = min(seconds, self.start + self.duration) if self.duration is not None else seconds
        if is_url(self.path) or end <= self.start:
            return False
        middle_and_end = [(self.start + end) / 2, end]
        return any(alpha is not None and alpha.min() < 255 for alpha in self._alphas_at(middle_and_end))

    def _alphas_at(self, times: list[float]) -> Iterator[np.ndarray | None]:
        """The alpha of the last frame before each time (seconds from the start; the first after
        where none is), decoded from the keyframe before it by a second reader of the file; none
        once the file cannot be sought or decoded there."""
        with contextlib.closing(self.open_container()) as container, contextlib.suppress(av.error.FFmpegError):
            stream = container.streams[self.stream.index]
            decoder = decoder_for(stream)
            for at in times:
                container.seek(round((self.start_time + at) / self.time_base), stream=stream)
                chosen = None
                for frame in (f for packet in container.demux(stream) for f in decoder.decode(packet)):
                    if chosen is not None and frame.time is not None and frame.time - self.start_time >= at:
                        break
                    chosen = frame
                yield None if chosen is None else yuv.alpha(chosen)

    def _notes(self, frame: av.VideoFrame) -> list[str]:
        """What the conversion to upright 8-bit RGB changes, for the user to know."""
        notes = [self.orientation.note] if self.orientation.note else []
        if self.sequence:
            unrated = " (pictures carry no frame rate: FFmpeg's default)" if self.sequence.rate == sequences.DEFAULT_RATE \
                else ""
            notes.append(self.sequence.describe() + unrated)
        if self.interlaced:
            notes.append("interlaced video deinterlaced (FFmpeg's bwdif, one frame per frame)")
        if self.shown_size != self.decoded_size:
            notes.append("its pixels are not square ({}:{}): frames stretched from {}x{} to {}x{}, as players "
                         "show them".format(self.pixel_aspect.numerator, self.pixel_aspect.denominator,
                                            *self.decoded_size, *self.shown_size))
        if (self.width, self.height) != self.shown_size:
            notes.append("frames shrunk from {}x{} to {}x{} (the size limit given)".format(
                *self.shown_size, self.width, self.height))
        components = frame.format.components
        if self.has_alpha and not self.keep_alpha:
            notes.append("alpha channel dropped (kept only in a .webm (VP9), with --codec prores (ProRes 4444) and "
                         "in numbered .png, .webp, .tif or .exr pictures)")
        transfer = hdr.TRANSFERS.get(frame.color_trc)
        if transfer:
            notes.append(f"{max(c.bits for c in components)}-bit {transfer} HDR video tone-mapped to 8-bit SDR "
                         "(BT.2408: HDR reference white to SDR white, BT.709 colours)")
        elif yuv.is_linear_light(frame):
            notes.append("linear-light pictures (OpenEXR) shown through the sRGB curve, as image viewers show them "
                         "(values above white clipped)")
        elif max(c.bits for c in components) > 8:
            notes.append(f"{max(c.bits for c in components)}-bit {'pictures' if self.sequence else 'video'} "
                         "converted to 8-bit")
        if hdr.is_wide_sdr(frame):
            notes.append(f"{hdr.NAMES[frame.color_primaries]} colours converted to BT.709's, as players show them "
                         "(colours outside BT.709 clipped)")
        return notes

    def _reference(self) -> avcheck.Probe:
        """The input's own account of its streams, for the A/V check: a file is probed now,
        before the render (it may be gone afterwards); a stream is recorded while it is read,
        never opened a second time."""
        if not is_url(self.path):
            try:
                return avcheck.probe(self.open_container())
            except (av.error.FFmpegError, OSError):
                pass  # the source opened it a moment ago: reading it as it goes is next best
        self._recorded = True
        recorded = avcheck.Probe()
        recorded.add_streams(self.container)
        return recorded

    _recorded = False  # the reference is filled in as packets are read

    def picture_box(self, samples: int = 8) -> tuple[int, int, int, int] | None:
        """Where the picture is inside black bars (rtstyle.frames.picture_box), judged on frames
        spread over the whole file (the keyframes before ``samples`` evenly spaced times): bars
        are black all along, a dark scene is not. None for a URL, or without bars; a note says
        what was found."""
        seconds = float(self.container.duration or 0) / av.time_base
        if is_url(self.path) or not seconds:
            return None
        frames = []
        # Keyframes only, each as soon as decoded (no frame threads holding it back): with OpenCV's
        # reductions in frames.picture_box, 0.8 s at the start of a 4K HEVC clip instead of 2.7
        # (docs/picture_box.txt).
        with VideoFileSource(self.path, self.timeout, reference=False, max_size=self.max_size,
                             rate=self.sequence and self.sequence.rate, thread_type="SLICE") as probe:
            probe.decoder.skip_frame = "NONKEY"
            for k in range(samples):
                try:
                    probe._seek_to(round((probe.start_time + seconds * (k + 0.5) / samples) / probe.time_base))
                except av.error.FFmpegError:
                    break
                frame = next(probe._timed_frames(), None)
                if frame is not None:
                    frames.append(frame.image)
        box = picture_box(frames)
        if box is not None:
            left, top, right, bottom = box
            self.notes.append(f"black bars around the picture: only the {right - left}x{bottom - top} picture "
                              "inside them is painted, the bars stay black")
        return box

    def grid_rate(self, times: list[float] | None = None) -> Fraction:
        """The lowest rate on whose ticks every frame time falls (within a tenth of a tick), for a
        container that counts frames at a constant rate (AVI: a gap is an empty chunk). ``times``:
        the frames' (default: this source's own account of them).

        The average rate for constant-rate video. For variable-rate video, the first of FFmpeg's
        guessed rate and the common rates above the average that fits; if none does (or the times
        are not known yet: a stream), the guess, at most 120 fps, as FFmpeg's own command line
        would count.
        """
        times = (self.reference.video_times if self.reference else []) if times is None else times
        guessed = Fraction(self.stream.guessed_rate or self.fps)
        fallback = max(self.fps, min(guessed, COMMON_RATES[-1]))
        if len(times) < 2:
            return fallback
        offsets = np.array(times, np.float64) - min(times)
        for rate in sorted({self.fps, guessed, *COMMON_RATES}):
            ticks = offsets * float(rate)
            if rate >= self.fps and np.abs(ticks - np.round(ticks)).max() < 0.1:
                return rate
        return fallback

    @property
    def lost_frames(self) -> int:
        """Frames of packets read that the decoder did not give back (damage), once read to the end."""
        return max(self.skipped_packets, self.packets_read - self.frames_decoded)

    @property
    def has_audio(self) -> bool:
        return bool(self.container.streams.audio)

    def _decode(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; undecodable packets are skipped and counted."""
        count = self.frames_decoded
        waiting: list[int] | None = []  # the times of the packets read before the first frame
        try:
            for packet in self.shared.video_packets() if self.shared else self._file_packets():
                self.packets_read += packet.size > 0 and not packet.is_discard  # (an edit list's: no frame)
                if waiting is not None and packet.size and packet.pts is not None and not packet.is_discard:
                    waiting.append(packet.pts)
                if self.sequence and packet.size:
                    self.pictures_read.add(packet.pts)
                try:
                    decoded = self.decoder.decode(packet)
                except av.error.FFmpegError as e:
                    self.skipped_packets += 1
                    log.debug("skipped packet at %s: %s", packet.pts, e)
                    continue
                for frame in decoded:
                    if waiting is not None and frame.pts is not None:
                        self.lost_at_start = [float(pts * self.time_base) - self.start_time
                                              for pts in waiting if pts < frame.pts]
                        waiting = None
                    if self.sequence:
                        self.pictures_decoded.add(frame.pts)
                    self.damaged_packets += frame.is_corrupt
                    count += 1
                    self.frames_decoded = count
                    yield frame
        except av.error.ExitError:  # the timeout's interrupt: a stream that stopped sending
            raise SourceError(f"{self.name}: the stream stalled after {count} frames "
                              f"(nothing received for {self.timeout:g} s)") from None
        except av.error.FFmpegError as e:
            # The demuxer itself gave up (truncated file): keep what was decoded.
            self.skipped_packets += 1
            log.warning("stopped reading %s: %s", self.path, e)
            if count == 0 and isinstance(e, OSError) and e.errno == errno.EIO and is_url(self.path) and \
                    self.container.format.name.startswith("mov"):
                raise SourceError(f"{self.name}: the server stopped sending before the first frame (an MP4 or MOV "
                                  "whose index is at its end is read by jumping back to its start, which a server "
                                  "that serves no byte ranges, as this one may, cannot do): download the file first"
                                  ) from None
        if count == 0:
            raise SourceError(f"{self.name}: no video frame could be decoded ({self.skipped_packets} packet(s) "
                              f"rejected, {self.damaged_packets} damaged: the file is damaged or truncated)")

    def _file_packets(self) -> Iterator[av.Packet]:
        """A file's video packets; recorded for the A/V check where it could not be probed, its sound's too."""
        streams = [self.stream] + (list(self.container.streams.audio) if self._recorded else [])
        for packet in self.container.demux(streams):
            if self._recorded:
                self.reference.add(packet)
            if packet.stream.index == self.stream.index:
                yield packet

    def _upright(self, frame: av.VideoFrame) -> np.ndarray:
        rgb = self.orientation.apply(yuv.to_rgb(frame, straight=self.keep_alpha))
        if self.colours is not None:
            rgb = self.colours(rgb)
        if (rgb.shape[1], rgb.shape[0]) != self.decoded_size:  # the stream changed size: keep the first one's
            self.resized_frames += 1
        return resize_to(rgb, (self.width, self.height))

    def _alpha(self, frame: av.VideoFrame) -> np.ndarray | None:
        """The frame's transparency, turned and sized as its picture is (:meth:`_upright`); None
        for a frame without (a picture with it may come later in a sequence)."""
        alpha = yuv.alpha(frame)
        if alpha is None:
            return None
        return resize_to(self.orientation.apply(alpha), (self.width, self.height))

    @property
    def trimmed(self) -> bool:
        """Whether only part of the video is read (``start``, ``duration``)."""
        return bool(self.start) or self.duration is not None

    def frames(self) -> Iterator[VideoFrame]:
        """Upright RGB frames in presentation order with increasing timestamps; with a
        ``start`` or ``duration``, those of that part only, timed and numbered from its first
        frame (``start`` moves to that frame's time when the source opens)."""
        if self.shared:
            self.shared.seal()  # the outputs are open: they have taken the sound read so far
        if self._resumed is not None:
            yield from self._resumed_frames(*self._resumed)
            return
        if not self.trimmed:
            yield from self._timed_frames()
            return
        first, self._part_first = self._part_first, None
        for index, frame in enumerate(itertools.chain([first] if first else [], self._part)):
            frame.index, frame.pts, frame.time = index, frame.pts - self._part_ticks, frame.time - self.start
            yield frame

    _resumed: tuple[float, float, int] | None = None
    frames_kept = 0  # frames of a stopped render's file that its resumption keeps (:meth:`resume_at`)
    _part_ticks = 0
    part_end: float | None = None  # seconds on the whole video's clock: where ``duration`` ends the part

    def resume_at(self, warmup: float, until: float, kept: int) -> None:
        """Read on where a stopped render's file ends (rtstyle.resume): the frames from ``warmup``
        seconds into the render (its zero: ``start``) on, those before ``until`` (already in the
        file: painted again for the smoother's history) numbered -1, the others from ``kept``."""
        self._resumed = (warmup, until, kept)
        self.frames_kept = kept

    def _resumed_frames(self, warmup: float, until: float, kept: int) -> Iterator[VideoFrame]:
        half_tick = float(self.time_base) / 2
        index = kept
        for frame in self._between(self.start + warmup, self.part_end):
            frame.pts, frame.time = frame.pts - self._part_ticks, frame.time - self.start
            if frame.time < until - half_tick:
                frame.index = -1
            else:
                frame.index, index = index, index + 1
            yield frame

    def _open_part(self) -> None:
        """Find the part's first frame (the first at or after ``start``): its time becomes ``start``."""
        self.part_end = self.start + self.duration if self.duration is not None else None
        self._part = self._between(self.start, self.part_end)
        self._part_first = next(self._part, None)
        if self._part_first is None:
            until = f" and before {self.part_end:g} s" if self.part_end is not None else ""
            raise SourceError(f"{self.name}: no video frame at or after {self.start:g} s{until}")
        self._part_ticks, self.start = self._part_first.pts, self._part_first.time
        self.first_time = 0.0

    def _between(self, start: float, end: float | None) -> Iterator[VideoFrame]:
        """The frames from ``start`` seconds to ``end`` (None: the video's end), on the whole video's
        clock. The read starts at the keyframe before ``start`` (a seek); one that lands after it, or
        where no frame decodes (an inaccurate index; MPEG-TS seeks by bytes), reads from the beginning."""
        half_tick = float(self.time_base) / 2
        # A seek whose first frame is still to be seen; a URL is read from its start (a server
        # need not take ranges, and a live stream cannot seek).
        sought = bool(start) and not is_url(self.path) and self._seek(start)
        while True:
            for frame in self._timed_frames():
                if sought and frame.time > start + float(1 / self.fps):
                    break
                sought = False
                if frame.time < start - half_tick:
                    continue
                if end is not None and frame.time >= end - half_tick:
                    return
                yield frame
            if not sought:
                return
            sought = False
            self._rewind()

    def _seek(self, seconds: float) -> bool:
        """Move the read to the keyframe at or before ``seconds`` from the start; False where
        the file cannot seek, which is then read on from where it is."""
        try:
            self._seek_to(round((self.start_time + seconds) / self.time_base))
        except av.error.FFmpegError:
            return False
        return True

    def _seek_to(self, timestamp: int) -> None:
        """Move the read to the keyframe at or before a stream ``timestamp`` (rtstyle.segments too)."""
        self.container.seek(timestamp, stream=self.stream, backward=True, any_frame=False)
        self.decoder.flush_buffers()
        self._read_on()

    def _rewind(self) -> None:
        """Read again from the very beginning: the file opened anew (a seek relies on the index,
        and on a server that takes ranges); what the failed read counted is forgotten."""
        self.container.close()
        self.container = self.open_container()
        self.stream = avcheck.main_video(self.container)
        self.stream.thread_type = self.thread_type
        self.decoder = decoder_for(self.stream)
        self.skipped_packets = self.damaged_packets = self.frames_decoded = 0
        self.lost_at_start = []
        self.pictures_read, self.pictures_decoded = set(), set()
        if self._recorded:
            self.reference = avcheck.Probe()
            self.reference.add_streams(self.container)
        self._read_on()

    def _read_on(self) -> None:
        """Decode from where the container now reads (the last read may have run to the end)."""
        self._first = None  # decoded when the file was opened
        self.packets_read = self.frames_decoded  # the packets in the decoder were dropped, not lost
        self._decoded = deinterlaced(self._decode(), self.time_base) if self.interlaced else self._decode()

    def _timed_frames(self) -> Iterator[VideoFrame]:
        """Yield upright RGB frames in presentation order with increasing timestamps.

        Some muxers store each frame's decode time as its presentation time: with B-frames
        the timestamps of frames in presentation order then go back and forth. When the
        first ``REORDER_WINDOW`` frames show that, every frame is timed at the stream's rate;
        a timestamp that goes back later on (a broken file) is moved one frame past the
        previous one. ``backward_timestamps`` counts both, for a note.
        """
        index = 0
        last_pts: int | None = None
        step = max(1, round(1 / (self.fps * self.time_base)))
        start = round(self.start_time / self.time_base)
        first, self._first = self._first, None
        decoded = itertools.chain([first] if first is not None else [], self._decoded)
        window = list(itertools.islice(decoded, REORDER_WINDOW))
        # An AVI frame shows at its chunk's time; FFmpeg's pts there come that much later.
        lead = round(self.reference.pts_lead / self.time_base) if self.reference else 0
        known = [f.pts - lead for f in window if f.pts is not None]
        self.backward_timestamps = sum(b <= a for a, b in zip(known, known[1:]))
        self.retimed = self.backward_timestamps > 0
        origin = known[0] if known else start
        for frame in itertools.chain(window, decoded):
            if self.retimed:
                pts = origin + index * step
            else:
                pts = frame.pts - lead if frame.pts is not None else (last_pts + step if last_pts is not None else start)
                if last_pts is not None and pts <= last_pts:
                    self.backward_timestamps += 1
                    pts = last_pts + step
            last_pts = pts
            yield VideoFrame(image=self._upright(frame), index=index, pts=pts - start,
                             time=float((pts - start) * self.time_base), captured_at=time.monotonic(),
                             alpha=self._alpha(frame) if self.keep_alpha else None)
            index += 1

    backward_timestamps = 0  # frames whose timestamp was not after the previous one's
    retimed = False          # every frame timed at the stream's rate

    @property
    def timing_note(self) -> str | None:
        """One line for the user when the input's timestamps could not be kept (an AVI has none
        to keep: its frames show at the stream's rate, FFmpeg's guesses for B-frames run back and forth)."""
        if not self.backward_timestamps or self.retimed and self.container.format.name == "avi":
            return None
        how = (f"every frame timed at the stream's rate ({float(self.fps):g} fps)" if self.retimed
               else "those frames moved one frame after the previous one")
        return f"video timestamps go backwards {self.backward_timestamps} times in the input: {how}"

    def lost_pictures(self, until: float | None = None) -> list[str]:
        """The names of an image sequence's pictures that were read and did not decode (cut
        short, damaged), from the part's start (a resumed render's: where its new frames
        begin) to ``until`` seconds into it (the last frame rendered; None: to the end). By
        number, not by the decoder's errors: frame threads report a picture's error while
        decoding a later one, and a stopped read leaves pictures in the decoder."""
        if not self.sequence:
            return []
        half = float(self.time_base) / 2
        lost = sorted(self.pictures_read - self.pictures_decoded)
        times = [float(p * self.time_base) - self.start_time - self.start for p in lost]
        since = self._resumed[1] if self._resumed else 0.0
        return [self.sequence.picture(self.sequence.first + p).name for p, t in zip(lost, times)
                if t > since - half and (until is None or t < until + half)]

    closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._decoded.close()
        # Let the decoder's frame threads go idle (PyAV waits without the GIL) before it is freed:
        # freeing a busy one deadlocks when a worker logs through PyAV's callback, which needs the GIL.
        self.decoder.flush_buffers()
        self.container.close()


def frame_rate(stream: av.video.stream.VideoStream) -> Fraction:
    """The stream's frame rate: its average, or FFmpeg's guess where no average is stored or
    the one stored is the time base's inverse (a camcorder's .dv: 60000 fps for 25, and its
    timecode track was refused, the render lost)."""
    average, guessed = stream.average_rate, stream.guessed_rate
    if average and guessed and stream.time_base and average == 1 / stream.time_base:
        return Fraction(guessed)
    return Fraction(average or guessed or 25)


def decoder_for(stream: av.video.stream.VideoStream) -> av.CodecContext:
    """The stream's decoder; for VP9 with transparency (a WebM's ``alpha_mode``), libvpx's:
    FFmpeg's own VP9 decoder reads no alpha, and the picture would come out opaque."""
    alpha_mode = next((v for k, v in stream.metadata.items() if k.lower() == "alpha_mode"), "0")
    if stream.codec_context.name != "vp9" or alpha_mode != "1":
        return stream.codec_context
    decoder = av.CodecContext.create("libvpx-vp9", "r")
    decoder.thread_count = stream.codec_context.thread_count
    return decoder


def _unreadable_reason(path: str) -> str:
    """Why FFmpeg found no media in a file: a cut-off MP4 says so in its first bytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        head = b""
    if head[4:8] == b"ftyp":
        return "an MP4/MOV file without its index: it is truncated (an interrupted download or recording?)"
    return "not a video file, or damaged beyond reading"


def resize_to(rgb: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    """Resize to ``size`` (width, height); INTER_AREA when shrinking avoids aliasing."""
    if size is None or (rgb.shape[1], rgb.shape[0]) == size:
        return rgb
    shrink = size[0] * size[1] < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


class PacedSource(Closing):
    """A video file or stream played at its native pace, like a camera would deliver it.

    Frames are released when their timestamp comes due on the wall clock (``fps``
    overrides the file's rate), so the live pipeline can be run and tested without a
    camera; a live stream's as they arrive (``live``). ``loop`` plays the file again and
    again with increasing indices and times; ``start`` (seconds) plays it from there (each
    pass of a loop too). A stream URL's first pass plays from the connection opened here: a
    second one would be refused (a listening or UDP input: OBS sending to rtstyle) or join a
    live stream anew.
    """

    def __init__(self, path: str | Path, loop: bool = False, size: tuple[int, int] | None = None,
                 fps: float | None = None, timeout: float = STREAM_TIMEOUT, start: float = 0.0):
        self.path, self.loop, self.size, self.timeout, self.start = str(path), loop, size, timeout, start
        probe = self._open()  # fails early, clearly
        with contextlib.ExitStack() as closing:
            closing.callback(probe.close)
            self.native_fps = float(probe.fps)
            self.width, self.height = size or (probe.width, probe.height)
            box = probe.picture_box()  # black bars stay black, as in a render (at the size played)
            sx, sy = self.width / probe.width, self.height / probe.height
            self.picture = None if box is None else (round(box[0] * sx), round(box[1] * sy), round(box[2] * sx),
                                                     round(box[3] * sy))
            self.has_audio = probe.has_audio  # a recording of the run has none: the outputs say so
            # A live stream (a URL that says no duration) comes at its sender's pace: each frame is
            # released as it arrives, so what was read while the styles loaded is caught up at once
            # (the live pipeline paints the newest frame), not played late for ever.
            self.live = is_url(self.path) and not probe.container.duration
            self._opened: VideoFileSource | None = None  # a stream's connection, for the first pass
            if is_url(self.path):
                self._opened = probe
                closing.pop_all()
        self.fps = fps or self.native_fps
        self.speed = self.fps / self.native_fps
        self.passes = 0

    def describe(self) -> str:
        looped = ", looped" if self.loop else ", live" if self.live else ""
        return f"{Path(self.path).name}: {self.width}x{self.height} @ {self.fps:g} fps{looped}"

    problem: str | None = None  # a file never goes away: nothing for the HUD to report

    def frames(self, stop: threading.Event | None = None) -> Iterator[VideoFrame]:
        """Yield frames when they come due; ``captured_at`` is the moment of release. Setting
        ``stop`` ends the wait for the next frame at once."""
        stop = stop or threading.Event()
        index, offset = 0, 0.0
        start: float | None = None  # wall clock of time 0, set when the first frame is ready
        while True:
            last = None
            opened, self._opened = self._opened or self._open(), None
            with opened as source, contextlib.closing(source.frames()) as decoded:
                for frame in decoded:
                    t = offset + frame.time / self.speed
                    if start is None:
                        start = time.monotonic() - t
                    if stop.wait(0.0 if self.live else max(0.0, start + t - time.monotonic())):
                        return
                    last = frame.time / self.speed
                    yield VideoFrame(resize_to(frame.image, self.size), index, pts=None, time=t,
                                     captured_at=time.monotonic())
                    index += 1
            self.passes += 1
            if not self.loop or last is None:
                return
            offset += last + 1 / self.fps

    def _open(self) -> VideoFileSource:
        """The file or stream opened for a pass. Slice threads, not frame threads: frame threading
        holds back several frames (latency), and its workers can deadlock with PyAV's log callback
        when a live run closes the file mid-stream."""
        return VideoFileSource(self.path, self.timeout, thread_type="SLICE", reference=False, start=self.start)

    def close(self) -> None:
        """A stream's connection, if no pass has taken it; nothing else stays open between passes."""
        if self._opened is not None:
            self._opened.close()
            self._opened = None


def parse_device(device: str | int) -> str | int:
    """``"0"`` -> camera index 0; anything else (``/dev/video2``) is a device path."""
    text = str(device)
    return int(text) if text.isdigit() else text


@dataclass(frozen=True)
class Reconnect:
    """How a camera that stops delivering is retried: the waits between attempts double from
    ``first`` up to ``longest`` seconds; ``give_up`` seconds after the last frame the
    session ends. A USB camera that is unplugged and plugged back in (or a driver that
    hiccups) comes back within a few attempts."""

    first: float = 0.5
    longest: float = 5.0
    give_up: float = 30.0

    def delays(self) -> Iterator[float]:
        delay = self.first
        while True:
            yield delay
            delay = min(2 * delay, self.longest)


class CameraSource(Closing):
    """A webcam through OpenCV, by index or device path, at a requested size and rate.

    Cameras grant what they can: ``granted`` says what was really delivered. The
    driver's buffer is kept to one frame so a frame is never older than it needs to be.
    A camera that stops delivering is reopened as ``reconnect`` says; meanwhile
    ``problem`` says so (for the HUD), and if it never comes back the frames end with a
    SourceError.
    """

    def __init__(self, device: str | int = 0, size: tuple[int, int] | None = None, fps: float | None = None,
                 reconnect: Reconnect = Reconnect()):
        self.device = parse_device(device)
        self.requested = (size, fps)
        self.reconnect = reconnect
        self.problem: str | None = None
        self.picture = None  # a camera's frame is all picture
        self.capture = self._open()
        if not self.capture.isOpened():
            self.capture.release()
            raise SourceError(f"no camera at {self.device} (`rtstyle cameras` lists the cameras found)")
        ok, first = self.capture.read()
        if not ok or first is None:
            self.capture.release()
            raise SourceError(f"camera {self.device} opened but delivered no frame (in use by another program?)")
        self._first: np.ndarray | None = first
        self.height, self.width = first.shape[:2]
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or fps or 30.0

    def _open(self) -> cv2.VideoCapture:
        """Open the device and ask for the requested size and rate (check ``isOpened``)."""
        size, fps = self.requested
        # V4L2 directly on Linux: the default (GStreamer, if built in) adds buffering.
        api = cv2.CAP_V4L2 if isinstance(self.device, int) and LINUX else cv2.CAP_ANY
        level = cv2.utils.logging.getLogLevel()
        # A missing camera is reported once, by us, not by OpenCV warnings.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        try:
            capture = cv2.VideoCapture(self.device, api)
        finally:
            cv2.utils.logging.setLogLevel(level)
        if capture.isOpened():
            if size:
                # Most webcams deliver high resolutions at full rate only as MJPEG.
                capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
                capture.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
                capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
            if fps:
                capture.set(cv2.CAP_PROP_FPS, fps)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        return capture

    def describe(self) -> str:
        size, fps = self.requested
        asked = f"{size[0]}x{size[1]}" if size else "default size"
        asked += f" @ {fps:g} fps" if fps else ""
        return f"camera {self.device}: {self.width}x{self.height} @ {self.fps:g} fps granted (asked {asked})"

    def frames(self, stop: threading.Event | None = None) -> Iterator[VideoFrame]:
        """Yield frames as the camera delivers them, reconnecting when it stops; ``stop`` ends
        the stream, also in the middle of a wait between two attempts."""
        stop = stop or threading.Event()
        start, index = time.monotonic(), 0
        while not stop.is_set():
            if self._first is not None:
                bgr, self._first = self._first, None
            else:
                ok, bgr = self.capture.read()
                if not ok or bgr is None:
                    bgr = self._reconnect(stop)
                    if bgr is None:
                        return
            now = time.monotonic()
            yield VideoFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index, pts=None, time=now - start, captured_at=now)
            index += 1

    def _reconnect(self, stop: threading.Event) -> np.ndarray | None:
        """Reopen the camera until it delivers a frame (returned at the first frame's size), or
        None once ``stop`` is set; SourceError when ``give_up`` seconds pass without one."""
        lost_at = time.monotonic()
        log.warning("camera %s stopped delivering frames; reconnecting", self.device)
        delays, attempt = self.reconnect.delays(), 0
        while True:
            attempt += 1
            delay, left = next(delays), self.reconnect.give_up - (time.monotonic() - lost_at)
            if left <= 0:
                self.problem = f"camera {self.device} lost"
                raise SourceError(f"camera {self.device} lost: no frame for {self.reconnect.give_up:g} s "
                                  f"({attempt - 1} reconnection attempts)")
            self.problem = f"camera lost, retrying {attempt}..."  # ASCII: OpenCV draws the HUD
            if stop.wait(min(delay, left)):
                return None
            self.capture.release()
            self.capture = self._open()
            ok, bgr = self.capture.read() if self.capture.isOpened() else (False, None)
            if ok and bgr is not None:
                log.warning("camera %s is back after %d attempt(s)", self.device, attempt)
                self.problem = None
                return resize_to(bgr, (self.width, self.height))  # a replugged camera may grant another size

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
