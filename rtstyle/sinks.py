"""Frame sinks: video file or stream URL with the source's audio (PyAV), still images (OpenCV).

The video sink encodes with the source's time base and timestamps, H.264 in every container
that takes it and VP9 in WebM (whose players take nothing else), or the codec asked for
(HEVC, ProRes, VP9: rtstyle.encoders), and
carries all of the source's audio streams over and its subtitles where the container takes
them (rtstyle.carry). A stream URL (rtstyle.stream picks its container and encoder
settings) is written the same way and never goes through pathlib.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import av
import cv2
import numpy as np
from av.bitstream import BitStreamFilterContext

from rtstyle import encoders, exif, fragments, sequences, yuv
from rtstyle.avcheck import main_video, playable_frames
from rtstyle.carry import (CHAPTER_CONTAINERS, TIMECODE_CONTAINERS, Soundtrack, StreamCarrier, carry_pictures, chapters,
                           description, is_chapter_track, is_picture, is_timecode_track, named, opening, outputs_taking,
                           sound_streams, timecode)
from rtstyle.demux import SharedDemux
from rtstyle.errors import SinkError, SourceError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import ClosesCutShortOnError
from rtstyle.sources import (HEIF_MISSING, STREAM_TIMEOUT, VIDEO_SUFFIXES, is_url, special_file, stream_timeout,
                             url_scheme)
from rtstyle.stalls import Watchdog, with_socket_timeout


def is_gif(path: str | Path) -> bool:
    """Whether an output is an animated GIF (rtstyle.gif), not a video container."""
    return Path(path).suffix.lower() == ".gif"


def encoder_for(path: str | Path, codec: str | None = None) -> tuple[str, dict[str, str]]:
    """The video encoder for an output file in ``codec`` (rtstyle.encoders; default: its
    container's own), and the options its container needs (SinkError for a container this sink
    does not write, or one that does not hold that codec)."""
    chosen, container = _codec_of(path, codec)
    return chosen.encoder, encoders.container_options(container)


def keeps_alpha(path: str | Path, codec: str | None = None) -> bool:
    """Whether a video file at ``path`` in ``codec`` (default: its container's own) keeps the
    frames' transparency: ProRes 4444, VP9 in WebM or Matroska."""
    chosen, container = _codec_of(path, codec)
    return encoders.keeps_alpha(chosen.encoder, container)


def _codec_of(path: str | Path, codec: str | None) -> tuple[encoders.Codec, str]:
    """The codec a video file at ``path`` is written in, and its container's FFmpeg name."""
    container = _open_output(str(path), None, None)  # touches no file until the first write
    try:
        return encoders.for_output(container.format.name, container.format.long_name, Path(path).name,
                                   codec), container.format.name
    finally:
        container.close()


# A URL given where a file is expected, after pathlib folded its "//" (rtmp://host -> rtmp:/host).
_FOLDED_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:/[^/]")


def check_output(path: str | Path, overwrite: bool, source: str | Path | None = None, video: bool = False,
                 pictures: bool = False, codec: str | None = None, picture: bool = False) -> Path:
    """Fail early, before any work, if the output cannot be written (or is the ``source``);
    a ``video`` output must also be a container this sink writes (that holds ``codec``, when
    one is asked for); with ``pictures``, it may be an image sequence's pattern (:func:`check_pattern`);
    a ``picture`` must be in a format :func:`write_image` writes (a trial of a tiny one)."""
    if is_url(path) or _FOLDED_URL.match(str(path)):
        url = str(path) if is_url(path) else str(path).replace(":/", "://", 1)
        raise SinkError(f"output {url} is a URL, not a file (render and live send to a URL with --stream URL)")
    p = Path(path)
    if codec and (is_gif(p) or sequences.is_pattern(p)):
        raise SinkError(f"{p.name}: --codec is for a video file (a GIF and numbered pictures have their own)")
    if sequences.is_pattern(p):
        if not pictures:
            raise SinkError(f"{p.name}: numbered pictures are written by `rtstyle render` (give a file name here)")
        if source is not None and _same_pictures(source, p):
            raise SinkError(f"output is the input's pictures: {p} (writing them would destroy the input; "
                            "choose another name)")
        check_pattern(p, overwrite)
        return p
    if p.is_dir():
        raise SinkError(f"output is a folder: {p} (give a file name)")
    kind = special_file(p) if video or picture else None  # (a JSON log may go to a pipe)
    if kind:
        to_program = "; render and live send the painting to a program with --stream URL" if video else ""
        raise SinkError(f"output is {kind}, not a file: {p} (rtstyle reads back what it writes{to_program})")
    if source is not None and p.exists() and Path(source).exists() and p.samefile(source):
        raise SinkError(f"output is the input file: {p} (writing it would destroy the input; choose another name)")
    if p.exists() and not overwrite:
        raise SinkError(f"output exists: {p} (use --overwrite to replace it)")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise SinkError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise SinkError(f"output folder is not writable: {parent}")
    if not p.exists():
        # Permissions do not tell everything (read-only mounts, /proc, root): try it.
        try:
            p.open("xb").close()
        except OSError as e:
            raise SinkError(f"cannot write {p}: {e.strerror}") from None
        p.unlink()
    if video and not is_gif(p):
        encoder_for(p, codec)
    if picture and p.suffix.lower() in VIDEO_SUFFIXES | {".gif"}:
        raise SinkError(f"{p.name} names a video: this writes a picture ({PICTURE_FORMATS}); `rtstyle render` "
                        "writes videos")
    if picture and p.suffix.lower() in (".heic", ".heif"):
        _heif(p)
    elif picture and p.suffix.lower() != ".exr":
        encode_image(p.suffix, np.zeros((8, 8, 3), np.uint8))
    return p


def check_soundtrack(audio: str | Path, output: str | Path | None) -> Soundtrack:
    """Fail before any work when ``audio`` (render --audio) cannot be the sound of ``output``: not a
    file, no sound in it, or an output that holds none (a GIF, numbered pictures)."""
    if is_url(audio):
        raise SourceError(f"--audio takes a file, not a stream URL: {audio}")
    if not Path(audio).is_file():
        raise SourceError(f"audio file not found: {audio}")
    if output is not None and (is_gif(output) or sequences.is_pattern(output)):
        raise SinkError(f"{Path(output).name} holds no sound: --audio needs a video output (.mp4, .mkv, .webm...)")
    sound_streams(str(audio))
    return Soundtrack(str(audio))


def _same_pictures(source: str | Path, pattern: Path) -> bool:
    """Whether an image sequence input is the pictures ``pattern`` names (its folder's, or its own pattern)."""
    if not sequences.is_sequence(source):
        return False
    try:
        named = sequences.find(source).pattern
    except SourceError:
        return False  # the input's own error is said when it is read
    return named.name == pattern.name and named.parent.resolve() == pattern.parent.resolve()


def check_pattern(pattern: Path, overwrite: bool) -> None:
    """An image sequence's pictures can be written where the pattern says, in a format OpenCV
    writes, and none of them is there already unless ``overwrite``."""
    if pattern.suffix.lower() not in PICTURE_SUFFIXES:
        raise SinkError(f"{pattern.name}: pictures of a sequence are written as "
                        f"{', '.join(sorted(PICTURE_SUFFIXES))}")
    if sequences.pattern_problem(pattern.name):
        raise SinkError(sequences.pattern_problem(pattern.name))
    if not pattern.parent.is_dir():
        raise SinkError(f"output folder does not exist: {pattern.parent}")
    if not os.access(pattern.parent, os.W_OK):
        raise SinkError(f"output folder is not writable: {pattern.parent}")
    there = sequences.numbers(pattern)
    if there and not overwrite:
        raise SinkError(f"{len(there)} pictures named {pattern.name} exist in {pattern.parent} "
                        "(use --overwrite to replace them)")


# An image sequence's formats: what OpenCV writes from 8-bit RGB, and OpenEXR (FFmpeg's encoder).
PICTURE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".webp", ".bmp", ".exr"}
# What a picture can be written as (write_image), for the messages.
PICTURE_FORMATS = ".png, .jpg, .webp, .avif, .heic, .exr, .bmp or .tiff"
# WebP's quality, as image editors write one (GIMP's default): OpenCV's own is lossless, 5x the size
# and 3x the time for a 12-megapixel painting (18.8 MB in 6.8 s against 4.0 MB in 2.0 s).
WEBP_QUALITY = 90
# Image formats that keep a picture's transparency.
ALPHA_SUFFIXES = {".png", ".webp", ".tif", ".tiff", ".exr", ".heic", ".heif"}


