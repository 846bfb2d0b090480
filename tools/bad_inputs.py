"""Every class of bad input `rtstyle render` must survive, made from the real test clips.

Each :class:`Case` builds its input (and, for output cases, its output path) in a work
folder from tests/data at run time: clips cut short, re-encoded in other pixel formats,
rotated, with irregular timestamps, extra streams or odd names. ``expect`` says what a
correct run does: "render" (a verified output) or "error" (one line, exit code 1).
tests/test_bad_inputs.py runs every case; benchmarks/bad_inputs.py prints the table.

    python -m tools.bad_inputs tests/data /tmp/bad     # just make the files, to look at them
"""
from __future__ import annotations

import argparse
import os
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

CLIP = "walk_tone.mp4"      # 30 frames 320x240 at 10 fps, H.264 + AAC tone (tests/data)
FPS = 10
RATE = 44100


@dataclass
class Prepared:
    """What one case runs: ``rtstyle render SRC DST *args``."""

    src: Path
    dst: Path
    args: list[str] = field(default_factory=list)


@dataclass
class Case:
    kind: str                      # the bad-input class (one row of the table)
    name: str                      # this variant
    make: Callable[[Path, Path], Prepared]  # (tests/data, empty work folder) -> what to run
    expect: str = "render"         # "render" or "error"
    message: str = ""              # for errors: a word the one-line message must contain
    file_size_limit: int = 0       # bytes a process may write to a file (RLIMIT_FSIZE): a disk that fills up

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}"


# --- real frames and sound ---------------------------------------------------------------

