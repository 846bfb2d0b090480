"""Resume a stopped render: keep the frames its file holds, paint the rest.

While a render writes a video file, a small record lies beside it (:func:`record_path`: the
input, and the settings that decide the picture); it is removed once the render completes. A
render that stops early (Ctrl-C, SIGTERM, killed, a full disk) leaves its file playable
(rtstyle.fragments), and the record; one stopped between two frames (Ctrl-C, SIGTERM), which
closed its file, says so in the record. Resuming checks the record against the new render, keeps
the file's video (all of a closed file; else up to its last keyframe, as the frames before it
decode without anything after it, while what follows may be cut short), copies those packets into
the new file and paints on from there. A few frames before the seam are painted again first and not
kept, so that the smoother's history at the seam is the one the stopped render had
(rtstyle.segments.warmup_frames). The sound, subtitles and the rest are carried from the input
again, whole, and the A/V check reads the whole file.

A killed render loses the frames after its file's last keyframe: at most x264's 250 (10 s at 25
fps), fewer after a scene cut. A resumed render that is stopped again resumes the same way.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.bitstream import BitStreamFilterContext

from rtstyle import sequences
from rtstyle.errors import SinkError
from rtstyle.sinks import VideoFileSink, is_gif
from rtstyle.sources import VideoFileSource
from rtstyle.stylizer import Stylizer
from rtstyle.temporal import Smoother


def record_path(dst: Path) -> Path:
    """The record of the render writing ``dst``: hidden beside it, on the same storage."""
    return dst.with_name(f".{dst.name}.render.json")


def set_aside_path(dst: Path) -> Path:
    """Where a stopped render's file waits while a resumed render copies its frames."""
    return dst.with_name(f".{dst.name}.stopped{dst.suffix}")


def resumable(dst: Path | None) -> bool:
    """Whether a render into ``dst`` can be resumed: a video file (not numbered pictures, whose
    frames are files of their own, nor a GIF, written only at the end)."""
    return dst is not None and not sequences.is_pattern(dst) and not is_gif(dst)


def input_identity(source: VideoFileSource) -> dict:
    """The input as a resumed render (this one's, or rtstyle.distributed's) must find it again: its
    files (an image sequence's pictures), their total size and latest change."""
    files = source.sequence.files() if source.sequence else [Path(source.path)]
    stats = [f.stat() for f in files]
    return {"input": str(Path(source.path).resolve()), "size": sum(s.st_size for s in stats),
            "mtime_ns": max(s.st_mtime_ns for s in stats), "files": len(files)}


def record(source: VideoFileSource, stylizer: Stylizer, smoother: Smoother | None, **settings: object) -> dict:
    """What a resumed render must find unchanged: the input (:func:`input_identity`), and what
    decides the picture (the model, its style and strength, the smoothing, the encoder's quality and
    the part, size and sound ``settings`` of rtstyle.render), hashed. Not the provider or the
    threads: a render stopped on a CPU may go on on a GPU."""
    model = stylizer.card.path
    picture = {"model": model.name, "model_bytes": model.stat().st_size, "strength": stylizer.strength,
               "keep_colours": stylizer.keep_colours, "scale": stylizer.scale,
               "style": None if stylizer.space is None else [round(float(v), 6) for v in stylizer.target],
               "smooth": None if smoother is None else [smoother.mode, smoother.strength, smoother.deadband],
               **{k: str(v) if isinstance(v, (Path, Fraction, tuple)) else v for k, v in settings.items()}}
    return {**input_identity(source),
            "settings": hashlib.sha256(json.dumps(picture, sort_keys=True).encode()).hexdigest()}


def mark_closed(dst: Path, content: dict) -> None:
    """Say in the record that the render stopped between two frames and closed its file: every frame
    in it is whole (the encoder was flushed), so a resumption keeps them all, not only those before
    the last keyframe. The file's size says it is still that file."""
    write_record(dst, {**content, "closed_bytes": dst.stat().st_size})


def stopped(dst: Path) -> bool:
    """Whether ``dst`` is (or was, set aside) the file of a render that did not complete."""
    return record_path(dst).exists() or set_aside_path(dst).exists()


def write_record(dst: Path, content: dict) -> None:
    record_path(dst).write_text(json.dumps(content) + "\n")


def remove_record(dst: Path) -> None:
    record_path(dst).unlink(missing_ok=True)