def write_image(path: str | Path, rgb: np.ndarray, metadata: bytes | None = None) -> None:
    """Write an RGB (or RGBA, for :data:`ALPHA_SUFFIXES`) picture in the format of the suffix;
    ``metadata``, an EXIF block (rtstyle.exif.kept), goes into a JPEG, PNG, WebP or HEIC."""
    p = Path(path)
    if p.suffix.lower() in (".heic", ".heif"):
        _write_heif(p, rgb, metadata)
        return
    data = encode_exr(rgb) if p.suffix.lower() == ".exr" else encode_image(p.suffix, rgb)
    if metadata:
        data = exif.embed(data, metadata)
    try:
        p.write_bytes(data)
    except OSError as e:
        p.unlink(missing_ok=True)  # a picture cut short is no picture
        raise SinkError(f"cannot write {p}: {write_failure(e)}") from None


def encode_image(suffix: str, rgb: np.ndarray) -> bytes:
    """The bytes of a picture file in the format of ``suffix`` (OpenCV's encoders); a WebP lossy
    at :data:`WEBP_QUALITY`, its alpha lossless."""
    try:
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGBA2BGRA if rgb.shape[2] == 4 else cv2.COLOR_RGB2BGR)
        webp = [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY] if suffix.lower() == ".webp" else []
        ok, data = cv2.imencode(suffix or ".png", bgr, webp)
    except cv2.error:  # no encoder for the suffix
        ok = False
    if not ok:
        raise SinkError(f"cannot encode an image as '{suffix}' (use {PICTURE_FORMATS})")
    return data.tobytes()


