"""The source's sound and subtitles carried into a video output, in step with its frames.

Or another file's sound in place of the source's (:class:`Soundtrack`, render --audio).

Each stream of a file is read through its own handle on it, a URL's from its one reading
(rtstyle.demux), and written up to the time the video has reached, so the file interleaves and
a render cut short ends with matching sound.
Audio is remuxed when its codec fits the container and transcoded otherwise (to AAC; to
Opus in WebM; to MP3, or AC-3 above two channels, in AVI); subtitles are remuxed, or text ones
written as the container's own text subtitles where it takes no other (:data:`TEXT_SUBTITLES`). Pictures
travel too where the container keeps them (:func:`carry_pictures`): a Matroska file's
attachments (the fonts its styled subtitles are drawn in) and a cover picture. So does the
file's own description (:func:`description`): the date and place a photo library files a
video by, its title; its chapters (:func:`chapters`), those of the part rendered; and its start
timecode (:func:`timecode`), which editing programs line clips up by.
"""
from __future__ import annotations

import contextlib
import io
import itertools
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.bitstream import BitStreamFilterContext

from rtstyle.avcheck import main_video
from rtstyle.demux import SharedDemux
from rtstyle.errors import SourceError
from rtstyle.sources import STREAM_TIMEOUT, frame_rate, stream_timeout

# Tags that describe how the input was written, not what it shows: the output says its own.
ENCODING_TAGS = {"encoder", "major_brand", "minor_version", "compatible_brands", "duration",
                 # An MXF's identification (the program that wrote it, its IDs), as a pro camera's file says it.
                 "operational_pattern_ul", "uid", "generation_uid", "company_name", "product_name", "product_uid",
                 "product_version", "product_version_num", "toolkit_version_num", "application_platform",
                 "material_package_umid",
                 "timecode"}  # the first frame's, which :func:`timecode` gives the output (a part's moved on)
# Where an iPhone keeps the place a video was shot (a QuickTime key); MP4's own is "location" (©xyz).
APPLE_LOCATION = "com.apple.quicktime.location.iso6709"

# The mov muxer's files (.mp4, .mov, .m4v): an AAC stream's configuration goes in their header.
MOV_FAMILY = {"mp4", "mov", "ipod"}
# Audio codecs that MP4/MOV players accept as they are; anything else becomes AAC.
MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
# QuickTime's own PCM too, as cameras record it and editing programs take it: kept as recorded.
MOV_AUDIO = MP4_AUDIO | {"pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_s32be", "pcm_f32le",
                         "pcm_f32be", "pcm_alaw", "pcm_mulaw"}
# What the streaming containers (FLV for RTMP, MPEG-TS) and their receivers take as it is.
STREAM_AUDIO = {"aac", "mp3"}
# WebM takes Opus and Vorbis sound only; anything else becomes Opus.
WEBM_AUDIO = {"opus", "vorbis"}
# AVI times the sound it knows by its frames: MP3, MP2, AC-3 and PCM. AAC it times by bytes when
# the stream does not say its frame size (an AVI's own AAC), so that becomes MP3, as anything else.
AVI_AUDIO = {"mp3", "mp2", "ac3", "pcm_s16le", "pcm_u8"}
# The channel layouts Opus encodes (Vorbis's orders: a film's AC-3 "5.1(side)" was refused), by
# channel count; PyAV's encoder remaps the decoded sound to the layout asked.
OPUS_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def _copyable_audio(container: str) -> set[str] | None:
    """Audio codecs the container takes without transcoding; None: any (Matroska)."""
    if container == "webm":
        return WEBM_AUDIO
    if container == "avi":
        return AVI_AUDIO
    if "matroska" in container:
        return None
    if container == "mov":
        return MOV_AUDIO
    return STREAM_AUDIO if container in ("flv", "mpegts") else MP4_AUDIO