@dataclass(frozen=True)
class Done:
    """What a stopped render's file holds that its resumption keeps."""

    path: Path      # the stopped render's file, set aside (:func:`set_aside_path`)
    until: float    # seconds into the render: the frames kept are those before (its last keyframe's time)
    frames: int     # frames kept
    warmup: float   # seconds into the render of the first frame painted again (the smoother's history)
    shift: float    # seconds the file's muxer moved every stream by (Matroska: none may start before 0)


def refusal(dst: Path, current: dict) -> tuple[str, str] | None:
    """Why ``dst`` cannot be resumed by a render of ``current`` (from :func:`record`), as words
    that follow its name ("holds no stopped render ..."), and what to do, as words that follow
    those; None where it can, or is not there."""
    if not dst.exists() and not set_aside_path(dst).exists():
        return None
    return _refused(_stored(dst), current)


def _stored(dst: Path) -> dict | None:
    """The record of the stopped render whose file is ``dst``; None where there is none to read."""
    try:
        return json.loads(record_path(dst).read_text())
    except (OSError, ValueError):
        return None


def _refused(stored: dict | None, current: dict) -> tuple[str, str] | None:
    """:func:`refusal` of a file whose record is ``stored``."""
    if stored is None:
        return ("holds no stopped render to resume (it was completed, or not written by rtstyle render)",
                ": use --overwrite to render it again")
    differs = next((what for what, keys in (("another input", ("input", "size", "mtime_ns", "files")),
                                            ("other settings", ("settings",)))
                    if any(stored.get(k) != current[k] for k in keys)), None)
    return None if differs is None else (
        f"is a stopped render of {differs}", " (the style, its strength, smoothing, --crf, --codec, --start, "
        "--duration, --max-size, --fps and --audio must be as before): give the same options, or --overwrite to "
        "render it again")


def start_over(dst: Path) -> None:
    """Forget a stopped render that is rendered again from the start (--resume --overwrite): its
    record and its set-aside file (the new render replaces ``dst`` itself)."""
    remove_record(dst)
    set_aside_path(dst).unlink(missing_ok=True)


def prepare(dst: Path, current: dict, warmup_frames: int, first_time: float) -> Done | None:
    """Check that ``dst`` is a stopped render of the same input and settings (``current``, from
    :func:`record`), and set its file aside for :func:`seed`. ``first_time``: when the render's first
    frame shows (rtstyle.sources.VideoFileSource.first_time). None where it holds no frame worth
    keeping (or is not there: the render starts from the beginning). A file that is no stopped
    render of this one (:func:`refusal`) is a SinkError, and stays as it is."""
    aside = set_aside_path(dst)
    if not dst.exists() and not aside.exists():
        return None
    stored = _stored(dst)
    why = _refused(stored, current)
    if why:
        raise SinkError(f"{dst} {why[0]}{why[1]}")
    # A resumption that was stopped in turn left two files: the one it resumed, set aside, and its
    # own, which holds more unless it was stopped while still copying. The one that keeps more is kept.
    found = {path: _kept(path, warmup_frames, first_time, stored.get("closed_bytes") == path.stat().st_size)
             for path in (dst, aside) if path.exists()}
    best = max(found, key=lambda path: found[path][0] if found[path] else -1.0)
    done = found[best]
    if done is None:  # nothing to keep: rendered again from the start
        aside.unlink(missing_ok=True)
        return None
    os.replace(best, aside)
    return Done(aside, *done)


def _kept(path: Path, warmup_frames: int, first_time: float, closed: bool) -> tuple[float, int, float, float] | None:
    """Where the stopped file's kept frames end (its last keyframe's time, seconds into the render;
    in a ``closed`` file, where a frame after its last would be), how many they are, the time of the first one
    painted again, and how much later the file shows every stream than the render did; None when no
    frame comes before a keyframe. Read as far as it reads: a killed file's cut tail ends it."""
    times: list[Fraction] = []
    keys: list[Fraction] = []
    try:
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            tick = stream.time_base
            for p in c.demux(stream):
                if p.pts is None or not p.size:
                    continue
                times.append(p.pts * p.time_base)
                if p.is_keyframe:
                    keys.append(times[-1])
    except (av.error.FFmpegError, OSError, IndexError):
        pass  # a cut tail, or a file with nothing to read: what was read counts
    if not keys:
        return None
    shift = min(times) - Fraction(first_time)
    if closed:  # the next frame's time: its shortest frame interval after its last frame
        shown = sorted(times)
        until = shown[-1] + min((b - a for a, b in zip(shown, shown[1:]) if b > a), default=tick)
    else:
        until = max(keys)
    kept = sorted(t for t in times if t < until)
    if not kept:
        return None
    again = kept[max(0, len(kept) - warmup_frames)] if warmup_frames else until
    return float(until - shift), len(kept), float(again - shift), float(shift)