def encode_exr(rgb: np.ndarray) -> bytes:
    """An OpenEXR picture as compositing programs take one: the painting's sRGB turned back into
    the linear light an EXR holds (the inverse of how one is read, rtstyle.yuv.srgb), in half
    floats, ZIP-compressed; an alpha channel premultiplied into the colours, as EXR stores it."""
    linear = yuv.linear(rgb[..., :3])
    pix_fmt = "gbrpf32le"
    if rgb.shape[2] == 4:
        alpha = rgb[..., 3:].astype(np.float32) / 255
        linear, pix_fmt = np.concatenate([linear * alpha, alpha], axis=2), "gbrapf32le"
    encoder = av.CodecContext.create("exr", "w")
    encoder.width, encoder.height, encoder.pix_fmt = rgb.shape[1], rgb.shape[0], pix_fmt
    encoder.time_base = Fraction(1, 25)  # a still picture: any rate will do
    encoder.options = {"format": "half", "compression": "zip16"}
    frame = av.VideoFrame.from_ndarray(linear, format=pix_fmt)
    return b"".join(bytes(packet) for packet in [*encoder.encode(frame), *encoder.encode(None)])


def _heif(path: Path) -> ModuleType:
    """pillow-heif, an extra (rtstyle[heic]): a SinkError that says how to get it when it is missing."""
    try:
        import pillow_heif
    except ImportError:
        raise SinkError(f"cannot write {path.name}: {HEIF_MISSING} (or give a .jpg)") from None
    return pillow_heif


def _write_heif(path: Path, rgb: np.ndarray, metadata: bytes | None) -> None:
    """A HEIC picture (pillow-heif's HEVC encoder), so that a folder of iPhone photos comes
    out in their own format, with the alpha of an RGBA one (HEIF's auxiliary alpha picture, as
    iOS writes a cut-out subject)."""
    mode = "RGBA" if rgb.shape[2] == 4 else "RGB"
    try:
        _heif(path).from_bytes(mode, (rgb.shape[1], rgb.shape[0]), np.ascontiguousarray(rgb).tobytes()
                               ).save(path, quality=90, **({"exif": b"Exif\0\0" + metadata} if metadata else {}))
    except (ValueError, RuntimeError, OSError) as e:
        raise SinkError(f"cannot write {path}: {getattr(e, 'strerror', None) or e}") from None