# Each container's text subtitles, which another's are written as when it cannot hold them as they
# are (a film's SubRip or ASS into MP4, an iPhone's mov_text into Matroska): the words in bold,
# italics and underline kept, the rest of the styling (fonts, colours, places) left out.
TEXT_SUBTITLES = {"mp4": "mov_text", "mov": "mov_text", "ipod": "mov_text", "matroska": "subrip", "webm": "webvtt"}
TEXT_CODECS = {"mov_text", "ass", "subrip", "webvtt", "text"}  # not DVD's and Blu-ray's pictures
BOLD, ITALIC, UNDERLINE = 1, 2, 4  # mov_text's face-style flags, the styles every text format keeps
_TAGS = {"b": BOLD, "i": ITALIC, "u": UNDERLINE}  # SubRip's and WebVTT's tags, ASS's override letters
_HTML = re.compile(r"<(/?)([a-z]+)[^>]*>", re.IGNORECASE)  # SubRip's <i>, </i>, <font ...>; WebVTT's <c.x>
_ASS_BLOCK = re.compile(r"\{([^}]*)\}")
_ASS_STYLE = re.compile(r"\\([biu])(\d+)|\\r")
# The ASS header FFmpeg's mov_text encoder makes the sample description of: the font table and the
# default style (white Arial) that Apple's players read a text track by (ours was written empty).
MOV_TEXT_HEADER = ("[Script Info]\r\nScriptType: v4.00+\r\nPlayResX: 384\r\nPlayResY: 288\r\n\r\n[V4+ Styles]\r\n"
                   "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, "
                   "Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, "
                   "Alignment, MarginL, MarginR, MarginV, Encoding\r\nStyle: Default,Arial,16,&Hffffff,&Hffffff,&H0,"
                   "&H0,0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,0\r\n\r\n[Events]\r\nFormat: Layer, Start, End, "
                   "Style, Name, MarginL, MarginR, MarginV, Effect, Text\r\n").encode()
Runs = list[tuple[str, int]]  # a cue's words, lines apart, in runs of one style (BOLD | ITALIC | UNDERLINE)


def _subtitle_runs(codec: str, payload: bytes) -> Runs:
    """The words of one cue of a text subtitle ``codec`` (TEXT_CODECS) and their styles."""
    if codec == "mov_text":  # the text's length (two bytes), the text, then boxes: 'styl' holds the styles
        size = int.from_bytes(payload[:2], "big")
        return _mov_text_runs(payload[2:2 + size].decode("utf-8", "replace"), payload[2 + size:])
    if codec == "ass":  # ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect, Text
        text = payload.decode("utf-8", "replace").split(",", 8)[-1].replace("\\N", "\n").replace("\\n", "\n")
        return _styled(text, _ASS_BLOCK, _ass_style)
    return _styled(payload.decode("utf-8", "replace"), _HTML, _tag_style)


def _styled(text: str, marks: re.Pattern, restyle: Callable[[re.Match, int], int]) -> Runs:
    """``text`` cut at each of its style ``marks`` (tags, override blocks), which are left out
    and change the style of the words after them as ``restyle`` says."""
    runs, style, at = [], 0, 0
    for mark in marks.finditer(text):
        if mark.start() > at:
            runs.append((text[at:mark.start()], style))
        style, at = restyle(mark, style), mark.end()
    return runs + ([(text[at:], style)] if at < len(text) else [])


def _tag_style(tag: re.Match, style: int) -> int:
    """After SubRip's or WebVTT's tag: <i> adds italics, </i> ends them; others change nothing."""
    flag = _TAGS.get(tag.group(2).lower(), 0)
    return style & ~flag if tag.group(1) else style | flag


def _ass_style(block: re.Match, style: int) -> int:
    """After an ASS override block: {\\i1} adds italics, {\\i0} ends them, {\\r} ends all."""
    for letter, value in _ASS_STYLE.findall(block.group(1)):
        if not letter:
            style = 0
        else:
            style = style & ~_TAGS[letter] if value == "0" else style | _TAGS[letter]
    return style


def _mov_text_runs(text: str, boxes: bytes) -> Runs:
    """mov_text's words in runs, from its 'styl' box's records (character ranges, face-style flags)."""
    styles = [0] * len(text)
    while len(boxes) >= 8:
        size = int.from_bytes(boxes[:4], "big")
        if boxes[4:8] == b"styl":
            for at in range(10, 10 + 12 * int.from_bytes(boxes[8:10], "big"), 12):
                start, end = int.from_bytes(boxes[at:at + 2], "big"), int.from_bytes(boxes[at + 2:at + 4], "big")
                for char in range(start, min(end, len(text))):
                    styles[char] = boxes[at + 6] & (BOLD | ITALIC | UNDERLINE)
        boxes = boxes[max(size, 8):]
    return [("".join(char for char, _ in run), style)
            for style, run in itertools.groupby(zip(text, styles), key=lambda pair: pair[1])]