def clip_frames(data: Path, count: int = 30, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The first ``count`` RGB frames of the test clip, resized to ``size`` (width, height)."""
    import cv2

    out = []
    with av.open(str(data / CLIP)) as c:
        for f in c.decode(video=0):
            img = f.to_ndarray(format="rgb24")
            if size:
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            out.append(img)
            if len(out) == count:
                break
    return out


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def write_video(path: Path, frames: Sequence[np.ndarray], codec: str = "libx264", pix_fmt: str = "yuv420p",
                times: Sequence[float] | None = None, rotation: int = 0, audio: Sequence[str] = ("aac",),
                subtitles: bool = False, timecode: bool = False, options: dict | None = None,
                container_options: dict | None = None, audio_start: float = 0.0, pts_as_dts: bool = False,
                time_base: Fraction = Fraction(1, 1000), rate: int = FPS, aspect: Fraction | None = None,
                mirrored: bool = False, upside_down: bool = False) -> Path:
    """Encode RGB(A) ``frames`` at ``times`` (seconds; default every 1/``rate``) with tones in ``audio`` codecs.

    ``rotation`` (degrees, counter-clockwise) is stored as the display matrix a phone
    writes, ``mirrored`` and ``upside_down`` as QuickTime's Flip Horizontal and Vertical
    write theirs (:func:`display_matrix`), ``aspect`` as the pixels' aspect ratio (a DVD's,
    HDV's non-square pixels); ``subtitles`` adds a SubRip stream, ``timecode`` a camera's
    timecode data stream (MP4/MOV). ``audio_start`` delays the sound (seconds); ``pts_as_dts`` stores each
    video packet's decode time as its presentation time, as some muxers do with B-frames.
    """
    times = list(times) if times is not None else [i / rate for i in range(len(frames))]
    seconds = times[-1] + 1 / rate
    tb = time_base
    srt = av.open(str(_srt(path.with_suffix(".srt"), seconds))) if subtitles else None
    with av.open(str(path), "w", options=container_options or {}) as out:
        vs = out.add_stream(codec, rate=rate, options=options or {})
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = pix_fmt
        vs.time_base = vs.codec_context.time_base = tb
        if rotation or mirrored or upside_down:
            vs.set_display_matrix(display_matrix(rotation, mirrored, upside_down))
        if aspect:
            vs.codec_context.sample_aspect_ratio = aspect
        if timecode:
            vs.metadata["timecode"] = "01:00:00:00"
        audio_streams = [out.add_stream(a, rate=RATE, layout="mono") for a in audio]
        sub = out.add_stream_from_template(srt.streams.subtitles[0]) if srt else None
        rgba = frames[0].shape[2] == 4
        for img, t in zip(frames, times):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgba" if rgba else "rgb24")
            vf.pts, vf.time_base = round(t / tb), tb
            out.mux(_retimed(vs.encode(vf), pts_as_dts))
        out.mux(_retimed(vs.encode(None), pts_as_dts))
        for i, a in enumerate(audio_streams):
            _write_tone(out, a, tone(seconds - audio_start, 440.0 * (i + 1)), audio_start)
        if srt:
            for p in srt.demux(srt.streams.subtitles[0]):
                if p.size:
                    p.stream = sub
                    out.mux(p)
            srt.close()
    return path


def _retimed(packets: list[av.Packet], pts_as_dts: bool) -> list[av.Packet]:
    for p in packets if pts_as_dts else []:
        p.pts = p.dts
    return packets


def _write_tone(out: av.container.OutputContainer, stream: av.AudioStream, samples: np.ndarray,
                start_time: float = 0.0) -> None:
    fmt = stream.codec_context.format.name
    chunk = stream.codec_context.frame_size or 1024
    integer = {"s16": np.int16, "s32": np.int32}.get(fmt.rstrip("p"))
    values = (samples * np.iinfo(integer).max).astype(integer) if integer else samples
    first = round(start_time * RATE)
    for start in range(0, len(values), chunk):
        af = av.AudioFrame.from_ndarray(values[None, start:start + chunk], format=fmt, layout="mono")
        af.sample_rate, af.pts, af.time_base = RATE, first + start, Fraction(1, RATE)
        out.mux(stream.encode(af))
    out.mux(stream.encode(None))


def _srt(path: Path, seconds: float) -> Path:
    """A SubRip file with a cue every quarter second (FFmpeg's subtitle encoders need a
    header PyAV cannot set, so the stream is demuxed from a file instead)."""
    def stamp(ms: int) -> str:
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"

    cues = [f"{i + 1}\n{stamp(ms)} --> {stamp(ms + 200)}\nline {i}\n" for i, ms in enumerate(range(0, int(seconds * 1000), 250))]
    path.write_text("\n".join(cues), encoding="utf-8")
    return path


# --- the cases -----------------------------------------------------------------------------

def _copy(name: str, suffix: str | None = None) -> Callable[[Path, Path], Prepared]:
    def make(data: Path, work: Path) -> Prepared:
        src = work / (Path(name).stem + (suffix or Path(name).suffix))
        shutil.copyfile(data / name, src)
        return Prepared(src, work / "out.mp4")
    return make


def _truncated(name: str, fraction: float, faststart: bool = False) -> Callable[[Path, Path], Prepared]:
    """The clip cut after ``fraction`` of its bytes, like an interrupted download."""
    def make(data: Path, work: Path) -> Prepared:
        whole = data / name
        if faststart:  # the index up front, as web videos have it: the cut file still opens
            whole = work / "faststart.mp4"
            write_video(whole, clip_frames(data), container_options={"movflags": "faststart"})
        payload = whole.read_bytes()
        src = work / f"cut{Path(name).suffix}"
        src.write_bytes(payload[:round(len(payload) * fraction)])
        return Prepared(src, work / "out.mp4")
    return make


def _bytes(payload: bytes, suffix: str) -> Callable[[Path, Path], Prepared]:
    def make(data: Path, work: Path) -> Prepared:
        src = work / f"input{suffix}"
        src.write_bytes(payload)
        return Prepared(src, work / "out.mp4")
    return make


def _audio_only(codec: str, suffix: str) -> Callable[[Path, Path], Prepared]:
    def make(data: Path, work: Path) -> Prepared:
        src = work / f"sound{suffix}"
        with av.open(str(src), "w") as out:
            _write_tone(out, out.add_stream(codec, rate=RATE, layout="mono"), tone(2.0))
        return Prepared(src, work / "out.mp4")
    return make


SIZE = (160, 120)  # frames of most cases: small, fast to render
COVER = "messi5.jpg"  # tests/data: a JPEG as a cover picture
# A font attachment's bytes: opaque to FFmpeg and to rtstyle, which only carry them.
FONT = b"\x00\x01\x00\x00" + b"a font file, as styled subtitles carry theirs" * 20


def _pictures(suffix: str, video: bool = True) -> Callable[[Path, Path], Prepared]:
    """The test clip (or its sound alone) with a cover picture, as music videos and albums carry
    one (an MP4's 'covr', a Matroska image attachment), and in Matroska a font attachment, as
    films with styled subtitles carry theirs."""
    def make(data: Path, work: Path) -> Prepared:
        src = work / f"pictures{suffix}"
        jpeg = (data / COVER).read_bytes()
        with av.open(str(data / CLIP)) as clip, av.open(str(src), "w") as out:
            kept = [s for s in clip.streams if video or s.type == "audio"]
            streams = {s.index: out.add_stream_from_template(s) for s in kept}
            if suffix in (".mkv", ".mka"):  # Matroska
                out.add_attachment("font.ttf", "font/ttf", FONT)
                out.add_attachment("cover.jpg", "image/jpeg", jpeg)
            else:
                height, width = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR).shape[:2]
                cover = out.add_stream("mjpeg", rate=1)
                cover.width, cover.height, cover.pix_fmt = width, height, "yuvj420p"
                cover.disposition = av.stream.Disposition.attached_pic
                packet = av.Packet(jpeg)
                packet.stream, packet.pts, packet.dts = cover, 0, 0
                out.mux(packet)
            for packet in clip.demux(*kept):
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        return Prepared(src, work / f"out{suffix if video else '.mp4'}")
    return make


def _encoded(suffix: str, count: int = 8, size: tuple[int, int] | None = SIZE, alpha: bool = False,
             **write) -> Callable[[Path, Path], Prepared]:
    """Real frames re-encoded with ``write_video`` options (pixel format, timing, streams);
    a rotated clip shows these frames upright."""
    def make(data: Path, work: Path) -> Prepared:
        frames = clip_frames(data, count, size)
        if alpha:  # a soft left-to-right fade of transparency
            ramp = np.linspace(0, 255, frames[0].shape[1], dtype=np.uint8)
            frames = [np.dstack([f, np.broadcast_to(ramp, f.shape[:2])]) for f in frames]
        turn = [write.get(k, 0) for k in ("rotation", "mirrored", "upside_down")]
        if any(turn):  # stored turned the other way, as a phone does: upright on display
            frames = [stored_for(f, display_matrix(*turn)) for f in frames]
        return Prepared(write_video(work / f"input{suffix}", frames, **write), work / "out.mp4")
    return make


def display_matrix(rotation: int, mirrored: bool = False, upside_down: bool = False) -> list[int]:
    """A display matrix as PyAV's set_display_rotation writes one (``rotation`` degrees
    counter-clockwise), then mirrored and flipped upside down as FFmpeg's av_display_matrix_flip
    (QuickTime's Flip Horizontal and Vertical): its first or second column negated. 16.16 fixed point."""
    c, s = round(np.cos(np.radians(rotation))), round(np.sin(np.radians(rotation)))
    h, v = -1 if mirrored else 1, -1 if upside_down else 1
    return [c * h << 16, -s * v << 16, 0, s * h << 16, c * v << 16, 0, 0, 0, 1 << 30]


def stored_for(display: np.ndarray, matrix: list[int]) -> np.ndarray:
    """The stored frame that ``matrix`` shows as ``display``: FFmpeg's libavutil/display.h maps a
    stored point (p, q) to (a p + c q, b p + d q), moved back inside the picture."""
    a, b, _, c, d = (m >> 16 for m in matrix[:5])
    height, width = display.shape[:2]
    q, p = np.mgrid[:width, :height] if a == 0 else np.mgrid[:height, :width]
    shown_p, shown_q = a * p + c * q, b * p + d * q
    return np.ascontiguousarray(display[shown_q - shown_q.min(), shown_p - shown_p.min()])


def _transparent_webm(data: Path, work: Path) -> Prepared:
    """A WebM with alpha (VP9 keeps it beside the picture, as OBS overlays and browsers' transparent
    video do), into a WebM."""
    made = _encoded(".webm", alpha=True, codec="libvpx-vp9", pix_fmt="yuva420p", audio=())(data, work)
    return Prepared(made.src, work / "out.webm")


def _sized(width: int, height: int, count: int) -> Callable[[Path, Path], Prepared]:
    """Real frames at any size (lossless FFV1 takes odd and 1-pixel sides)."""
    return _encoded(".mkv", count, (width, height), codec="ffv1", pix_fmt="yuv444p", audio=())


def _vfr(data: Path, work: Path) -> Prepared:
    """Frame intervals of 40-250 ms, as phones record in low light."""
    gaps = np.random.default_rng(5).choice([0.04, 0.1, 0.25, 0.07], 11)
    times = np.concatenate([[0.0], np.cumsum(gaps)])
    return Prepared(write_video(work / "vfr.mp4", clip_frames(data, len(times), SIZE), times=times),
                    work / "out.mp4")


def _avi_drops(data: Path, work: Path) -> Prepared:
    """A Cinepak AVI at 15 fps whose gaps are empty "drop" chunks, as capture tools write
    variable-rate video into AVI: the header counts every chunk, a few hold frames."""
    ticks = [0, 11, 17, 24, 30, 33, 40, 52, 60, 61]
    return Prepared(write_video(work / "drops.avi", clip_frames(data, len(ticks), SIZE), codec="cinepak",
                                pix_fmt="rgb24", audio=(), times=[t / 15 for t in ticks], time_base=Fraction(1, 15)),
                    work / "out.mp4")


def _audio_first(data: Path, work: Path) -> Prepared:
    """The test clip remuxed with its audio as stream 0 and its video as stream 1."""
    src = work / "audio_first.mkv"
    with av.open(str(data / CLIP)) as inp, av.open(str(src), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in (inp.streams.audio[0], inp.streams.video[0])}
        for p in inp.demux():
            if p.dts is not None:
                p.stream = streams[p.stream.index]
                out.mux(p)
    return Prepared(src, work / "out.mp4")


def _gif_input(data: Path, work: Path) -> Prepared:
    """An animated GIF of the test clip's frames (written by rtstyle.gif)."""
    from rtstyle.gif import GifSink

    frames = clip_frames(data, 10)
    src = work / "input.gif"
    with GifSink(src, frames[0].shape[1], frames[0].shape[0], Fraction(1, FPS), Fraction(FPS)) as sink:
        for i, frame in enumerate(frames):
            sink.write(frame, i)
    return Prepared(src, work / "out.mp4")


def _sequence(name: str, first: int = 1, depth: int = 8, *args: str, gap: bool = False, cut: bool = False,
              second: bool = False, profile: bool = False) -> Callable[[Path, Path], Prepared]:
    """The test clip's first 12 frames as numbered pictures in a folder (``name``: printf), as a
    3D or compositing program renders them; ``depth`` 16: 16-bit; ``gap``: two numbers missing;
    ``cut``: one picture cut short (a render that crashed while writing it); ``second``: a
    second sequence in the folder; ``profile``: PNGs with a named colour profile (iCCP), as a
    Mac's screenshots and Photoshop's exports have."""
    def make(data: Path, work: Path) -> Prepared:
        folder = work / "frames"
        folder.mkdir()
        for n, frame in enumerate(clip_frames(data, 12), start=first):
            bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
            cv2.imwrite(str(folder / (name % n)), bgr.astype(np.uint16) * 257 if depth == 16 else bgr)
            if profile:
                _with_png_profile(folder / (name % n))
            if second and n < first + 3:
                cv2.imwrite(str(folder / ("depth_" + name % n)), bgr)
        if gap:
            for n in (first + 4, first + 5):
                (folder / (name % n)).unlink()
        if cut:
            picture = folder / (name % (first + 6))
            picture.write_bytes(picture.read_bytes()[:2000])
        return Prepared(folder, work / "out.mp4", list(args))
    return make


def _with_png_profile(png: Path) -> None:
    """An iCCP chunk after the PNG's header: a profile named "Display", an ICC header of an RGB
    display profile and no tags (FFmpeg's decoder names its side data so whatever it holds)."""
    icc = bytearray(132)
    icc[0:4], icc[12:20], icc[36:40] = (132).to_bytes(4, "big"), b"mntrRGB ", b"acsp"
    chunk = b"iCCP" + b"Display\0\0" + zlib.compress(bytes(icc))
    data = png.read_bytes()
    header_end = 8 + 8 + 13 + 4  # the signature and IHDR
    png.write_bytes(data[:header_end] + (len(chunk) - 4).to_bytes(4, "big") + chunk
                    + zlib.crc32(chunk).to_bytes(4, "big") + data[header_end:])


def _exr_sequence(data: Path, work: Path) -> Prepared:
    """The test clip's first 12 frames as half-float OpenEXRs with alpha (premultiplied, a disc on
    nothing), as Blender renders a transparent background, painted into numbered EXRs."""
    folder = work / "frames"
    folder.mkdir()
    yy, xx = np.mgrid[:240, :320]
    alpha = np.clip((100 - np.hypot(xx - 160, yy - 120)) / 10, 0, 1).astype(np.float32)[..., None]
    for n, frame in enumerate(clip_frames(data, 12), start=1):
        level = frame / 255
        linear = np.where(level <= 0.04045, level / 12.92, ((level + 0.055) / 1.055) ** 2.4).astype(np.float32)
        with av.open(str(folder / f"beauty.{n:04d}.exr"), "w", format="image2") as out:
            stream = out.add_stream("exr", rate=25, options={"format": "half", "compression": "zip16"})
            stream.width, stream.height, stream.pix_fmt = 320, 240, "gbrapf32le"
            picture = av.VideoFrame.from_ndarray(np.dstack([linear * alpha, alpha]), format="gbrapf32le")
            for packet in [*stream.encode(picture), *stream.encode()]:
                out.mux(packet)
    return Prepared(folder, work / "painted.%04d.exr", ["--fps", "24"])


def _to(suffix: str) -> Callable[[Path, Path], Prepared]:
    """The test clip rendered into another container."""
    def make(data: Path, work: Path) -> Prepared:
        shutil.copyfile(data / CLIP, work / CLIP)
        return Prepared(work / CLIP, work / f"out{suffix}")
    return make


# An MP4 whose first second is stored but left out by its edit list, as a phone trims a video.
_TRIMMED = _encoded(".mp4", 30, times=[i / FPS - 1 for i in range(30)], audio_start=-1.0)
# The same with frames 40-100 ms apart and half a second left out: the trim falls inside an AAC
# packet, so the packet kept before it (the decoder's pre-roll) starts 36 ms before the edit.
_TRIMMED_VFR = _encoded(".mp4", 20, times=[-0.5 + 0.07 * i + 0.03 * (i % 3 == 1) for i in range(20)],
                        audio_start=-0.5)


def _soundtrack(make: Callable[[Path, Path], Prepared], sound: str, seconds: float = 5.0) -> Callable[[Path, Path], Prepared]:
    """Another case's input with another file's sound under it (--audio): a tone of ``seconds``
    in a file of suffix ``sound``; "silent": a video without sound; "missing": no file."""
    def make_with(data: Path, work: Path) -> Prepared:
        p = make(data, work)
        track = work / ("music" + (".mp4" if sound in ("silent", "missing") else sound))
        if sound == "silent":
            write_video(track, clip_frames(data, 5, SIZE), audio=())
        elif sound != "missing":
            codec = {".mp3": "libmp3lame", ".m4a": "aac", ".wav": "pcm_s16le"}[sound]
            with av.open(str(track), "w") as out:
                _write_tone(out, out.add_stream(codec, rate=RATE, layout="mono"), tone(seconds, 660.0))
        return Prepared(p.src, p.dst, [*p.args, "--audio", str(track)])
    return make_with


def _asking(make: Callable[[Path, Path], Prepared], *args: str) -> Callable[[Path, Path], Prepared]:
    """Another case with more options (``--codec hevc``)."""
    def asking(data: Path, work: Path) -> Prepared:
        p = make(data, work)
        return Prepared(p.src, p.dst, [*p.args, *args])
    return asking


def _into(suffix: str, make: Callable[[Path, Path], Prepared]) -> Callable[[Path, Path], Prepared]:
    """Another case's input rendered into a ``suffix`` container."""
    def into(data: Path, work: Path) -> Prepared:
        p = make(data, work)
        return Prepared(p.src, p.dst.with_suffix(suffix), p.args)
    return into


def _non_ascii(data: Path, work: Path) -> Prepared:
    src = work / "straße 日本 ñ.mp4"
    shutil.copyfile(data / CLIP, src)
    return Prepared(src, work / "ausgabe 東京 ü.mp4")


def _output(where: str) -> Callable[[Path, Path], Prepared]:
    """An output path that cannot be written."""
    def make(data: Path, work: Path) -> Prepared:
        src = work / CLIP
        shutil.copyfile(data / CLIP, src)
        if where == "missing folder":
            return Prepared(src, work / "no" / "such" / "out.mp4")
        if where == "folder":  # DST names an existing folder
            (work / "out.mp4").mkdir()
            return Prepared(src, work / "out.mp4", ["--overwrite"])
        if where == "unknown format":
            return Prepared(src, work / "out.notavideo")
        return Prepared(src, Path("/proc") / "rtstyle-out.mp4")  # writable to no one, root included
    return make


def _not_a_file(which: str) -> Callable[[Path, Path], Prepared]:
    """A named pipe given as the input or the output, or a device as the output (no process
    writes to or reads from the pipe: a render that opened it would wait for ever)."""
    def make(data: Path, work: Path) -> Prepared:
        src, dst = work / CLIP, work / "out.mp4"
        if which == "input":
            os.mkfifo(src)
            return Prepared(src, dst)
        shutil.copyfile(data / CLIP, src)
        if which == "device":
            return Prepared(src, Path(os.devnull), ["--overwrite"])
        os.mkfifo(dst)
        return Prepared(src, dst, ["--overwrite"])
    return make


def _exists(overwrite: bool, same: bool = False) -> Callable[[Path, Path], Prepared]:
    def make(data: Path, work: Path) -> Prepared:
        src = work / CLIP
        shutil.copyfile(data / CLIP, src)
        dst = src if same else work / "out.mp4"
        if not same:
            dst.write_bytes(b"an older render")
        return Prepared(src, dst, ["--overwrite"] if overwrite else [])
    return make


def _disk_full(suffix: str) -> Callable[[Path, Path], Prepared]:
    def make(data: Path, work: Path) -> Prepared:
        src = work / CLIP
        shutil.copyfile(data / CLIP, src)
        return Prepared(src, work / f"out{suffix}")
    return make


def limit_file_size(limit: int) -> None:
    """In a child process: writes past ``limit`` bytes fail with EFBIG, as on a full disk
    (SIGXFSZ ignored, as Python does by default, so the process is not killed)."""
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def cases() -> list[Case]:
    """All cases, grouped by class in the order of issue #8's list (issue #16 added timestamps,
    variable-rate AVI, audio start offset and stream order; later: output containers, AVI output, covers and
    attachments, edit lists, GIF)."""
    return [
        Case("damaged stream", "damaged.avi", _copy("damaged.avi")),
        Case("truncated", "mp4 at 50%", _truncated(CLIP, 0.5), "error", "truncated"),
        Case("truncated", "mp4 at 95%", _truncated(CLIP, 0.95), "error", "truncated"),
        Case("truncated", "faststart mp4 inside the 1st frame", _truncated(CLIP, 0.3, faststart=True), "error",
             "no video frame"),
        Case("truncated", "faststart mp4 at 50%", _truncated(CLIP, 0.5, faststart=True)),
        Case("truncated", "faststart mp4 at 70%", _truncated(CLIP, 0.7, faststart=True)),
        Case("truncated", "mkv at 10%", _truncated("walk_pcm.mkv", 0.1)),
        Case("truncated", "mkv at 60%", _truncated("walk_pcm.mkv", 0.6)),
        Case("truncated", "avi at 50%", _truncated("damaged.avi", 0.5)),
        Case("truncated", "header only", _truncated(CLIP, 0.0004), "error", "truncated"),
        Case("zero-length", "empty .mp4", _bytes(b"", ".mp4"), "error", "empty"),
        Case("zero-length", "empty .mkv", _bytes(b"", ".mkv"), "error", "empty"),
        Case("not a video", "text file", _bytes(b"hello, I am not a video\n" * 40, ".mp4"), "error", "not a video"),
        Case("not a video", "a photo (jpeg)", _copy("messi5.jpg"), "error", "is a still picture"),
        Case("not a video", "a photo (png)", _copy("rubberwhale1.png"), "error", "is a still picture"),
        Case("not a video", "an iPhone photo (heic)", _copy("messi5_turned.heic"), "error", "is a still picture"),
        Case("audio only", "aac in .m4a", _audio_only("aac", ".m4a"), "error", "no video"),
        Case("audio only", "pcm in .wav", _audio_only("pcm_s16le", ".wav"), "error", "no video"),
        Case("audio only", "mka with a cover", _pictures(".mka", video=False), "error", "only a cover picture"),
        Case("variable frame rate", "40-250 ms gaps", _vfr),
        Case("rotation", "90", _encoded(".mp4", rotation=90)),
        Case("rotation", "180", _encoded(".mp4", rotation=180)),
        Case("rotation", "270", _encoded(".mp4", rotation=-90)),
        Case("rotation", "mirrored", _encoded(".mp4", mirrored=True)),
        Case("rotation", "upside down", _encoded(".mp4", upside_down=True)),
        Case("rotation", "90 and mirrored", _encoded(".mp4", rotation=90, mirrored=True)),
        Case("10-bit", "h264 yuv420p10le", _encoded(".mp4", pix_fmt="yuv420p10le")),
        Case("10-bit", "hevc yuv420p10le", _encoded(".mkv", codec="libx265", pix_fmt="yuv420p10le",
                                                      options={"x265-params": "log-level=error"})),
        Case("interlaced", "h264 (x264's interlaced coding)", _encoded(".mp4", options={"x264-params": "interlaced=1"})),
        Case("interlaced", "mpeg-2 in .mpg, mp2 sound (a DVD's)", _encoded(
            ".mpg", codec="mpeg2video", audio=("mp2",), options={"flags": "+ildct+ilme"}, rate=25,
            time_base=Fraction(1, 25))),
        Case("non-square pixels", "4:3 wide in mp4 (HDV's 1440x1080)", _encoded(".mp4", size=(240, 240),
                                                                                  aspect=Fraction(4, 3))),
        Case("non-square pixels", "32:27 wide in .mpg (a 16:9 DVD's)", _encoded(
            ".mpg", size=(360, 240), aspect=Fraction(32, 27), codec="mpeg2video", audio=("mp2",), rate=25,
            time_base=Fraction(1, 25))),
        Case("non-square pixels", "PAL DV in AVI: interlaced, 16:15 wide, PCM sound", _encoded(
            ".avi", size=(720, 576), codec="dvvideo", aspect=Fraction(16, 15), audio=("pcm_s16le",), rate=25,
            time_base=Fraction(1, 25))),
        Case("grayscale", "ffv1 gray", _encoded(".mkv", codec="ffv1", pix_fmt="gray")),
        Case("grayscale", "png gray", _encoded(".mov", codec="png", pix_fmt="gray")),
        Case("alpha", "ffv1 yuva420p", _encoded(".mkv", alpha=True, codec="ffv1", pix_fmt="yuva420p")),
        Case("alpha", "png rgba", _encoded(".mov", alpha=True, codec="png", pix_fmt="rgba")),
        Case("alpha", "qtrle argb", _encoded(".mov", alpha=True, codec="qtrle", pix_fmt="argb")),
        Case("alpha", "vp9 webm with alpha into webm", _transparent_webm),
        Case("odd and tiny sizes", "1x1", _sized(1, 1, 3)),
        Case("odd and tiny sizes", "2x2", _sized(2, 2, 3)),
        Case("odd and tiny sizes", "3x5", _sized(3, 5, 3)),
        Case("odd and tiny sizes", "317x181", _sized(317, 181, 3)),
        Case("odd and tiny sizes", "1919x1079", _sized(1919, 1079, 2)),
        Case("odd and tiny sizes", "3840x2160", _sized(3840, 2160, 1)),
        Case("multiple audio streams", "2 aac in mp4", _encoded(".mp4", audio=("aac", "aac"))),
        Case("multiple audio streams", "aac + pcm in mkv", _encoded(".mkv", audio=("aac", "pcm_s16le"))),
        Case("subtitle or data streams", "srt in mkv", _encoded(".mkv", subtitles=True)),
        Case("subtitle or data streams", "timecode in mov", _encoded(".mov", timecode=True)),
        Case("subtitle or data streams", "timecode in mp4", _encoded(".mp4", timecode=True)),
        Case("cover and attachments", "cover in mp4", _pictures(".mp4")),
        Case("cover and attachments", "font and cover in mkv", _pictures(".mkv")),
        Case("cover and attachments", "mkv into mp4 (cover kept, font noted)", _into(".mp4", _pictures(".mkv"))),
        Case("timestamps", "pts stored as dts, B-frames, mp3", _encoded(".mp4", 30, audio=("libmp3lame",),
                                                                       pts_as_dts=True, options={"bf": "3"})),
        Case("variable-rate AVI", "cinepak with drop chunks", _avi_drops),
        Case("variable-rate AVI", "mp4 rendered to avi", _to(".avi")),
        Case("variable-rate AVI", "h264 in avi (FFmpeg's pts a frame late)", _encoded(".avi", time_base=Fraction(1, FPS))),
        Case("audio start offset", "mp3 at 0.067 s in mkv (copied)", _encoded(".mkv", audio=("libmp3lame",),
                                                                             audio_start=0.067)),
        Case("audio start offset", "pcm at 0.067 s in mkv (transcoded)", _encoded(".mkv", audio=("pcm_s16le",),
                                                                                 audio_start=0.067)),
        Case("stream order", "audio as stream 0", _audio_first),
        Case("edit list", "a phone's trim: 1 s left out", _TRIMMED),
        Case("edit list", "a phone's trim into mkv", _into(".mkv", _TRIMMED)),
        Case("edit list", "a phone's trim into webm", _into(".webm", _TRIMMED)),
        Case("edit list", "a variable-rate trim into avi", _into(".avi", _TRIMMED_VFR)),
        Case("AVI output", "40-250 ms gaps", _into(".avi", _vfr)),
        Case("AVI output", "aac from an avi", _into(".avi", _encoded(".avi", time_base=Fraction(1, FPS)))),
        Case("AVI output", "pcm at 0.067 s", _into(".avi", _encoded(".mkv", audio=("pcm_s16le",), audio_start=0.067))),
        Case("AVI output", "mp3 at 0.067 s", _into(".avi", _encoded(".mkv", audio=("libmp3lame",), audio_start=0.067))),
        Case("non-ASCII paths", "input and output", _non_ascii),
        Case("output not writable", "missing folder", _output("missing folder"), "error", "does not exist"),
        Case("output not writable", "no permission", _output("/proc"), "error", "cannot"),
        Case("output not writable", "a folder", _output("folder"), "error", "folder"),
        Case("output not writable", "unknown format", _output("unknown format"), "error", "format"),
        Case("output not writable", "Ogg (.ogv)", _to(".ogv"), "error", "cannot write video as"),
        Case("output containers", "webm (VP9, Opus)", _to(".webm")),
        Case("output containers", "mpeg-ts (starts late)", _to(".ts")),
        Case("output containers", "mov", _to(".mov")),
        Case("output containers", "m4v", _to(".m4v")),
        Case("output containers", "flv", _to(".flv")),
        Case("output codecs", "HEVC in .mp4", _asking(_to(".mp4"), "--codec", "hevc")),
        Case("output codecs", "ProRes 422 HQ in .mov", _asking(_to(".mov"), "--codec", "prores")),
        Case("output codecs", "ProRes in .mp4", _asking(_to(".mp4"), "--codec", "prores"), "error",
             "does not hold ProRes"),
        Case("output codecs", "HEVC of a 3x5 video", _asking(_sized(3, 5, 3), "--codec", "hevc"), "error",
             "at least 16x16"),
        Case("sound codecs", "flac into mov (MP4's own)", _into(".mov", _encoded(".mkv", audio=("flac",)))),
        Case("sound codecs", "mp3 into m4v", _into(".m4v", _encoded(".mkv", audio=("libmp3lame",)))),
        Case("sound codecs", "a-law into mkv", _into(".mkv", _encoded(".mov", audio=("pcm_alaw",)))),
        Case("sound codecs", "24-bit pcm into mov (copied)", _into(".mov", _encoded(".mkv", audio=("pcm_s24le",)))),
        Case("GIF", "mp4 with sound into a GIF", _to(".gif")),
        Case("GIF", "60 fps into a GIF (a third of the frames left out)", _into(".gif", _encoded(
            ".mp4", 30, times=[i / 60 for i in range(30)]))),
        Case("GIF", "40-250 ms gaps into a GIF", _into(".gif", _vfr)),
        Case("GIF", "an animated GIF as the input", _gif_input),
        Case("image sequence", "numbered PNGs in a folder at 24 fps", _sequence("%04d.png", 1, 8, "--fps", "24")),
        Case("image sequence", "16-bit TIFFs numbered from 1001", _sequence("shot.%04d.tif", 1001, 16)),
        Case("image sequence", "PNGs with a colour profile", _sequence("shot_%04d.png", profile=True)),
        Case("image sequence", "a picture cut short", _sequence("f_%03d.png", cut=True)),
        Case("image sequence", "two pictures missing", _sequence("f_%03d.png", gap=True), "error", "are missing"),
        Case("image sequence", "two sequences in the folder", _sequence("f_%03d.png", second=True), "error",
             "more than one sequence"),
        Case("image sequence", "a video with sound into numbered PNGs", _to("_%04d.png")),
        Case("image sequence", "a video into numbered OpenEXRs", _to("_%04d.exr")),
        Case("image sequence", "half-float OpenEXRs with alpha into OpenEXRs", _exr_sequence),
        Case("another file's sound", "a wav under numbered PNGs", _soundtrack(_sequence("%04d.png"), ".wav", 3.0)),
        Case("another file's sound", "an m4a longer than the video", _soundtrack(_to(".mp4"), ".m4a")),
        Case("another file's sound", "an mp3 under a webm", _soundtrack(_to(".webm"), ".mp3", 2.0)),
        Case("another file's sound", "a video without sound", _soundtrack(_to(".mp4"), "silent"), "error",
             "has no sound"),
        Case("another file's sound", "a file that is not there", _soundtrack(_to(".mp4"), "missing"), "error",
             "not found"),
        Case("another file's sound", "under a GIF", _soundtrack(_to(".gif"), ".wav"), "error", "holds no sound"),
        Case("not a file", "input: a named pipe", _not_a_file("input"), "error", "input is a named pipe"),
        Case("not a file", "output: a named pipe", _not_a_file("output"), "error", "output is a named pipe"),
        Case("not a file", "output: /dev/null", _not_a_file("device"), "error", "output is a device"),
        Case("output exists", "without --overwrite", _exists(False), "error", "--overwrite"),
        Case("output exists", "with --overwrite", _exists(True)),
        Case("output exists", "is the input", _exists(True, same=True), "error", "input"),
        Case("disk full", "mp4 output", _disk_full(".mp4"), "error", "the file written so far plays", 60_000),
        Case("disk full", "mkv output", _disk_full(".mkv"), "error", "the file written so far plays", 60_000),
        Case("disk full", "numbered PNGs", _disk_full("_%04d.png"), "error", "pictures written before it are kept",
             60_000),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data", type=Path, help="tests/data of a checkout")
    ap.add_argument("out", type=Path, help="folder for the cases (one subfolder each)")
    a = ap.parse_args()
    for case in cases():
        work = a.out / case.id.replace(" ", "_")
        work.mkdir(parents=True, exist_ok=True)
        p = case.make(a.data, work)
        print(f"{case.id}: rtstyle render '{p.src}' '{p.dst}' {' '.join(p.args)}")


if __name__ == "__main__":
    main()
