"""A/V integrity: what a written file really holds, checked against what went into it.

Read back from the file's packets (no decoding, so it costs a fraction of a second even
for long renders): the number of video frames and the time each stream spans. After
every render the renderer compares them with the input: the same frame count, video
within one frame, each audio stream within 50 ms. For a damaged input the reference is
what could be decoded, and the check says how that differs from the input's header.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import av

AUDIO_TOLERANCE = 0.05  # seconds


@dataclass
class Probe:
    """Video frames and stream spans (seconds) of a media file, from its packets."""

    frames: int = 0
    video_seconds: float = 0.0
    audio_seconds: dict[int, float] = field(default_factory=dict)  # by stream index

    @property
    def audio(self) -> list[float]:
        """Audio spans in stream order."""
        return [self.audio_seconds[i] for i in sorted(self.audio_seconds)]


def probe(path: str | Path) -> Probe:
    """Count video packets and measure each stream's span: first start to last end."""
    spans: dict[int, list[float]] = {}
    found = Probe()
    with av.open(str(path)) as c:
        video = c.streams.video[0] if c.streams.video else None
        wanted = ([video] if video else []) + list(c.streams.audio)
        if not wanted:
            return found
        try:
            for p in c.demux(wanted):
                if p.pts is None or not p.size:
                    continue
                start = float(p.pts * p.time_base)
                end = start + float((p.duration or 0) * p.time_base)
                span = spans.setdefault(p.stream.index, [start, end])
                span[0], span[1] = min(span[0], start), max(span[1], end)
                found.frames += p.stream is video
        except av.error.FFmpegError:
            pass  # a damaged or cut file: what was read so far
        for index, (start, end) in spans.items():
            if video is not None and index == video.index:
                found.video_seconds = end - start
            else:
                found.audio_seconds[index] = end - start
    return found


def playable_frames(path: str | Path) -> int:
    """Video frames a player would find in the file; 0 if it does not open as a video."""
    try:
        return probe(path).frames
    except (av.error.FFmpegError, OSError):
        return 0


@dataclass
class AVCheck:
    """Result of comparing an output with its input; ``problems`` is empty when they match."""

    frames: int
    video_seconds: float
    audio_seconds: list[float]
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the reference differs from the input's header

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        audio = ", ".join(f"{a:.2f} s" for a in self.audio_seconds) or "none"
        found = f"{self.frames} frames, video {self.video_seconds:.2f} s, audio {audio}"
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        if self.ok:
            return f"ok: {found} match the input{notes}"
        return f"FAILED: {'; '.join(self.problems)}{notes}"


def verify(output: str | Path, frames: int, video_seconds: float, frame_seconds: float,
           audio_seconds: list[float], header_frames: int = 0, audio_tolerance: float = AUDIO_TOLERANCE) -> AVCheck:
    """Check ``output`` against the reference: ``frames`` decoded spanning ``video_seconds``
    (one frame lasting ``frame_seconds``), and the spans of the audio streams carried over.

    ``header_frames``, the frame count the input declares, only annotates the result.
    """
    try:
        found = probe(output)
    except (av.error.FFmpegError, OSError) as e:
        return AVCheck(0, 0.0, [], [f"the output does not open: {e}"])
    check = AVCheck(found.frames, found.video_seconds, found.audio)
    if found.frames != frames:
        check.problems.append(f"{found.frames} video frames written, {frames} decoded")
    if abs(found.video_seconds - video_seconds) > frame_seconds + 1e-6:
        check.problems.append(f"video lasts {found.video_seconds:.3f} s, the input's {video_seconds:.3f} s")
    if len(found.audio) != len(audio_seconds):
        check.problems.append(f"{len(found.audio)} audio streams, {len(audio_seconds)} expected")
    for i, (got, want) in enumerate(zip(found.audio, audio_seconds)):
        if abs(got - want) > audio_tolerance:
            check.problems.append(f"audio stream {i + 1} lasts {got:.3f} s, expected {want:.3f} s")
    if header_frames and header_frames != frames:
        check.notes.append(f"the input's header says {header_frames} frames, {frames} could be decoded")
    return check