def _subtitle_payload(codec: str, runs: Runs, default_style: bytes = b"") -> bytes:
    """One cue as ``codec`` (TEXT_SUBTITLES) stores it: SubRip's and WebVTT's words with their
    tags, mov_text's length, words and a 'styl' box of records, each the sample description's
    ``default_style`` record (font, size, colour) with the run's flags."""
    if codec != "mov_text":
        return "".join("".join(f"<{tag}>" for tag, flag in _TAGS.items() if style & flag) + words +
                       "".join(f"</{tag}>" for tag, flag in reversed(_TAGS.items()) if style & flag)
                       for words, style in runs).encode("utf-8")
    data, records, at = "".join(words for words, _ in runs).encode("utf-8"), b"", 0
    for words, style in runs:
        if style and len(default_style) == 12:
            records += (at.to_bytes(2, "big") + (at + len(words)).to_bytes(2, "big") + default_style[4:6]
                        + bytes([style]) + default_style[7:])
        at += len(words)
    box = b"styl" + (len(records) // 12).to_bytes(2, "big") + records
    return len(data).to_bytes(2, "big") + data + ((len(box) + 4).to_bytes(4, "big") + box if records else b"")


# The outputs a stream that the one asked for cannot hold is suggested for, in this order.
SUGGESTED_OUTPUTS = {"matroska": "an .mkv", "mp4": "an .mp4", "mov": "a .mov", "webm": "a .webm"}


def outputs_taking(stream: av.stream.Stream, besides: str) -> str:
    """A hint naming the outputs that keep ``stream``, other than the container ``besides``: those
    whose muxer takes it as it is, and for text subtitles those with text subtitles of their own
    (DVD's picture subtitles go into no MP4: not "try an .mp4")."""
    text = stream.type == "subtitle" and stream.codec_context.codec.canonical_name in TEXT_CODECS
    taking = [name for container, name in SUGGESTED_OUTPUTS.items()
              if container != besides and (text and container in TEXT_SUBTITLES or _muxer_takes(stream, container))]
    if not taking:
        return ""
    return f" (try {', '.join(taking[:-1]) + ' or ' + taking[-1] if len(taking) > 1 else taking[0]} output)"


def _muxer_takes(stream: av.stream.Stream, container: str) -> bool:
    """Whether FFmpeg's muxer writes the stream as it is: of the codecs players take, it refuses
    some in some containers (MOV: Opus and FLAC, which are MP4's; .m4v: MP3; Matroska: A-law,
    AMR), and the render failed, or dropped the sound, instead of transcoding it."""
    try:
        with av.open(io.BytesIO(), "w", format=container) as trial:
            trial.add_stream_from_template(stream)
            trial.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError):
        return False


