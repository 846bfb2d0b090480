"""Animated GIF output: how a painted clip is shared where video is not played.

A GIF holds 256 colours. One palette for the whole clip, made from every frame (FFmpeg's
palettegen, then paletteuse with ordered dithering: the two passes FFmpeg's own docs give),
keeps the colours steady and the file small: a palette per frame made the sample clip's GIF
2.5 times larger and its still background shimmer, error diffusion 1.6 times larger and
flickering half as much again (docs/gif.md). So each frame goes into the palette's count as
it comes and is kept losslessly (FFV1) in a file beside the output until ``close``, which
takes the palette and writes the GIF.

A GIF times its frames in hundredths of a second, and browsers show a frame given less than
two of them for ten: a frame that comes sooner after the last one kept is left out
(rtstyle.avcheck.gif_tick), so a 60 fps clip plays at its own speed. A GIF has no sound:
the source's audio and subtitles are left out with a note each, and it loops forever.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import av.filter
import numpy as np

from rtstyle.avcheck import GIF_MIN_TICKS, gif_tick, playable_frames
from rtstyle.carry import left_out
from rtstyle.demux import SharedDemux
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import ClosesCutShortOnError
from rtstyle.sinks import write_failure

TICK = Fraction(1, 100)  # a GIF's time base
PALETTE = "stats_mode=full"  # one palette from all frames
DITHER = "dither=bayer:bayer_scale=3"  # ordered: the same pattern on every frame, no crawling
# The palette counts every other pixel each way: the same colours in less time (docs/gif.md).
SAMPLE = "w='max(1,iw/2)':h='max(1,ih/2)':flags=neighbor"


class GifSink(ClosesCutShortOnError):
    """Write RGB frames (``pts`` in ``time_base``) to an animated GIF at ``path``; the streams of
    ``carry_from`` that a GIF cannot hold are listed in ``dropped``. The render output protocol
    (rtstyle.outputs); ``close(complete=False)`` writes the frames so far, as for any video."""

    actions = "none"  # no stream is carried over

    def __init__(self, path: str | Path, width: int, height: int, time_base: Fraction, fps: Fraction,
                 carry_from: str | SharedDemux | None = None, progress: Callable[[int, int], None] | None = None):
        self.path = Path(path)
        self.progress = progress  # told (frames written, of all) as the GIF is written at the end
        self.width, self.height = width, height
        self.time_base = time_base
        self.frame_seconds = float(1 / Fraction(fps))
        self.end = 0.0  # seconds: the end of the latest frame given, kept or not
        self.dropped = left_out(carry_from, "a GIF") if carry_from else []
        self.frames_written = 0
        self.first: int | None = None  # tick of the first frame (the GIF's zero)
        self.last: int | None = None   # tick of the latest frame kept
        self.closed = False
        self.palette = _Palette(width, height)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".mkv", dir=self.path.parent)
        os.close(fd)
        self.frames_file = Path(name)
        try:
            self.frames = av.open(name, "w")
            self.stream = self.frames.add_stream("ffv1", rate=fps)
            self.stream.width, self.stream.height, self.stream.pix_fmt = width, height, "bgr0"
            self.stream.codec_context.time_base = self.stream.time_base = TICK
        except (OSError, av.error.FFmpegError) as e:
            self.frames_file.unlink(missing_ok=True)
            raise SinkError(f"cannot write {self.path}: {getattr(e, 'strerror', None) or e}") from None

    def show(self, frame: VideoFrame, status: object = None) -> None:
        """The output protocol (rtstyle.outputs): a render's frame, at its own timestamp."""
        self.write(frame.image, frame.pts)

    def write(self, rgb: np.ndarray, pts: int) -> None:
        """Keep one frame for the GIF, unless it comes too soon after the last one kept."""
        seconds = float(pts * self.time_base)
        self.end = seconds + self.frame_seconds
        tick = gif_tick(seconds, self.last)
        if tick is None:
            return
        self.first = tick if self.first is None else self.first
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[..., :3]), format="rgb24")
        frame.pts, frame.time_base = tick - self.first, TICK
        self.palette.count(frame)
        try:
            self.frames.mux(self.stream.encode(frame))
        except (OSError, av.error.FFmpegError) as e:
            raise self._fail(e) from None
        self.last = tick
        self.frames_written += 1

    def close(self, complete: bool = True) -> None:
        """Make the palette from the frames kept and write the GIF (``complete`` changes
        nothing: a GIF has no sound to cut). A render that kept no frame leaves no file."""
        if self.closed:
            return
        self.closed = True
        try:
            self.frames.mux(self.stream.encode(None))
            self.frames.close()
            if self.frames_written:
                self._write_gif()
        except (OSError, av.error.FFmpegError) as e:
            raise self._fail(e) from None
        finally:
            self.frames_file.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove the frames kept and a GIF that would not play."""
        self.closed = True
        with contextlib.suppress(OSError, av.error.FFmpegError):
            self.frames.close()
        self.frames_file.unlink(missing_ok=True)
        if self.path.exists() and not playable_frames(self.path):
            self.path.unlink()

    def _write_gif(self) -> None:
        palette = self.palette.made()
        graph = av.filter.Graph()
        frames = graph.add_buffer(width=self.width, height=self.height, format="bgr0", time_base=TICK)
        colours = graph.add_buffer(width=palette.width, height=palette.height, format=palette.format.name,
                                   time_base=TICK)
        use = graph.add("paletteuse", DITHER)
        frames.link_to(use, 0, 0)
        colours.link_to(use, 0, 1)
        use.link_to(graph.add("buffersink"))
        graph.configure()
        colours.push(palette)
        colours.push(None)  # the one palette serves every frame
        with av.open(str(self.path), "w", format="gif") as out:
            stream = out.add_stream("gif", rate=1 / TICK)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "pal8"
            stream.codec_context.time_base = stream.time_base = TICK
            # The last frame lasts until the end of the last one given (those left out after it too).
            last = max(GIF_MIN_TICKS, round(self.end / TICK) - self.last)
            for done, frame in enumerate(self._kept(), start=1):
                frames.push(frame)
                out.mux(_timed(stream.encode(_pull(graph, frame.pts)), last))
                if self.progress:
                    self.progress(done, self.frames_written)
            out.mux(_timed(stream.encode(None), last))

    def _kept(self) -> Iterator[av.VideoFrame]:
        """The frames kept, timed in hundredths (Matroska stored them in milliseconds)."""
        with av.open(str(self.frames_file)) as kept:
            for frame in kept.decode(video=0):
                frame.pts, frame.time_base = round(frame.pts * frame.time_base / TICK), TICK
                yield frame

    def _fail(self, error: Exception) -> SinkError:
        """The GIF could not be made: the frames kept are removed, and a GIF cut short too
        unless it plays."""
        self.discard()
        reason = write_failure(error)
        kept = f"the GIF written so far plays ({playable_frames(self.path)} frames)" if self.path.exists() else \
            "nothing was written"
        return SinkError(f"cannot write {self.path}: {reason}; {kept}")


class _Palette:
    """The 256-colour palette of all the frames counted (FFmpeg's palettegen, which keeps a
    histogram, not the frames; its result is a 16x16 picture)."""

    def __init__(self, width: int, height: int):
        self.graph = av.filter.Graph()
        self.source = self.graph.add_buffer(width=width, height=height, format="rgb24", time_base=TICK)
        sample = self.graph.add("scale", SAMPLE)
        make = self.graph.add("palettegen", PALETTE)
        self.source.link_to(sample)
        sample.link_to(make)
        make.link_to(self.graph.add("buffersink"))
        self.graph.configure()

    def count(self, frame: av.VideoFrame) -> None:
        self.source.push(frame)
        try:  # a graph runs when asked for output: now, so that no frame waits in it
            self.graph.pull()
        except av.BlockingIOError:
            pass  # palettegen gives nothing before the end

    def made(self) -> av.VideoFrame:
        self.source.push(None)
        palette = self.graph.pull()
        palette.pts, palette.time_base = 0, TICK
        return palette


def _pull(graph: av.filter.Graph, pts: int) -> av.VideoFrame:
    """The frame just pushed, in the palette's colours (pal8), timed as it was."""
    frame = graph.pull()
    frame.pts, frame.time_base = pts, TICK
    return frame


def _timed(packets: list[av.Packet], ticks: int) -> list[av.Packet]:
    """Give packets the last frame's delay as their duration: the muxer takes each frame's
    delay from the next frame's time, and the last one's from its duration (else one
    hundredth, which browsers show for ten)."""
    for packet in packets:
        packet.duration = ticks
    return packets
