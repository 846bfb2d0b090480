"""Frame sinks: video file with the source's audio (PyAV), still images (OpenCV).

The video file sink encodes H.264 yuv420p with the source's time base and timestamps,
and carries the source's first audio stream over: remuxed when the codec fits the
container, transcoded to AAC otherwise. Audio is written in step with video so the
file interleaves properly and an interrupted render ends with matching audio.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from rtstyle import yuv
from rtstyle.errors import SinkError, SourceError
from rtstyle.sources import STREAM_TIMEOUT, stream_timeout

# Audio codecs that MP4/MOV players accept as they are; anything else becomes AAC.
MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}


def check_output(path: str | Path, overwrite: bool) -> Path:
    """Fail early, before any work, if the output cannot be written."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise SinkError(f"output exists: {p} (use --overwrite to replace it)")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise SinkError(f"output folder does not exist: {parent}")
    if not os.access(parent, os.W_OK):
        raise SinkError(f"output folder is not writable: {parent}")
    return p


def write_image(path: str | Path, rgb: np.ndarray) -> None:
    p = Path(path)
    ok, data = cv2.imencode(p.suffix or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise SinkError(f"cannot encode an image as '{p.suffix}'")
    try:
        data.tofile(p)
    except OSError as e:
        raise SinkError(f"cannot write {p}: {e.strerror}") from None


class AudioCarrier:
    """Copies one audio stream from the source into the output, on demand up to a time."""

    def __init__(self, source_path: str, output: av.container.OutputContainer, start_time: float,
                 timeout: float = STREAM_TIMEOUT):
        # A stream that stalls ends the audio (as a read error does) instead of hanging the render.
        self.input = av.open(source_path, "r", timeout=stream_timeout(source_path, timeout))
        self.in_stream = self.input.streams.audio[0]
        codec = self.in_stream.codec_context.name
        container_format = output.format.name
        self.remux = codec in MP4_AUDIO or "matroska" in container_format
        if self.remux:
            self.out_stream = output.add_stream_from_template(self.in_stream)
            self.action = f"copied ({codec})"
        else:
            ctx = self.in_stream.codec_context
            channels = ctx.channels or 2
            # Some demuxers give only a channel count; AAC needs a named layout.
            layout = {1: "mono", 2: "stereo"}.get(channels, ctx.layout.name)
            self.out_stream = output.add_stream("aac", rate=ctx.sample_rate or 48000, layout=layout)
            self.action = f"transcoded {codec} -> aac"
        self.output = output
        self.offset = start_time
        self.packets = self.input.demux(self.in_stream)
        self.pending: av.Packet | None = None
        self.written_until = 0.0
        self.done = False

    def _next_packet(self) -> av.Packet | None:
        while True:
            try:
                p = next(self.packets)
            except (StopIteration, av.error.FFmpegError):
                self.done = True
                return None
            if p.dts is not None and p.size:
                return p

    def _time(self, p: av.Packet) -> float:
        return float(p.pts * p.time_base) - self.offset if p.pts is not None else self.written_until

    def advance_to(self, t: float | None) -> None:
        """Write the audio that starts before ``t`` seconds (all of it when ``t`` is None)."""
        while not self.done:
            p = self.pending or self._next_packet()
            self.pending = None
            if p is None:
                break
            pt = self._time(p)
            if t is not None and pt >= t:
                self.pending = p
                return
            self._write(p, pt)

    def _write(self, p: av.Packet, pt: float) -> None:
        shift = round(self.offset / p.time_base)
        if self.remux:
            p.pts, p.dts = p.pts - shift, p.dts - shift  # negative for AAC priming: kept
            p.stream = self.out_stream
            self.output.mux(p)
        else:
            try:
                frames = p.decode()
            except av.error.FFmpegError:
                return
            for f in frames:
                f.pts = None  # the AAC encoder numbers its own frames
                self.output.mux(self.out_stream.encode(f))
        self.written_until = pt

    def finish(self, until: float | None) -> None:
        self.advance_to(until)
        if not self.remux:
            self.output.mux(self.out_stream.encode(None))
        self.input.close()


class VideoFileSink:
    """Encode RGB frames to an H.264 file, with audio carried over from ``audio_from``."""

    def __init__(self, path: str | Path, width: int, height: int, time_base: Fraction, fps: Fraction,
                 audio_from: str | None = None, start_time: float = 0.0, crf: int = 18, preset: str = "veryfast",
                 audio_timeout: float = STREAM_TIMEOUT):
        self.path = Path(path)
        # yuv420p needs even sides: pad by one edge pixel rather than drop picture.
        self.width, self.height = width + width % 2, height + height % 2
        try:
            self.container = av.open(str(self.path), "w")
        except (av.error.FFmpegError, ValueError) as e:
            raise SinkError(f"cannot create {self.path}: {e}") from None
        self.stream = self.container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": preset})
        self.stream.width, self.stream.height = self.width, self.height
        self.stream.pix_fmt = "yuv420p"
        self.stream.time_base = time_base
        self.stream.codec_context.time_base = time_base
        self.time_base = time_base
        self.frames_written = 0
        self.last_time = 0.0
        self.frame_duration = float(1 / fps)
        self.audio: AudioCarrier | None = None
        if audio_from:
            try:
                self.audio = AudioCarrier(audio_from, self.container, start_time, audio_timeout)
            except (av.error.FFmpegError, IndexError):
                self.audio = None
            except ValueError as e:
                raise SourceError(f"cannot carry the audio over: {e}") from None

    def write(self, rgb: np.ndarray, pts: int) -> None:
        h, w = rgb.shape[:2]
        if (w, h) != (self.width, self.height):
            rgb = np.pad(rgb, ((0, self.height - h), (0, self.width - w), (0, 0)), mode="edge")
        frame = yuv.from_rgb(rgb)
        frame.pts, frame.time_base = pts, self.time_base
        t = float(pts * self.time_base)
        if self.audio:
            self.audio.advance_to(t + self.frame_duration)
        try:
            self.container.mux(self.stream.encode(frame))
        except OSError as e:
            raise SinkError(f"cannot write {self.path}: {e.strerror or e}") from None
        self.frames_written += 1
        self.last_time = t

    def close(self, complete: bool = True) -> None:
        """Flush the encoder and finish the file; safe to call after an interruption.

        ``complete=False`` (interrupted render) cuts the audio at the last video frame.
        """
        try:
            self.container.mux(self.stream.encode(None))
            if self.audio:
                end = self.last_time + self.frame_duration if self.frames_written else 0.0
                self.audio.finish(None if complete else end)
        finally:
            self.container.close()