class StreamCarrier:
    """Copies one audio or subtitle stream of the source into the output, on demand up to a time.

    Audio is remuxed when its codec fits the container and transcoded otherwise (AAC; Opus in
    WebM; MP3 or AC-3 in AVI); subtitles are remuxed, text ones converted to the container's own
    where it takes no other, so only a container that takes their codec or has text subtitles can
    carry them (``ValueError`` otherwise). Each carrier reads a file through its own handle, a
    URL from the source's one reading of it (a :class:`SharedDemux`).
    """

    def __init__(self, source: str | SharedDemux, index: int, output: av.container.OutputContainer, start_time: float,
                 timeout: float = STREAM_TIMEOUT, part: bool = False, ends_with_video: bool = False,
                 length: float | None = None):
        """``part``: the render starts after the source does (at ``start_time``); ``length``: it ends
        that many seconds later (render --duration; None: with the video)."""
        # Another file's sound (a Soundtrack) ends where the video does, even when the render is complete.
        self.ends_with_video = ends_with_video
        # AVI stores no start time for a stream: sound that starts after the video is given
        # silence before it (so it is transcoded), and a negative start (AAC's priming) would move
        # every stream of the file by a video tick, so there the sound starts at zero.
        self.avi = output.format.name == "avi"
        self.output = output
        self.offset = start_time
        self.written_until = 0.0
        self.done = False
        self.pending: list[av.Packet] = []  # read after a pre-roll packet, given out next
        self.next_sample: int | None = None  # a transcoded stream's next timestamp (samples)
        # Seconds from a transcoded stream's first packet to its first decoded sound: the decoder's
        # own delay (WMA's: two packets, 92 ms), which the sound keeps, as players decode it.
        self.decoder_delay = 0.0
        self.first_packet: float | None = None  # seconds: the first packet written
        self.lead: int | None = None if self.avi else 0  # AVI: found from the first packet
        self.cut_at: float | None = None  # seconds: a transcoded stream's sound ends here exactly (finish)
        self.adts: BitStreamFilterContext | None = None  # strips ADTS headers for an MP4 (:meth:`_unwrap_adts`)
        # A stream that stalls ends the carried stream (as a read error does) instead of hanging the render.
        with contextlib.ExitStack() as opened:  # the input is closed again if the stream cannot be added
            self.input = opened.enter_context(opening(source, timeout))
            self.in_stream = self.input.streams[index]
            self.decoder = self.in_stream.codec_context
            self.index, self.kind = index, self.in_stream.type  # kept: the stream dies with its closed input
            self.codec = self.in_stream.codec_context.codec.canonical_name  # the format's, not its decoder's (mp3float)
            self.remux = self._copied(output.format.name)
            self.text_as = self._text_as(output.format.name)
            if isinstance(source, SharedDemux):  # a URL reads on from its start
                self.packets: Iterator[av.Packet] = opened.enter_context(contextlib.closing(source.subscribe(index)))
                if not self.packets.first:  # the stream's decoder would be fed every packet twice
                    self.decoder = _decoder_like(self.in_stream)
            else:
                if part:  # a part of a file: its packets from there
                    with contextlib.suppress(av.error.FFmpegError):
                        self.input.seek(math.floor(start_time / self.in_stream.time_base), stream=self.in_stream,
                                        backward=True)
                self.packets = self.input.demux(self.in_stream)
            # Read, not yet written: the first packets of a part, or the first one when the part ends early.
            self.queue: list[av.Packet] = self._from_zero() if part else self._first() if length is not None else []
            # No sound in the part (it ended before the part starts, or starts after it ends): no empty
            # stream in the output (Matroska and WebM would list one), a note instead: why ("" when it has).
            self.empty = ""
            if (part or length is not None) and not self.queue:
                self.empty = "ends before the part rendered starts"
            elif length is not None and self._time(self.queue[0]) >= length - 1e-6:
                self.empty = "starts after the part rendered ends"
            if not self.empty:
                self._add_to(output)
            self._opened = opened.pop_all()

    def _copied(self, container: str) -> bool:
        """Whether the stream goes in as it is (else its sound is encoded again)."""
        stream, codec, copyable = self.in_stream, self.codec, _copyable_audio(container)
        late = stream.start_time is not None and float(stream.start_time * stream.time_base) > self.offset + 1e-3
        if stream.type != "audio":
            return True
        # MP3 below 32 kHz (MPEG-2's half frames) FFmpeg's AVI muxer marks as of fixed-size samples,
        # and players then time it by its bytes: copied, a 2 s sound played in 0.7 s.
        half_frames = self.avi and codec == "mp3" and stream.codec_context.sample_rate < 32000
        return (copyable is None or codec in copyable) and not (self.avi and late) and not half_frames \
            and _muxer_takes(stream, container)

    def _text_as(self, container: str) -> str | None:
        """The container's own text subtitle codec, for text subtitles it cannot hold as they are."""
        stream = self.in_stream
        if stream.type != "subtitle" or self.codec not in TEXT_CODECS or _muxer_takes(stream, container):
            return None
        return TEXT_SUBTITLES.get(container)

    def _add_to(self, output: av.container.OutputContainer) -> None:
        stream, codec = self.in_stream, self.codec
        ctx = stream.codec_context
        if self.text_as:
            if self.text_as == "mov_text":  # through the encoder: it writes the sample description players read
                self.out_stream = output.add_stream("mov_text")
                self.out_stream.codec_context.subtitle_header = MOV_TEXT_HEADER
                self.out_stream.codec_context.open()
            else:
                self.out_stream = output.add_mux_stream(self.text_as)
            self.out_stream.time_base = stream.time_base
            self.action = f"converted {codec} -> {self.text_as}"
        elif self.remux:
            self.out_stream = output.add_stream_from_template(stream)
            self.action = f"copied ({codec})"
            if codec == "aac" and not ctx.extradata and output.format.name in MOV_FAMILY:
                self._unwrap_adts()
        else:
            channels = ctx.channels or 2
            # Some demuxers give only a channel count; the encoders need a named layout.
            layout = {1: "mono", 2: "stereo"}.get(channels, ctx.layout.name)
            if output.format.name == "webm":  # Opus runs at 48 kHz: PyAV's encoder resamples to it
                encoder, rate, target = "libopus", 48000, "opus"
                layout = OPUS_LAYOUTS[min(channels, 8)]
            elif self.avi:  # LAME takes up to two channels at the MPEG rates; AC-3 takes surround
                encoder, target = ("libmp3lame", "mp3") if channels <= 2 else ("ac3", "ac3")
                rate = ctx.sample_rate if ctx.sample_rate in (32000, 44100, 48000) else 48000
                layout = "5.1(side)" if channels > 6 else layout  # AC-3's most: 7.1 is mixed down
            else:
                encoder, rate, target = "aac", ctx.sample_rate or 48000, "aac"
            self.out_stream = output.add_stream(encoder, rate=rate, layout=layout)
            self.action = f"transcoded {codec} -> {target}"
        # What a player's track menu shows and picks by: the language, the name, the role (the
        # default track, a commentary, forced subtitles). A copied stream lost them all, as FFmpeg's
        # command line keeps them.
        self.out_stream.metadata.update({k.lower(): v for k, v in stream.metadata.items()
                                         if k.lower() in ("language", "title")})
        self.out_stream.disposition = stream.disposition

    def _unwrap_adts(self) -> None:
        """AAC in ADTS frames (an MPEG-TS's, a .aac file's) carries its configuration in every
        frame's header; an MP4 or MOV wants it once, in its header, and the frames bare. FFmpeg's
        muxer converts them itself, but not while writing fragments (rtstyle.fragments): it
        refused the first frame. So the configuration is read from the first frame here, before
        the header is written, and every frame loses its header on the way (aac_adtstoasc)."""
        if not self.queue:
            self.queue = self._first()
        first = bytes(self.queue[0]) if self.queue else b""
        if len(first) > 3 and first[0] == 0xFF and first[1] & 0xF0 == 0xF0:
            self.out_stream.codec_context.extradata = audio_specific_config(first)
            self.adts = BitStreamFilterContext("aac_adtstoasc", self.in_stream)

    def _next_packet(self) -> av.Packet | None:
        """The next packet with data and a time. Of those an edit list leaves out (a phone's trim),
        a copied stream keeps only the last before each part that plays: the decoder's pre-roll
        (AAC's priming), left out by the output's own edit list or within one frame of zero."""
        if self.pending:
            return self.pending.pop()
        preroll: av.Packet | None = None
        while True:
            try:
                p = next(self.packets)
            except (StopIteration, av.error.FFmpegError):
                self.done = True
                return None
            if p.dts is None or not p.size:
                continue
            if self.remux and p.is_discard:
                preroll = p
                continue
            if preroll is None:
                return p
            self.pending.append(p)
            return preroll

    def _time(self, p: av.Packet) -> float:
        return float(p.pts * p.time_base) - self.offset if p.pts is not None else self.written_until

    def _from_zero(self) -> list[av.Packet]:
        """The first packets of a part of the source: those from the output's zero on, after the
        one that spans zero (by its duration, or, where none is stored, by the next one's start)."""
        before: av.Packet | None = None
        while (p := self._next_packet()) is not None:
            pt = self._time(p)
            if pt >= -1e-6:
                ends = self._time(before) + float(before.duration * before.time_base) if before and before.duration \
                    else pt
                return ([before] if before and ends > 1e-6 else []) + [p]
            before = p
        return []

    def _first(self) -> list[av.Packet]:
        """The stream's first packet (to see where its sound starts), or none."""
        p = self._next_packet()
        return [] if p is None else [p]

    def advance_to(self, t: float | None) -> None:
        """Write the packets that start before ``t`` seconds (all of them when ``t`` is None)."""
        while self.queue or not self.done:
            p = self.queue.pop(0) if self.queue else self._next_packet()
            if p is None:
                break
            pt = self._time(p)
            if t is not None and pt + self._held(p) >= t:
                self.queue.insert(0, p)
                return
            self._write(p, pt)

    def _held(self, p: av.Packet) -> float:
        """How much earlier than the time written up to a packet must start to be written now:
        its duration for a transcoded sound that ends with the video, until the video's end is
        known (:meth:`finish` cuts the packet that spans it); 0 for others."""
        if self.ends_with_video and not self.remux and self.cut_at is None and p.duration:
            return float(p.duration * p.time_base)
        return 0.0

    def _write(self, p: av.Packet, pt: float) -> None:
        if self.first_packet is None and not p.is_discard:  # (an edit list's pre-roll: the decoder skips it)
            self.first_packet = pt
        shift = round(self.offset / p.time_base)
        if self.text_as:  # the cue's words in the output's text codec, at its time
            default_style = self.out_stream.codec_context.extradata[18:30] if self.text_as == "mov_text" else b""
            cue = av.Packet(_subtitle_payload(self.text_as, _subtitle_runs(self.codec, bytes(p)), default_style))
            cue.pts, cue.dts, cue.duration, cue.time_base = p.pts, p.dts, p.duration, p.time_base
            p = cue
        if self.kind == "subtitle" and p.pts < shift:  # a cue on screen when the part starts: shown from its zero
            p.duration = max(0, p.duration - (shift - p.pts)) if p.duration else p.duration
            p.pts = p.dts = shift
        if self.remux:
            p.pts, p.dts = p.pts - shift, p.dts - shift  # negative for AAC priming: kept
            copied = self.adts.filter(p) if self.adts else [p]
            for packet in copied:
                packet.stream = self.out_stream
            self._mux(copied)
        else:
            try:
                frames = self.decoder.decode(p)
            except av.error.FFmpegError:
                return
            for f in frames:
                # Numbered without gaps, as the AAC encoder's buffer wants, from the first decoded
                # sample's time: the sound starts when the input's does, not at zero.
                if self.next_sample is None:
                    first = float(f.pts * f.time_base) - self.offset if f.pts is not None else pt
                    self.next_sample = round(first * f.sample_rate)
                    heard = self.first_packet if self.first_packet is not None else pt
                    self.decoder_delay = max(0.0, first - heard)
                    if self.avi and self.next_sample > 0:  # AVI: the sound starts at zero, so with silence
                        self._mux(self.out_stream.encode(_silence(f, self.next_sample)))
                if self.cut_at is not None:
                    f = _cut(f, round(self.cut_at * f.sample_rate) - self.next_sample)
                    if f is None:
                        continue
                f.pts, f.time_base = self.next_sample, Fraction(1, f.sample_rate)
                self.next_sample += f.samples
                self._mux(self.out_stream.encode(f))
        self.written_until = pt

    def _mux(self, packets: list[av.Packet]) -> None:
        for p in packets:
            if self.lead is None:
                self.lead = max(0, -min(p.pts, p.dts))
            p.pts, p.dts = p.pts + self.lead, p.dts + self.lead
            self.output.mux(p)

    def finish(self, until: float | None) -> None:
        """Write the rest, or what starts before ``until`` seconds: a copied packet whole, a
        transcoded stream's sound cut exactly there."""
        self.cut_at = until
        self.advance_to(until)
        if not self.remux:
            self._mux(self.out_stream.encode(None))

    def close(self) -> None:
        self._opened.close()


