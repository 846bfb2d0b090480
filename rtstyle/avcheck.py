"""A/V integrity: what a written file really holds, checked against what the input holds.

Both sides are read from packets (no decoding, so it costs a fraction of a second even
for long renders): video timestamps and each audio stream's start and end. The input
is probed on its own, before the render starts (a file), or recorded packet by packet
as the source reads it (a stream URL, which is never opened twice for the check). So the
check does not trust the decoder that fed the pipeline nor what the sink chose to carry:
every audio stream of the input must be in the output, starting at the same time against
the video (a container may move the whole timeline: MPEG-TS, Matroska do).

Durations are judged by timestamps: the span from the first frame to the last, plus the
input's last frame duration on both sides (containers store that one differently: an
AVI gives the last frame the last gap, an MP4 the frame's own duration). A GIF is checked
against the frames it can show (no sound, none sooner than two hundredths after the last).
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av

from rtstyle import sequences

# Each at least what a packet of sound spans, the input's or the output's (an encoder's priming
# frame, the last one's padding): 128 ms for AAC at a phone's 8 kHz, 21 ms at 48 kHz.
AUDIO_TOLERANCE = 0.05   # seconds an audio stream's length may differ (cut at a packet boundary)
OFFSET_TOLERANCE = 0.03  # seconds an audio stream's first packet may move (one encoder's priming frame)
GIF_MIN_TICKS = 2  # a GIF frame's shortest delay, in hundredths: browsers show a shorter one for ten


def gif_tick(seconds: float, last: int | None) -> int | None:
    """The hundredth of a second a GIF shows a frame of time ``seconds`` at, or None when that is
    too soon after the frame kept before it (at tick ``last``): that frame is left out."""
    tick = round(seconds * 100)
    return tick if last is None or tick - last >= GIF_MIN_TICKS else None


def gif_times(times: list[float]) -> list[float]:
    """The frame times of a video that a GIF of it keeps (:func:`gif_tick`)."""
    kept: list[float] = []
    last = None
    for t in sorted(times):
        tick = gif_tick(t, last)
        if tick is not None:
            kept.append(t)
            last = tick
    return kept


@dataclass
class Probe:
    """Video packet times and audio stream spans of a media file, in seconds on its clock.

    ``origin`` is the container's start time, the zero a render maps to its output's zero.
    """

    origin: float = 0.0
    video_index: int | None = None
    video_times: list[float] = field(default_factory=list)  # packets with data, in file order
    last_duration: float = 0.0  # of the latest-shown video packet (0: not stored)
    audio_spans: dict[int, list[float]] = field(default_factory=dict)  # stream index -> [start, end]
    # stream index -> its packets' durations (s): how long a packet of its sound is (:attr:`audio_packets`)
    _durations: dict[int, list[float]] = field(default_factory=dict)
    # AVI stores no presentation times: a frame shows at its chunk's time, FFmpeg's dts. The pts
    # FFmpeg gives there are a parser's guess, one or more frames later (``pts_lead``).
    chunk_timed: bool = False
    gif: bool = False  # a GIF: no sound, frames at least two hundredths apart (gif_tick)
    # Video frames an MP4's edit list leaves out (a phone's trim): never shown, though the header
    # counts them (those from the keyframe on are decoded for what follows).
    hidden: int = 0
    # The audio streams are another file's (render --audio, :meth:`dub`): the video's own sound is not counted.
    dubbed: bool = False
    _preroll: dict[int, tuple[float, float]] = field(default_factory=dict)  # audio stream -> (start, duration)
    _heard: dict[int, float] = field(default_factory=dict)  # audio stream -> start of its first packet after a pre-roll
    _latest: float = float("-inf")
    _first_pts: float = float("inf")
    _first_dts: float = float("inf")

    def add(self, packet: av.Packet) -> None:
        """Record one demuxed packet (empty ones and those without a time carry no frame).

        Of the packets an edit list leaves out (a phone's trim), no video frame is seen, and of
        the sound only the last before each part that plays counts: the decoder's pre-roll
        (AAC's priming), which a render copies too (rtstyle.carry).
        """
        video = packet.stream.type == "video" and packet.stream.index == self.video_index
        if video and packet.is_discard:
            self.hidden += packet.size > 0
            return
        when = packet.pts if packet.pts is not None else packet.dts
        if video and self.chunk_timed and packet.dts is not None and packet.size:
            if packet.pts is not None:
                self._first_pts = min(self._first_pts, float(packet.pts * packet.time_base))
            when = packet.dts
            self._first_dts = min(self._first_dts, float(when * packet.time_base))
        if when is None or not packet.size:
            return
        start = float(when * packet.time_base)
        duration = float((packet.duration or 0) * packet.time_base)
        if video:
            if start >= self._latest:
                self._latest, self.last_duration = start, duration
            self.video_times.append(start)
        elif packet.stream.type == "audio" and not self.dubbed:
            index = packet.stream.index
            if packet.is_discard:
                self._preroll[index] = (start, duration)
                return
            if index in self._preroll:
                self._add_sound(index, *self._preroll.pop(index))
                self._heard.setdefault(index, start)
            self._add_sound(index, start, duration)

    def _add_sound(self, index: int, start: float, duration: float) -> None:
        span = self.audio_spans.setdefault(index, [start, start + duration])
        span[0], span[1] = min(span[0], start), max(span[1], start + duration)
        self._durations.setdefault(index, []).append(duration)

    @property
    def audio_packets(self) -> dict[int, float]:
        """How long each audio stream's packets are (seconds): the length nine in ten of them do not
        exceed. Not the longest: a writer that stretches a packet to its fragment's end (FFmpeg's
        fragmented MP4 without delay_moov: the last one 0.2 s) would widen every tolerance it sets,
        and a video 0.2 s late against its sound passed the check."""
        return {i: sorted(d)[(len(d) - 1) * 9 // 10] for i, d in self._durations.items()}

    @property
    def frames(self) -> int:
        return len(self.video_times)

    @property
    def pts_lead(self) -> float:
        """Seconds by which FFmpeg's video pts are later than the frames' times (AVI; else 0)."""
        if self._first_pts == float("inf") or self._first_dts == float("inf"):
            return 0.0
        return max(0.0, self._first_pts - self._first_dts)

    @property
    def video_seconds(self) -> float:
        """First frame to last, plus the last frame's own duration."""
        times = self.video_times
        return max(times) - min(times) + self.last_duration if times else 0.0

    @property
    def audio(self) -> list[float]:
        """Audio lengths in stream order."""
        return [end - start for start, end in (self.audio_spans[i] for i in sorted(self.audio_spans))]

    @property
    def audio_starts(self) -> list[float]:
        """Audio start times (first packet, a pre-roll one included) in stream order, from the
        origin. Encoders put their priming in front of the sound (AAC 1024 samples, MP3 1105),
        so a transcoded stream's first packet may move by up to one such frame while its sound
        stays put."""
        return [self.audio_spans[i][0] - self.origin for i in sorted(self.audio_spans)]

    @property
    def audio_heard(self) -> list[float]:
        """Where each audio stream is first heard, in stream order, from the origin: its first
        packet that an edit list does not leave out. A trim can fall inside a packet, so the
        pre-roll before it may start two packets early; a transcoded copy starts here."""
        return [self._heard.get(i, self.audio_spans[i][0]) - self.origin for i in sorted(self.audio_spans)]

    def dub(self, sound: Probe) -> None:
        """Take the audio streams of another file's probe in place of this one's (render --audio):
        moved onto this clock, its start at this origin. That sound ends where the video does, and
        :func:`verify` expects it cut there."""
        shift = self.origin - sound.origin
        self.audio_spans = {i: [start + shift, end + shift] for i, (start, end) in sound.audio_spans.items()}
        self._durations = {i: list(d) for i, d in sound._durations.items()}
        self._heard = {i: t + shift for i, t in sound._heard.items()}
        self._preroll = {}
        self.dubbed = True

    def add_streams(self, container: av.container.InputContainer) -> None:
        """Take the origin and the video stream from an open input."""
        self.origin = (container.start_time or 0) / av.time_base
        video = main_video(container)
        self.video_index = video.index if video else None
        if video is not None and "mov" in container.format.name.split(","):
            # Samples before the keyframe an edit list starts from are not even in FFmpeg's index.
            self.hidden = max(0, video.frames - len(video.index_entries))
        self.chunk_timed = container.format.name == "avi"
        self.gif = container.format.name == "gif"


def main_video(container: av.container.Container) -> av.video.stream.VideoStream | None:
    """The video stream a file is about: the first one that is not a cover picture (an MP4's
    'covr' or a Matroska image attachment, which FFmpeg shows as video streams); None for a
    file of sound with a cover (an .m4a, an .mp3 with its album art)."""
    return next((s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic), None)


def probe(path: str | Path | av.container.InputContainer, timeout: float | None = None) -> Probe:
    """Read every video and audio packet of a file, or of a container opened (and closed here),
    not decoding them; a damaged or cut file gives what could be read."""
    found = Probe()
    with path if isinstance(path, av.container.InputContainer) else av.open(str(path), timeout=timeout) as c:
        found.add_streams(c)
        video = main_video(c)
        wanted = ([video] if video else []) + list(c.streams.audio)
        if not wanted:
            return found
        try:
            for p in c.demux(wanted):
                found.add(p)
        except av.error.FFmpegError:
            pass  # a damaged or cut file: what was read so far
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
    pictures: bool = False  # an image sequence: frames only, no time, no sound

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        audio = ", ".join(f"{a:.2f} s" for a in self.audio_seconds) or "none"
        found = f"{self.frames} frames, video {self.video_seconds:.2f} s, audio {audio}" if not self.pictures else \
            f"{self.frames} pictures, one for each frame,"
        notes = f" ({'; '.join(self.notes)})" if self.notes else ""
        if self.ok:
            return f"ok: {found} match the input{notes}"
        return f"FAILED: {'; '.join(self.problems)}{notes}"


def _intervals(times: list[float]) -> list[float]:
    ordered = sorted(times)
    return [b - a for a, b in zip(ordered, ordered[1:])]


def _shifts(written: list[float], expected: list[float], rejected: int, frame: float) -> list[float]:
    """The offsets that may have moved the output's whole timeline against the input's.

    Muxers shift every stream alike: MPEG-TS starts after the B-frames' delay, Matroska moves
    negative times (AAC priming) to zero. The first frame written is the input's first, or,
    when the decoder rejected packets, one of the next ``rejected`` (the first 16 are tried):
    of those offsets, the ones that line up the most frames with the input's.
    """
    if not written or not expected:
        return [0.0]
    ordered = sorted(expected)
    first = min(written)

    def lined_up(shift: float) -> int:
        hits = 0
        for t in written:
            i = bisect.bisect_left(ordered, t - shift - frame / 4)
            hits += i < len(ordered) and ordered[i] <= t - shift + frame / 4
        return hits

    fits = {first - t: lined_up(first - t) for t in ordered[:min(rejected, 16) + 1]}
    best = max(fits.values())
    return [shift for shift, hits in fits.items() if hits == best]


def verify(output: str | Path, reference: Probe, rejected: int = 0, until: float | None = None,
           header_frames: int = 0, since: float = 0.0, decoder_delays: Sequence[float] = ()) -> AVCheck:
    """Check ``output`` against the input's ``reference`` probe.

    ``rejected``: input packets the decoder could not decode (their frames are missing).
    ``since``: a render of the input from this time on (seconds from its origin), which is
    the output's zero; ``until``: the last frame time of an interrupted render, or of one of
    part of the input (from the output's zero); the output is checked against that part of
    the input. Sound cut at ``since`` starts within one of its packets of it. ``header_frames``,
    the frame count the input declares, only annotates the result. ``decoder_delays``: for each
    audio stream written, how much later than its first packet its decoder gave sound (a
    transcoded stream starts there, as players hear the input; rtstyle.carry).
    """
    if sequences.is_pattern(output):
        return _verify_pictures(Path(output), reference, rejected, until, since)
    try:
        found = probe(output)
    except (av.error.FFmpegError, OSError) as e:
        return AVCheck(0, 0.0, [], [f"the output does not open: {e}"])
    found.origin = 0.0  # a render maps the input's origin to the output's zero
    times = [t - reference.origin for t in reference.video_times]
    if since:
        times = [t - since for t in times if t >= since - 1e-6]
    if until is not None:
        times = [t for t in times if t <= until + 1e-6]
    decoded = len(times) - rejected
    notes = []
    if found.gif:
        shown = gif_times(times)
        if len(shown) < len(times):
            notes.append(f"{len(times) - len(shown)} of {len(times)} frames left out, each less than "
                         f"{10 * GIF_MIN_TICKS} ms after the one before: a GIF shows none shorter")
        if reference.audio_spans:
            notes.append("a GIF has no sound")
        times = shown
    gaps = [g for g in _intervals(times) if g > 1e-6]
    frame = min(gaps) if gaps else reference.last_duration
    last = reference.last_duration or frame
    check = AVCheck(found.frames, found.video_seconds, found.audio, notes=notes)
    expected = len(times) - rejected
    if found.frames != expected:
        why = f" ({len(times)} in the input, {rejected} undecodable)" if rejected else ""
        check.problems.append(f"{found.frames} video frames written, {expected} expected{why}")
    if found.video_times and times:
        span_out = max(found.video_times) - min(found.video_times)
        span_in = max(times) - min(times)
        check.video_seconds = span_out + last
        if abs(span_out - span_in) > frame / 2 + 1e-3 and not rejected:
            check.problems.append(f"video lasts {span_out + last:.3f} s, the input's {span_in + last:.3f} s")
        short = [g for g in _intervals(found.video_times) if g < frame / 2]
        if short:
            check.problems.append(f"{len(short)} of {found.frames - 1} frame intervals are shorter than half "
                                  f"the input's shortest ({1000 * frame:.1f} ms): the timing was broken on the way")
    end = until + last if until is not None else None
    if end is None and reference.dubbed and times:  # another file's sound: cut where the video ends
        end = max(times) + last
    # Each input stream with sound in the part rendered (from the output's zero): one that ended
    # before the part starts, or starts after it ends, has none to carry.
    packets_in = reference.audio_packets
    streams = [(start - since, length, heard - since, packets_in.get(i, 0.0))
               for i, start, length, heard in zip(sorted(reference.audio_spans), reference.audio_starts,
                                                  reference.audio, reference.audio_heard)
               if start - since + length > 1e-6 and (end is None or start - since < end) and not found.gif]
    if len(found.audio) != len(streams):
        part = " with sound in the part rendered" if len(streams) < len(reference.audio) and not found.gif else ""
        check.problems.append(f"{len(found.audio)} audio streams written, the input has {len(streams)}{part}")
    # Sound is judged against the frames, as a player syncs it, whatever the container did to both.
    shifts = _shifts(found.video_times, times, rejected, frame)
    written = [length for _, length in sorted(found.audio_packets.items())]
    delays = list(decoder_delays) + [0.0] * len(streams)
    for i, (got, start, written_packet, delay, (start_in, want, heard, packet)) in enumerate(
            zip(found.audio, found.audio_heard, written, delays, streams)):
        delay = min(delay, 4 * packet)  # a decoder holds back a few packets at most
        start_in, want, heard = start_in + delay, want - delay, heard + delay
        sound = max(written_packet, packet)
        tolerance, offset_tolerance = max(AUDIO_TOLERANCE, 2 * sound), max(OFFSET_TOLERANCE, sound + 0.01)
        if since and start_in < 0:  # cut at a packet boundary at or before the output's zero
            want, start_in, heard = start_in + want, 0.0, 0.0
            tolerance, offset_tolerance = tolerance + packet, offset_tolerance + packet
        if found.chunk_timed and start_in > 0:  # AVI stores no start: silence comes before the sound
            want, start_in, heard = start_in + want, 0.0, 0.0
        if end is not None:  # cut at a packet boundary after the last frame (another file's: at one of its)
            want, tolerance = max(0.0, min(start_in + want, end) - start_in), tolerance + last
            tolerance += packet if reference.dubbed else 0.0
        if abs(got - want) > tolerance:
            check.problems.append(f"audio stream {i + 1} lasts {got:.3f} s, expected {want:.3f} s")
        start = min((start - shift for shift in shifts), key=lambda s: abs(s - heard))
        if abs(start - heard) > offset_tolerance:
            check.problems.append(f"audio stream {i + 1} starts at {start:.3f} s against the video, "
                                  f"the input's at {heard:.3f} s")
    if header_frames and header_frames - reference.hidden != decoded and until is None:
        check.notes.append(f"the input's header says {header_frames} frames, {decoded} could be decoded")
    return check


def _verify_pictures(pattern: Path, reference: Probe, rejected: int, until: float | None, since: float) -> AVCheck:
    """An image sequence written: one picture for each frame of the input's part rendered
    (pictures have no time to compare, and no sound)."""
    times = [t - reference.origin - since for t in reference.video_times]
    expected = len([t for t in times if t >= -1e-6 and (until is None or t <= until + 1e-6)]) - rejected
    written = sequences.numbers(pattern)
    check = AVCheck(len(written), 0.0, [], pictures=True)
    if len(written) != expected:
        check.problems.append(f"{len(written)} pictures named {pattern.name} written, {expected} expected")
    return check
