"""The video codecs a render writes (render --codec), and how each is encoded.

H.264 is the default (VP9 in WebM, whose players take nothing else): every player, phone and
editing program reads it. HEVC makes smaller files at the same quality (a fifth smaller on the
sample clip, encoding 3-4x slower: docs/encoders.txt; phones and Apple devices play it; it is
tagged ``hvc1`` in MP4 and MOV, the tag QuickTime requires). ProRes
422 HQ is what editing programs take best: 10-bit 4:2:2 pictures, each encoded on its own, so
a timeline scrubs without decoding a group of frames (DaVinci Resolve's free version on Linux
reads no H.264 at all); an input with transparency becomes ProRes 4444 with its alpha, which
editing programs lay over other footage. VP9 is the web's open codec; in WebM (and Matroska) it
keeps an input's transparency too, as browsers and OBS play an overlay.
"""
from __future__ import annotations

from dataclasses import dataclass

from rtstyle.errors import SinkError


@dataclass(frozen=True)
class Codec:
    name: str                   # as --codec takes it
    encoder: str                # FFmpeg's encoder
    containers: frozenset[str]  # FFmpeg's names of the containers that take it
    suffixes: str               # those containers, as file names end (for messages)
    pix_fmt: str = "yuv420p"    # what the encoder is given
    min_side: int = 1           # the smallest frame side the encoder takes (the sink pads odd sides to even)
    alpha_pix_fmt: str | None = None  # with transparency kept (None: this codec keeps none here)
    alpha_containers: frozenset[str] = frozenset()  # those that keep it (MP4 drops VP9's, kept beside the picture)


CODECS = {codec.name: codec for codec in (
    Codec("h264", "libx264", frozenset({"mp4", "mov", "ipod", "matroska", "avi", "mpegts", "flv"}),
          ".mp4, .mov, .m4v, .mkv, .avi, .ts or .flv"),
    Codec("hevc", "libx265", frozenset({"mp4", "mov", "matroska", "mpegts"}), ".mp4, .mov, .mkv or .ts",
          min_side=16),
    Codec("vp9", "libvpx-vp9", frozenset({"webm", "matroska", "mp4"}), ".webm, .mkv or .mp4",
          alpha_pix_fmt="yuva420p", alpha_containers=frozenset({"webm", "matroska"})),
    Codec("prores", "prores_ks", frozenset({"mov", "matroska"}), ".mov or .mkv", pix_fmt="yuv422p10le",
          alpha_pix_fmt="yuva444p10le", alpha_containers=frozenset({"mov", "matroska"})),
)}
OUTPUT_SUFFIXES = ".mp4, .mov, .m4v, .mkv, .avi, .ts, .flv (H.264), .webm (VP9) or .gif"
# Containers whose players expect a codec of their own when none is asked for (else H.264).
OWN_CODEC = {"webm": "vp9"}
# MP4 and MOV name HEVC ``hvc1`` (parameter sets in the header): QuickTime and iPhones play no ``hev1``.
HEVC_TAG = {"mp4", "mov"}


def for_output(container: str, long_name: str, name: str, codec: str | None = None) -> Codec:
    """The codec a video file in ``container`` (FFmpeg's name; ``name`` is the file's) is
    written in: ``codec`` (a name of :data:`CODECS`), or the container's own. A SinkError says
    what to give instead when the container holds no video this writes, or not that codec."""
    if not any(container in c.containers for c in CODECS.values()):
        raise SinkError(f"cannot write video as {name} ({long_name}): give a file ending in {OUTPUT_SUFFIXES}")
    if codec is not None and codec not in CODECS:
        raise SinkError(f"no video codec {codec!r}: give one of {', '.join(CODECS)}")
    chosen = CODECS[codec or OWN_CODEC.get(container, "h264")]
    if container not in chosen.containers:
        raise SinkError(f"{name}: {long_name} does not hold {chosen.name.upper() if chosen.name != 'prores' else 'ProRes'}"
                        f" video: give a file ending in {chosen.suffixes}")
    return chosen


def by_encoder(encoder: str) -> Codec:
    return next(c for c in CODECS.values() if c.encoder == encoder)


def keeps_alpha(encoder: str, container: str) -> bool:
    """Whether a video written by ``encoder`` into ``container`` (FFmpeg's name) keeps the input's
    transparency: ProRes (4444), VP9 in WebM or Matroska."""
    return container in by_encoder(encoder).alpha_containers


def quality_options(encoder: str, crf: int, preset: str, alpha: bool = False) -> dict[str, str]:
    """Constant quality at ``crf`` (lower is better; on the codec's own scale), ProRes HQ's
    fixed quality (4444 with 16-bit alpha where ``alpha`` is kept). libvpx runs in its realtime
    mode, about as fast as x264's veryfast (1.8 against 2.0 ms a 384x288 frame, where its default
    mode took 29 ms: benchmarks/encoders.py, docs/encoders.txt)."""
    if encoder == "libvpx-vp9":
        return {"crf": str(crf), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    if encoder == "prores_ks":  # 422 HQ (4444), marked as Apple's encoder marks it
        return {"profile": "4", "alpha_bits": "16", "vendor": "apl0"} if alpha else {"profile": "3", "vendor": "apl0"}
    if encoder == "libx265":  # closed groups of pictures, as x264's: a segment of a render on Ray starts with
        # an IDR that no frame of it decodes before (with x265's open ones, frames of the joined video went missing)
        return {"crf": str(crf), "preset": preset, "x265-params": "log-level=error:open-gop=0"}
    return {"crf": str(crf), "preset": preset}


def container_options(container: str) -> dict[str, str]:
    """Encoder options a container needs: AVI stores no presentation times, so its frames
    cannot come out of order (no B-frames)."""
    return {"bf": "0"} if container == "avi" else {}