@dataclass(frozen=True)
class Soundtrack:
    """Another file's sound in place of the input's (render --audio): music, or the mixdown made
    for an image sequence. It starts with the input, so a render from ``since`` seconds into the
    input takes the sound from ``since`` too, and it ends with the video (a song outlasts a clip)."""

    path: str
    since: float = 0.0

    @property
    def name(self) -> str:
        return Path(self.path).name


def opening(source: str | SharedDemux, timeout: float = STREAM_TIMEOUT) -> contextlib.AbstractContextManager:
    """The input, to read what it holds: a file opened for it (closed after), a URL's one reading
    as it is (rtstyle.demux: a second connection would download it again, or be refused)."""
    if isinstance(source, SharedDemux):
        return contextlib.nullcontext(source.container)
    return av.open(source, "r", timeout=stream_timeout(source, timeout))


def named(source: str | SharedDemux) -> str:
    """How messages name the input: a file by its name, a URL as given."""
    return source.name if isinstance(source, SharedDemux) else Path(source).name


def _decoder_like(stream: av.stream.Stream) -> av.CodecContext:
    """A decoder of its own for an audio ``stream``'s packets, set up as the stream's."""
    ctx = stream.codec_context
    decoder = av.CodecContext.create(ctx.codec.name, "r")
    if ctx.extradata:
        decoder.extradata = ctx.extradata
    decoder.sample_rate, decoder.layout = ctx.sample_rate, ctx.layout
    return decoder