def restore(dst: Path, done: Done) -> None:
    """After a resumption failed: where nothing of its file was kept, the stopped file goes back in
    its place (a resumption that wrote some frames is resumed in turn, from the file that keeps more)."""
    if not dst.exists():
        os.replace(done.path, dst)


# NAL unit types of the parameter sets: H.264's SPS and PPS, HEVC's VPS, SPS and PPS.
PARAMETER_SETS = {"h264": (lambda unit: unit[0] & 0x1F, {7, 8}), "hevc": (lambda unit: unit[0] >> 1 & 0x3F, {32, 33, 34})}


def parameter_sets(codec: str, extradata: bytes | None) -> list[bytes] | bytes | None:
    """What a stream's frames need to decode, from its extradata: for H.264 and HEVC the parameter
    sets, whether stored as MP4 keeps them (avcC, hvcC) or as the encoder gives them (start codes),
    which differ in form only; other codecs' extradata as it is."""
    if not extradata or codec not in PARAMETER_SETS:
        return extradata
    if extradata.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        units = [u.rstrip(b"\x00") for u in extradata.split(b"\x00\x00\x01")]
    else:
        units = _boxed_units(codec, extradata)
    kind, wanted = PARAMETER_SETS[codec]
    return [u for u in units if u and kind(u) in wanted]


def _boxed_units(codec: str, box: bytes) -> list[bytes]:
    """The NAL units of an avcC or hvcC record (ISO 14496-15): counted lists of 16-bit-sized units."""
    units: list[bytes] = []
    at = 5 if codec == "h264" else 23
    # avcC: SPS count in the low 5 bits, then PPS count; hvcC: arrays of a type byte and a 16-bit count.
    lists = [0x1F, 0xFF] if codec == "h264" else [None] * box[22]
    for mask in lists:
        if mask is None:
            count, at = int.from_bytes(box[at + 1:at + 3], "big"), at + 3
        else:
            count, at = box[at] & mask, at + 1
        for _ in range(count):
            size = int.from_bytes(box[at:at + 2], "big")
            units.append(box[at + 2:at + 2 + size])
            at += 2 + size
    return units


def seed(sink: VideoFileSink, done: Done) -> None:
    """Copy the kept frames into ``sink``, a new render's file before its first frame, in decoding
    order (the stopped file is removed once the render ends: until the new file's first fragment
    after them is written, they are only there). Its encoder must make the same stream (its parameter
    sets): packets of another encoder's would not decode beside the new ones."""
    with av.open(str(done.path)) as c:
        stream = c.streams.video[0]
        sink.container.start_encoding()  # opens the encoder: its parameter sets are known from here
        codec, new = stream.codec_context.name, sink.stream.codec_context.extradata
        # (An encoder that gives none writes them before each keyframe, as into an AVI: the new frames bring their own.)
        if new and parameter_sets(codec, stream.codec_context.extradata) != parameter_sets(codec, new):
            raise SinkError(f"{sink.path} was encoded with other encoder parameters than this render's (another "
                            "version of rtstyle or FFmpeg?): use --overwrite to render it again")
        # The encoder gives H.264 and HEVC with start codes, and the muxer converts what it is given
        # as such: packets read from an MP4 or Matroska file (sized units) are converted back first.
        boxed = codec in PARAMETER_SETS and not stream.codec_context.extradata.startswith(b"\x00\x00")
        annexb = BitStreamFilterContext(f"{codec}_mp4toannexb", stream) if boxed else None
        for packet in c.demux(stream):
            if packet.size and packet.pts is not None:
                shift = round(done.shift / packet.time_base)  # the new file's muxer moves them as much again
                packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
                if packet.pts * packet.time_base >= done.until - float(packet.time_base) / 2:
                    if packet.is_keyframe:  # the last keyframe: what follows is not kept, and may be cut short
                        break
                    continue
                for p in annexb.filter(packet) if annexb else [packet]:
                    sink.write_packet(p)