class VideoFileSink(ClosesCutShortOnError):
    """Encode RGB frames to a video file (H.264, VP9 in WebM) or stream URL, with the audio and
    subtitles of ``carry_from``.

    Every audio stream is carried over, and every subtitle stream the container takes;
    ``dropped`` lists the source's streams that were not, with the reason. A failed write
    (disk full, file size limit, a stream that broke) raises :class:`SinkError` saying
    whether the file written so far plays; a file that does not is removed.

    ``carry_from`` is the source whose sound and subtitles go along: a file's path, or a URL's
    one reading (rtstyle.demux). ``target`` is a path or a URL (``path`` is None for a URL);
    ``format`` names the container when the target's name does not say it, ``codec`` the video encoder when it
    is not the container's own (rtstyle.encoders), ``options`` are the encoder's on top
    of the quality settings; ``start_time`` is the source's time (seconds) that becomes the
    output's zero, and ``part`` says it is later than the source's start (a render of part of
    it): the carried streams seek there and begin with the packet that spans it; ``length``:
    the part ends that many seconds later (render --duration), and a stream whose sound starts
    after it is left out;
    ``realtime`` holds each frame back until its time has come since the first one, so a
    stream plays as it is written; ``grid_rate`` is the rate an AVI counts frames in (default
    ``fps``; a variable-rate source's finer one, VideoFileSource.grid_rate); ``soundtrack`` is
    another file's sound, carried instead of the source's audio streams and cut where the video
    ends; ``alpha``: the frames' transparency is kept where the codec holds it (ProRes 4444, VP9 in WebM). A
    context manager: leaving it closes the sink (on an error, as an interrupted render: audio cut
    at the last frame).
    """

    def __init__(self, target: str | Path, width: int, height: int, time_base: Fraction, fps: Fraction,
                 carry_from: str | SharedDemux | None = None, start_time: float = 0.0, crf: int = 18,
                 preset: str = "veryfast", carry_timeout: float = STREAM_TIMEOUT,
                 video_template: av.video.stream.VideoStream | None = None,
                 format: str | None = None, options: dict[str, str] | None = None, realtime: bool = False,
                 timeout: float = STREAM_TIMEOUT, codec: str | None = None, part: bool = False,
                 grid_rate: Fraction | None = None, soundtrack: Soundtrack | None = None, alpha: bool = False,
                 length: float | None = None):
        self.path: Path | None = None if is_url(target) else Path(target)
        self.name = str(target)  # a URL as given: pathlib would fold rtmp://host into rtmp:/host
        # yuv420p needs even sides: pad by one edge pixel rather than drop picture.
        self.width, self.height = width + width % 2, height + height % 2
        self.container = _open_output(self.name, format, stream_timeout(self.name, timeout))
        self.watchdog: Watchdog | None = None  # a stream's, once connected (rtstyle.stalls)
        # ``video_template``: video packets encoded elsewhere are copied in (:meth:`write_packet`),
        # as rtstyle.segments joins the segments of a distributed render.
        self.copying = video_template is not None
        self.alpha = False  # whether the encoded frames keep their transparency (below)
        # AVI stores frames at a constant rate (a gap is an empty chunk) and no presentation
        # times: its frames are counted in ticks of the grid rate, without B-frames (copied
        # packets too: rtstyle.segments encodes an AVI's segments so).
        self.avi = self.container.format.name == "avi"
        # An MP4 or MOV file is written in fragments and made regular once complete (rtstyle.fragments).
        self.fragmented = self.path is not None and self.container.format.name in fragments.CONTAINERS
        if self.path is not None:
            self.container.container_options.update(fragments.writing_options(self.container.format.name))
        self.out_time_base = (1 / Fraction(grid_rate or fps)).limit_denominator(1001000) if self.avi else time_base
        # H.264 from MP4 carries its parameter sets apart (avcC); AVI wants them in the stream.
        self.annexb: BitStreamFilterContext | None = None
        if self.copying:
            self.stream = self.container.add_stream_from_template(video_template)
            if self.avi and video_template.codec_context.codec.canonical_name == "h264":
                self.annexb = BitStreamFilterContext("h264_mp4toannexb", video_template, self.stream)
            # The tag a one-machine render writes, where the muxer's default from the template would
            # differ: HEVC's hvc1 (QuickTime and iPhones play no hev1), ProRes's profile (ap4h, 4444
            # with alpha; not apch), AVI's H264 (the MP4 segments' avc1 is no AVI tag).
            if self.avi:
                self.stream.codec_tag = "H264"
            elif video_template.codec_context.name in ("hevc", "prores") and \
                    self.container.format.name in ("mp4", "mov", "ipod", "matroska"):
                self.stream.codec_tag = video_template.codec_tag
            # VP9's alpha travels beside the picture, and a player looks for it only where the stream says
            # so (Matroska's AlphaMode, which the muxer writes for frames with alpha, as one machine's).
            if video_template.metadata.get("alpha_mode") == "1":
                self.stream.codec_context.pix_fmt = "yuva420p"
            # The rate the stream says (a template says none, and MOV's timecode track was timed by
            # its time base: 60000 fps for a .dv's segments, refused when the file was finished).
            self.stream.codec_context.framerate = fps
        else:
            kind = self.container.format
            try:  # a stream URL's muxer (FLV, MPEG-TS, RTSP...) takes H.264 (rtstyle.stream)
                codec = codec or ("libx264" if self.path is None else
                                  encoders.for_output(kind.name, kind.long_name, self.name).encoder)
                chosen = encoders.by_encoder(codec)
                if min(self.width, self.height) < chosen.min_side:
                    raise SinkError(f"cannot write {self.name}: {chosen.name.upper()} takes frames of at least "
                                    f"{chosen.min_side}x{chosen.min_side} pixels, these are {width}x{height} "
                                    "(give --codec h264)")
            except SinkError:
                self.container.close()
                raise
            self.alpha = alpha and encoders.keeps_alpha(codec, kind.name)
            encoder = {**encoders.quality_options(codec, crf, preset, self.alpha), **(options or {}),
                       **encoders.container_options(kind.name)}
            self.stream = self.container.add_stream(codec, rate=fps, options=encoder)
            self.stream.width, self.stream.height = self.width, self.height
            self.stream.pix_fmt = chosen.alpha_pix_fmt if self.alpha else chosen.pix_fmt
            if codec == "libx265" and kind.name in encoders.HEVC_TAG:
                self.stream.codec_tag = "hvc1"
            # Said in the stream: players guess BT.709 for untagged HD video, and would shift the colours.
            self.stream.codec_context.colorspace = yuv.WRITTEN_COLORSPACE
            self.stream.codec_context.color_range = yuv.WRITTEN_RANGE
            # With both said, MP4 and MOV write them in the file's header too ('colr', which QuickTime reads).
            self.stream.codec_context.color_primaries = yuv.WRITTEN_PRIMARIES
            self.stream.codec_context.color_trc = yuv.WRITTEN_TRANSFER
            self.stream.codec_context.time_base = self.out_time_base
        self.stream.time_base = self.out_time_base
        self.time_base = time_base
        self.last_pts = -1  # in the output's time base
        self.frames_written = 0
        self.last_time = 0.0
        self.frame_duration = float(1 / fps)
        self.realtime = realtime
        self.clock_origin: float | None = None  # wall clock of the first frame's time (realtime)
        self.closed = False
        self.carriers: list[StreamCarrier] = []
        self.pictures: list[av.Packet] = []  # written with the first frame (rtstyle.carry.carry_pictures)
        self.dropped: list[str] = []  # notes: what the output does not keep of the input (or, here, does)
        if self.alpha:
            kept = "ProRes 4444" if codec == "prores_ks" else "VP9"
            self.dropped.append(f"its transparency kept: {kept} with alpha")
        self.soundtrack = soundtrack
        if carry_from or soundtrack:
            with contextlib.ExitStack() as opened:  # everything opened so far is closed again on a failure
                opened.callback(self.container.close)
                opened.callback(self._close_carriers)
                if carry_from:
                    self._carry(carry_from, start_time, carry_timeout, part, length)
                if soundtrack:
                    self._carry_soundtrack(soundtrack, carry_timeout, length)
                opened.pop_all()
        if self.path is None:
            self._connect(timeout)

    def _connect(self, timeout: float) -> None:
        """Open a stream URL now (FFmpeg would at the first frame): a receiver that is not
        there fails before any work, and before the files beside it get their first frame."""
        try:
            self.watchdog = Watchdog.around(self.container.start_encoding, timeout)
        except (OSError, av.error.FFmpegError) as e:
            self.closed = True
            self._close_carriers()
            with contextlib.suppress(OSError, av.error.FFmpegError):
                self.container.close()
            raise _cannot_open(self.name, e) from None

    def _carry(self, source: str | SharedDemux, start_time: float, timeout: float, part: bool,
               length: float | None) -> None:
        with opening(source, timeout) as probe:
            video = main_video(probe)
            rendered = video.index if video else None
            streams = [(s.index, s.type, s.codec_context.name if s.codec_context else "data", is_picture(s))
                       for s in probe.streams if not is_chapter_track(s) and not is_timecode_track(s)]
            if self.path is not None:
                self.pictures, notes = carry_pictures(probe, self.container, rendered)
                self.dropped += notes
                self.container.metadata.update(description(probe))
                marks = chapters(probe, start_time, length)
                if marks and self._kept(CHAPTER_CONTAINERS, f"{len(marks)} chapters", "an .mp4 or .mkv"):
                    self.container.set_chapters(marks)
                code = timecode(probe, start_time)
                if code and self._kept(TIMECODE_CONTAINERS, f"timecode {code}", "a .mov, .mp4 or .mkv"):
                    self.stream.metadata["timecode"] = code
            for index, kind, codec, picture in streams:
                if kind not in ("audio", "subtitle"):
                    if index != rendered and not (picture and self.path is not None):
                        self.dropped.append(f"{kind} stream {index} ({codec}) not "
                                            f"{'sent to the stream' if picture else 'carried over'}")
                    continue
                if kind == "audio" and self.soundtrack:  # replaced by the soundtrack's
                    continue
                if kind == "subtitle" and self.path is None:
                    self.dropped.append(f"subtitle stream {index} ({codec}) not sent to the stream")
                    continue
                try:
                    self._keep(StreamCarrier(source, index, self.container, start_time, timeout, part, length=length),
                               f"{kind} stream {index} ({codec})")
                except ValueError as e:  # the container does not take this codec (subtitles: copied only)
                    self.dropped.append(f"{kind} stream {index} ({codec}) not carried over: {e}"
                                        + outputs_taking(probe.streams[index], self.container.format.name))
                except av.error.FFmpegError as e:
                    raise SourceError(f"cannot read {kind} stream {index} of {named(source)}: {e}") from None

    def _kept(self, containers: set[str], what: str, outputs: str) -> bool:
        """Whether the output's container is one of ``containers``, those that keep ``what`` of the
        source (its chapters, its timecode); a note names what is left out where not."""
        kind = self.container.format
        if kind.name in containers:
            return True
        self.dropped.append(f"{what} not carried over: {kind.long_name} keeps none (try {outputs} output)")
        return False

    def _carry_soundtrack(self, track: Soundtrack, timeout: float, length: float | None) -> None:
        origin, streams = sound_streams(track.path, timeout)
        for index in streams:
            try:
                carrier = StreamCarrier(track.path, index, self.container, origin + track.since, timeout,
                                        part=track.since > 0, ends_with_video=True, length=length)
            except av.error.FFmpegError as e:
                raise SourceError(f"cannot read audio stream {index} of {track.name}: {e}") from None
            carrier.action = f"{track.name}: {carrier.action}" if not carrier.empty else ""
            self._keep(carrier, f"{track.name}'s audio stream {index}" if len(streams) > 1 else track.name)

    def _keep(self, carrier: StreamCarrier, what: str) -> None:
        """Carry ``carrier``'s stream on, unless it has no sound in the part rendered (no empty stream)."""
        if carrier.empty:
            carrier.close()
            self.dropped.append(f"{what} {carrier.empty}: the output has nothing of it")
        else:
            self.carriers.append(carrier)

    @property
    def actions(self) -> str:
        """What happened to the source's audio and subtitle streams, for the report."""
        return ", ".join(c.action for c in self.carriers) or "none"

    @property
    def decoder_delays(self) -> list[float]:
        """Each audio stream's decoder delay (rtstyle.carry), for the A/V check."""
        return [c.decoder_delay for c in self.carriers if c.kind == "audio"]

    def write(self, rgb: np.ndarray, pts: int, pict_type: av.video.frame.PictureType | None = None,
              alpha: np.ndarray | None = None) -> None:
        """Encode one frame; ``pict_type`` forces its picture type (rtstyle.segments cuts at forced
        frames); ``alpha``, its transparency where the stream keeps it (a frame without: opaque)."""
        h, w = rgb.shape[:2]
        if self.alpha:
            rgb = np.dstack([rgb, np.full((h, w), 255, np.uint8) if alpha is None else alpha])
        if (w, h) != (self.width, self.height):
            rgb = np.pad(rgb, ((0, self.height - h), (0, self.width - w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(rgb, format="rgba") if self.alpha else yuv.from_rgb(rgb)
        # Said in each frame too: ProRes writes a frame's own colours into its header (x264 the stream's).
        frame.colorspace, frame.color_range = yuv.WRITTEN_COLORSPACE, yuv.WRITTEN_RANGE
        frame.color_primaries, frame.color_trc = yuv.WRITTEN_PRIMARIES, yuv.WRITTEN_TRANSFER
        if pict_type is not None:
            frame.pict_type = pict_type
        frame.pts, frame.time_base = self._out_pts(pts * self.time_base), self.out_time_base
        t = float(pts * self.time_base)
        if self.realtime:
            self._wait_for(t)
        self._mux(t, lambda: self.stream.encode(frame))
        self.last_time = t

    def show(self, frame: VideoFrame, status: object = None) -> None:
        """The output protocol (rtstyle.outputs): a render's frame, at its own timestamp."""
        self.write(frame.image, frame.pts, alpha=frame.alpha)

    def _wait_for(self, t: float) -> None:
        """Hold a frame back until ``t`` seconds have passed since the first frame (``realtime``)."""
        if self.clock_origin is None:
            self.clock_origin = time.monotonic() - t
        time.sleep(max(0.0, self.clock_origin + t - time.monotonic()))

    def _out_pts(self, seconds: Fraction) -> int:
        """A frame's timestamp in the output (AVI: the tick nearest its time, or the next free one)."""
        out = round(seconds / self.out_time_base)
        self.last_pts = max(self.last_pts + 1, out) if self.avi else out
        return self.last_pts

    def write_packet(self, packet: av.Packet) -> None:
        """Copy one encoded video packet (of a stream like the template's), in decoding order."""
        t = float(packet.pts * packet.time_base)
        if self.avi:  # no B-frames: decoding order is showing order, timed by the chunk
            packet.pts = packet.dts = self._out_pts(packet.pts * packet.time_base)
            packet.time_base = self.out_time_base
        packets = self.annexb.filter(packet) if self.annexb else [packet]
        for p in packets:
            p.stream = self.stream
        self._mux(t, lambda: packets)
        self.last_time = max(self.last_time, t)

    def _mux(self, t: float, packets: Callable[[], av.Packet | list[av.Packet]]) -> None:
        """Mux the carried streams up to the end of the frame at ``t`` seconds, then the frame's
        ``packets()`` (encoding can fail as writing can: both end the output the same way)."""
        try:
            with self._watched():
                if self.pictures:  # a cover picture, once
                    self.container.mux(self.pictures)
                    self.pictures = []
                for carrier in self.carriers:
                    carrier.advance_to(t + self.frame_duration)
                self.container.mux(packets())
        except (OSError, av.error.FFmpegError) as e:
            raise self._fail(e) from None
        self.frames_written += 1

    def close(self, complete: bool = True) -> None:
        """Flush the encoder and finish the file; safe to call after an interruption or a failure.

        ``complete=False`` (interrupted render) cuts audio and subtitles at the last video frame.
        A file that got no frame is removed: it would not play. An MP4 or MOV, written in
        fragments, is then made one regular file (rtstyle.fragments).
        """
        if self.closed:
            return
        try:
            with self._watched():
                if not self.copying:
                    self.container.mux(self.stream.encode(None))
                end = self.last_time + self.frame_duration if self.frames_written else 0.0
                for carrier in self.carriers:
                    carrier.finish(None if complete and not carrier.ends_with_video else end)
                self.container.close()  # writes the index: only now does an MP4 play
        except (OSError, av.error.FFmpegError) as e:
            raise self._fail(e) from None
        finally:
            self.closed = True
            self._close_carriers()
            self.container.close()
        if not self.frames_written:
            self.discard()
        elif self.fragmented:
            self._finish()

    def _finish(self) -> None:
        """Make the fragmented file regular; where that fails, the fragments stay and play."""
        try:
            fragments.finish(self.path, self.container.format.name)
        except (OSError, av.error.FFmpegError) as e:
            raise SinkError(f"cannot finish {self.path}: {write_failure(e)}; the file plays as written, in "
                            "fragments (which some editing programs do not open)") from None

    def discard(self) -> None:
        """Remove the output file unless it plays (closing was cut short); nothing to do for a stream."""
        if self.path is not None and self.path.exists() and not playable_frames(self.path):
            self.path.unlink()

    def _watched(self) -> contextlib.AbstractContextManager[None]:
        """Writes to a stream end, not hang, when its receiver stops taking data."""
        return self.watchdog.watch() if self.watchdog else contextlib.nullcontext()

    def _close_carriers(self) -> None:
        for carrier in self.carriers:
            carrier.close()

    def _fail(self, error: Exception) -> SinkError:
        """The output could not be written on: finish what can be finished, keep the file
        if it plays, and say which it was."""
        self.closed = True
        try:
            with self._watched():
                self.container.close()
        except (OSError, av.error.FFmpegError):
            pass  # the index cannot be written either
        self._close_carriers()
        reason = write_failure(error)
        if isinstance(error, av.error.ExitError) or (self.watchdog and self.watchdog.fired):  # a timeout
            reason = "the receiver took nothing for a while (stalled)"
        if self.path is None:
            return SinkError(f"the stream to {self.name} broke after {self.frames_written} frames: {reason}")
        frames = playable_frames(self.path)
        if frames:
            kept = f"the file written so far plays ({frames} frames)"
        elif self.path.exists():
            self.path.unlink()
            kept = "the unfinished file would not play and was removed"
        else:
            kept = "nothing was written"
        return SinkError(f"cannot write {self.path}: {reason}; {kept}")


def write_failure(error: BaseException) -> str:
    """Why a write failed, in the system's words, a full disk (or a file size limit) said as such."""
    reason = getattr(error, "strerror", None) or str(error)
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
        reason += " (disk full or file size limit)"
    return reason


def _open_output(target: str, format: str | None, timeout: float | None) -> av.container.OutputContainer:
    """Open a file or URL for writing; a failure is a SinkError that names what could not be opened."""
    try:
        return av.open(with_socket_timeout(target, timeout), "w", format=format, timeout=timeout)
    except (av.error.FFmpegError, ValueError) as e:
        raise _cannot_open(target, e) from None


def _cannot_open(target: str, error: Exception) -> SinkError:
    """Why a file or URL could not be opened for writing, in one line."""
    if not is_url(target):
        return SinkError(f"cannot create {target}: {getattr(error, 'strerror', None) or error}")
    if isinstance(error, av.error.ProtocolNotFoundError):
        return SinkError(f"cannot open the stream {target}: this build of FFmpeg (the one PyAV ships) has no "
                         f"{url_scheme(target)}:// protocol")
    return SinkError(f"cannot open the stream {target}: {getattr(error, 'strerror', None) or error}")