def sound_streams(path: str, timeout: float = STREAM_TIMEOUT) -> tuple[float, list[int]]:
    """The start time (seconds) and the audio streams of a soundtrack file; a SourceError when it
    does not open or has no sound."""
    try:
        with av.open(path, timeout=stream_timeout(path, timeout)) as probe:
            origin, streams = (probe.start_time or 0) / av.time_base, [s.index for s in probe.streams.audio]
    except (OSError, av.error.FFmpegError) as e:
        raise SourceError(f"cannot read {Path(path).name}: {e}") from None
    if not streams:
        raise SourceError(f"{Path(path).name} has no sound to put under the video (--audio takes a file with "
                          "an audio stream)")
    return origin, streams


def audio_specific_config(adts: bytes) -> bytes:
    """The two-byte AudioSpecificConfig (ISO/IEC 14496-3) that an ADTS frame's header says:
    object type (the header's profile + 1), sampling frequency index, channel configuration."""
    profile, frequency = adts[2] >> 6, (adts[2] >> 2) & 0x0F
    channels = (adts[2] & 0x01) << 2 | adts[3] >> 6
    return ((profile + 1) << 11 | frequency << 7 | channels << 3).to_bytes(2, "big")


def _cut(frame: av.AudioFrame, samples: int) -> av.AudioFrame | None:
    """The first ``samples`` of ``frame`` (all of it when it has no more; None for none)."""
    if samples >= frame.samples:
        return frame
    if samples <= 0:
        return None
    planes = frame.to_ndarray()  # planar: a row per channel; packed: one row of interleaved samples
    width = samples * (1 if frame.format.is_planar else len(frame.layout.channels))
    cut = av.AudioFrame.from_ndarray(planes[:, :width].copy(), format=frame.format.name, layout=frame.layout.name)
    cut.sample_rate = frame.sample_rate
    return cut


def _silence(like: av.AudioFrame, samples: int) -> av.AudioFrame:
    """``samples`` of silence in the format of ``like``, timed from zero."""
    silent = av.AudioFrame(format=like.format.name, layout=like.layout.name, samples=samples)
    quiet = 128 if like.format.name.startswith("u8") else 0  # unsigned 8-bit is centred on 128
    for plane in silent.planes:
        plane.update(bytes([quiet]) * plane.buffer_size)
    silent.sample_rate, silent.pts, silent.time_base = like.sample_rate, 0, Fraction(1, like.sample_rate)
    return silent


COVER_TYPES = {"mjpeg": ("image/jpeg", "jpg"), "png": ("image/png", "png")}
# Containers whose muxers write chapters (MP4 and MOV as a chapter track of titles); AVI and MPEG-TS keep none.
CHAPTER_CONTAINERS = {"matroska", "webm", "mp4", "mov", "ipod"}
AVDISCARD_ALL = 48  # FFmpeg's mark on a stream its demuxer reads for itself


def chapters(source: av.container.InputContainer, start_time: float, length: float | None) -> list[dict]:
    """The source's chapters (an editing program's or a recorder's marks, each with its title) on the
    output's clock, whose zero is ``start_time`` on the source's; a part ``length`` seconds long
    keeps those that overlap it, cut at its ends."""
    kept = []
    for mark in source.chapters():
        tb = mark["time_base"]
        shift = round(start_time / tb)
        start, end = max(0, mark["start"] - shift), mark["end"] - shift
        if length is not None:
            end = min(end, round(length / tb))
        if end > start:
            kept.append({**mark, "id": len(kept) + 1, "start": start, "end": end})
    return kept


# Containers that keep a start timecode (MP4 and MOV as a timecode track, Matroska and WebM as a tag).
TIMECODE_CONTAINERS = {"mov", "mp4", "ipod", "matroska", "webm"}
_TIMECODE = re.compile(r"(\d+):(\d\d):(\d\d)([:;.,])(\d+)")


def timecode(source: av.container.InputContainer, start_time: float) -> str | None:
    """The timecode of the output's first frame: the source's start timecode (a camera's, which
    editing programs line clips up by) moved on to ``start_time`` on the source's clock (a part's
    first frame); None without one."""
    video = main_video(source)
    if video is None:
        return None
    said = next((v for k, v in [*video.metadata.items(), *source.metadata.items()] if k.lower() == "timecode"), None)
    match = _TIMECODE.fullmatch(said.strip()) if said else None
    if match is None:
        return None
    rate = frame_rate(video)
    hours, minutes, seconds, mark, frame = match.groups()
    fps = max(1, round(rate))
    # Drop-frame (29.97 and 59.94 fps, marked ';'): two or four numbers a minute are skipped, but every tenth.
    drop = fps // 15 if mark in ";," and fps in (30, 60) else 0
    passed = int(hours) * 60 + int(minutes)
    number = (passed * 60 + int(seconds)) * fps + int(frame) - drop * (passed - passed // 10)
    number += round((start_time - (source.start_time or 0) / av.time_base) * rate)
    if drop:  # back to a drop-frame count, as FFmpeg's av_timecode_adjust_ntsc_framenum2
        ten_minutes = fps * 600 - 9 * drop
        tens, rest = divmod(number, ten_minutes)
        number += 9 * drop * tens + drop * (max(0, rest - drop) // (ten_minutes // 10))
    seconds_in = number // fps
    return f"{seconds_in // 3600 % 24:02d}:{seconds_in // 60 % 60:02d}:{seconds_in % 60:02d}{mark}{number % fps:02d}"


def is_timecode_track(stream: av.stream.Stream) -> bool:
    """An MP4 or MOV file's timecode track (a data stream): carried as the output's timecode."""
    return stream.type == "data" and any(k.lower() == "timecode" for k in stream.metadata)


def is_chapter_track(stream: av.stream.Stream) -> bool:
    """An MP4 or MOV file's chapter titles, which FFmpeg shows as a data stream it reads for itself
    (into the file's chapters): no media to carry over."""
    return stream.type == "data" and stream.discard == AVDISCARD_ALL


def description(source: av.container.InputContainer) -> dict[str, str]:
    """The input file's tags for the output, as FFmpeg's command line copies them: the
    recording date (``creation_time``), the place (``location``, also from an iPhone's own key,
    which MP4 and Matroska muxers do not write), title, artist, comment; not the old file's encoding
    (an MXF's identification of its writer neither)."""
    tags = {k: v for k, v in source.metadata.items() if k.lower() not in ENCODING_TAGS}
    place = next((v for k, v in tags.items() if k.lower() == APPLE_LOCATION), None)
    if place and not any(k.lower() == "location" for k in tags):
        tags["location"] = place
    return tags


def left_out(source: str | SharedDemux, output: str) -> list[str]:
    """One note for each stream of ``source`` that ``output`` ("a GIF") cannot hold: all but the video."""
    try:
        with opening(source) as probe:
            video = main_video(probe)
            return [f"{s.type} stream {s.index} ({s.codec_context.name if s.codec_context else 'data'}) left out: "
                    f"{output} {'has no sound' if s.type == 'audio' else 'holds only pictures'}"
                    for s in probe.streams if (video is None or s.index != video.index) and not is_chapter_track(s)]
    except (OSError, av.error.FFmpegError) as e:
        raise SourceError(f"cannot read {named(source)}: {e}") from None


def is_picture(stream: av.stream.Stream) -> bool:
    """An attachment (a font...) or a cover picture, which FFmpeg shows as a video stream
    marked as an attached picture (an MP4's 'covr', a Matroska image attachment)."""
    return stream.type == "attachment" or bool(stream.disposition & av.stream.Disposition.attached_pic)


def carry_pictures(source: av.container.InputContainer, output: av.container.OutputContainer,
                   main: int | None) -> tuple[list[av.Packet], list[str]]:
    """Add the source's attachments and cover pictures to ``output`` where its container keeps
    them: Matroska takes both as attachments (fonts, cover.jpg), MP4 a cover as its 'covr'
    picture. Returns the cover packets to write once (MP4), and a note for each left out.

    ``main`` is the index of the video stream rendered; other video streams marked as an
    attached picture are covers (FFmpeg shows an MP4's 'covr' and a Matroska image attachment so).
    """
    kind = output.format.name
    packets: list[av.Packet] = []
    notes: list[str] = []
    for stream in source.streams:
        if not is_picture(stream) or stream.index == main:
            continue
        cover = stream.type == "video"
        what = f"cover picture (stream {stream.index})" if cover else f"attachment {stream.name}"
        codec = stream.codec_context.name if cover and stream.codec_context else None
        picture = next((bytes(p) for p in source.demux(stream) if p.size), None) if cover else None
        if kind == "matroska" and not cover:
            output.add_attachment(stream.name, stream.mimetype, bytes(stream.data))
        elif kind == "matroska" and codec in COVER_TYPES:
            mimetype, suffix = COVER_TYPES[codec]
            if picture is not None:
                output.add_attachment(stream.metadata.get("filename") or f"cover.{suffix}",
                                      stream.metadata.get("mimetype") or mimetype, picture)
        elif cover and kind in ("mp4", "ipod") and codec in COVER_TYPES:
            if picture is not None:
                out = output.add_stream_from_template(stream)
                out.disposition = av.stream.Disposition.attached_pic
                packet = av.Packet(picture)
                packet.stream, packet.pts, packet.dts = out, 0, 0
                packets.append(packet)
        else:
            notes.append(f"{what} not carried over: {output.format.long_name} keeps none (try an .mkv output)")
    return packets, notes
