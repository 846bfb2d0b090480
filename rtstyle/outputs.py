"""Outputs of `live` and `render`: what they are given (:class:`LiveStatus`), what they do
(:class:`Output`), and the table that opens them by name (:data:`OUTPUTS`).

An output is any object with ``show(frame, status)`` and ``close()``. The live pipeline calls
them on its output thread, newest frame first, with the HUD's status; a render calls its
outputs with every frame in order (their ``pts`` on the source's clock) and no status, and
closes them with ``complete=False`` when it was cut short (their sound ends with the last frame).

A new output is one module and one row in :data:`OUTPUTS`: a factory that takes the option's
value and the run's :class:`OutputContext` and returns the opened output and what to tell the
user, and whether `render` writes to it too (``ctx.render`` is then set). Factories import
their module when called, so an output nobody asked for costs nothing (and its module may
import this one).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol, TypeVar

from rtstyle.carry import Soundtrack
from rtstyle.controls import ControlState, LiveControls
from rtstyle.demux import SharedDemux
from rtstyle.errors import RtstyleError
from rtstyle.frames import VideoFrame
from rtstyle.sources import STREAM_TIMEOUT


@dataclass(frozen=True)
class LiveStatus:
    """What the HUD and the browser page show, taken when a frame is output."""

    style: str            # style that painted the frame being shown
    fps: float            # output frames per second over the last second or so
    infer_ms: float       # recent median time to stylize one frame
    latency_p50_ms: float  # recent capture -> display latency
    latency_p95_ms: float
    captured: int
    dropped: int
    controls: ControlState
    source_problem: str | None = None  # the source's trouble, shown first
    auto_scale: float | None = None  # the scale live --scale auto paints at now

    def hud_lines(self) -> list[str]:
        c = self.controls
        rate = f"{100 * self.dropped / self.captured:.0f}%" if self.captured else "-"
        lines = [f"{self.style}  strength {c.strength:.1f}" + ("  colours kept" if c.keep_colours else "")
                 + ("  smoothing" if c.smoothing else "") + ("  mirrored" if c.mirror else "")
                 + ("" if c.painting else "  PAINTING OFF"),
                 f"{self.fps:4.1f} fps  inference {self.infer_ms:.0f} ms"
                 + (f"  scale {self.auto_scale:g} (auto)" if self.auto_scale is not None else ""),
                 f"latency {self.latency_p50_ms:.0f} / {self.latency_p95_ms:.0f} ms (p50 / p95)",
                 f"dropped {self.dropped} of {self.captured} ({rate})"]
        trouble = [self.source_problem] if self.source_problem else []
        return trouble + lines + ([c.message] if c.message else [])

    def as_dict(self) -> dict:
        def num(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 1)

        return {"frame_style": self.style, "fps": num(self.fps), "infer_ms": num(self.infer_ms),
                "latency_p50_ms": num(self.latency_p50_ms), "latency_p95_ms": num(self.latency_p95_ms),
                "captured": self.captured, "dropped": self.dropped, "source_problem": self.source_problem,
                "hud_lines": self.hud_lines()}


class Output(Protocol):
    def show(self, frame: VideoFrame, status: LiveStatus | None) -> None: ...
    def close(self) -> None: ...


class RenderOutput(Output, Protocol):
    """An output a render writes to (a row with ``render=True``). ``close(complete=False)``: the
    render was cut short (sound ends with the last frame); ``discard()`` removes what would not
    play. It may say where its file is (``path``, which the A/V check reads back) and what it
    did with the source's sound (``actions``, ``dropped``)."""

    def close(self, complete: bool = True) -> None: ...
    def discard(self) -> None: ...


class ClosesCutShortOnError:
    """``with`` closes a render output: complete when the block ends normally, cut short when
    an error ends it (that error is the one reported, not a failure to close as well)."""

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: object) -> None:
        if kind is None:
            self.close()  # type: ignore[attr-defined]
            return
        with contextlib.suppress(RtstyleError):
            self.close(complete=False)  # type: ignore[attr-defined]


_R = TypeVar("_R", bound=ClosesCutShortOnError)


class RenderOutputs(ClosesCutShortOnError):
    """A render's outputs written as one, in table order: every frame to each.

    Closing closes every output even when one fails, then raises the first failure.
    ``path`` is the first file's, ``actions``, ``dropped`` and ``decoder_delays`` the first
    output's that says them.
    """

    def __init__(self, outputs: Sequence[RenderOutput]):
        self.outputs = list(outputs)
        self.path: Path | None = next((o.path for o in outputs if getattr(o, "path", None) is not None), None)
        told = next((o for o in outputs if hasattr(o, "actions")), None)
        self.actions: str = told.actions if told else "none"  # type: ignore[attr-defined]
        self.dropped: list[str] = told.dropped if told else []  # type: ignore[attr-defined]
        self._told = told

    @property
    def decoder_delays(self) -> list[float]:
        """Known once the sound is written (rtstyle.sinks.VideoFileSink.decoder_delays)."""
        return getattr(self._told, "decoder_delays", [])

    def show(self, frame: VideoFrame, status: LiveStatus | None = None) -> None:
        for output in self.outputs:
            output.show(frame, status)

    def close(self, complete: bool = True) -> None:
        failure: RtstyleError | None = None
        for output in self.outputs:
            try:
                output.close(complete)
            except RtstyleError as e:
                failure = failure or e
        if failure:
            raise failure

    def discard(self) -> None:
        for output in self.outputs:
            output.discard()


@dataclass(frozen=True)
class RenderTiming:
    """What a render's outputs need beyond the frame size: the source's clock, where its sound
    starts (it is carried over: from ``start_time`` on the source's clock; ``part`` when that
    is later than the source's start), or the other file's sound put in its place, and the quality."""

    time_base: Fraction
    fps: Fraction
    start_time: float
    crf: int
    part: bool = False
    length: float | None = None  # render --duration: the part's length (sound starting after it is left out)
    grid_rate: Fraction | None = None  # the rate an AVI counts frames in (default fps)
    # An image sequence input's number of the first frame rendered, and its rate: pictures written keep their numbers.
    numbers: tuple[int, Fraction] | None = None
    soundtrack: Soundtrack | None = None  # render --audio: this file's sound instead of the source's


@dataclass(frozen=True)
class OutputContext:
    """What an output may need to open: the frames' size and rate, the controls, the source."""

    width: int
    height: int
    fps: float
    controls: LiveControls | None = None  # live only
    source: str | None = None  # the --source file or URL (None for a camera); a render's input
    shared: SharedDemux | None = None  # a render's URL input, read once: its outputs carry its sound from there
    source_sound: bool = False  # live: the --source has sound, which a recording of the run has not
    render: RenderTiming | None = None  # set for a render's outputs; None: a live run
    timeout: float = STREAM_TIMEOUT  # seconds a network peer may stall (--stream-timeout)
    # An output written when the render ends (a GIF) tells how far it has got: frames done, of all.
    finishing: Callable[[int, int], None] | None = None
    encoder: str | None = None  # --codec's: the video encoder of a file output (rtstyle.encoders)
    alpha: bool = False  # the frames carry transparency for a video file that keeps it (ProRes 4444, VP9 in WebM)


Opened = tuple[Output, list[str]]  # the output, and lines for the user


def _window(value: object, ctx: OutputContext) -> Opened:
    from rtstyle.window import WindowOutput, key_help

    return WindowOutput(ctx.controls), [f"window keys: {key_help()}"]


def _serve(value: object, ctx: OutputContext) -> Opened:
    from rtstyle.preview import PreviewServer, parse_address

    host, port = parse_address(str(value))
    server = PreviewServer(host, port, ctx.controls)
    said = [f"browser preview: {server.url}  (MJPEG stream: {server.link('stream.mjpg')})"]
    if server.token:
        said.append("note: the preview is open to the network; only the URL's token lets a client in")
    return server, said


def _vcam(value: object, ctx: OutputContext) -> Opened:
    from rtstyle.vcam import VirtualCamera

    cam = VirtualCamera(ctx.width, ctx.height, ctx.fps)
    return cam, [f"virtual camera: {cam.device}"]


def _record(value: object, ctx: OutputContext) -> Opened:
    """live --record FILE, and render's DST."""
    from rtstyle.recorder import open_video

    return open_video(Path(str(value)), ctx)


def _stream(value: object, ctx: OutputContext) -> Opened:
    """--stream URL of live and render."""
    from rtstyle.recorder import open_video

    output, lines = open_video(str(value), ctx)
    return output, [f"streaming to {value}", *lines]


@dataclass(frozen=True)
class Row:
    open: Callable[[object, OutputContext], Opened]
    render: bool = False  # `render` writes to it too (a RenderOutput: every frame, in order)


OUTPUTS: dict[str, Row] = {
    "window": Row(_window), "serve": Row(_serve), "vcam": Row(_vcam),
    "record": Row(_record, render=True), "stream": Row(_stream, render=True),
}


def open_outputs(chosen: Mapping[str, object], ctx: OutputContext,
                 say: Callable[[str], None] = lambda line: None) -> list[Output]:
    """Open every output whose value is set, in table order; on a failure close the ones already open."""
    opened: list[Output] = []
    with contextlib.ExitStack() as closing:
        for name, row in OUTPUTS.items():
            value = chosen.get(name)
            if value and ctx.render and not row.render:
                raise ValueError(f"a render does not write to the {name} output")
            if value:
                output, lines = row.open(value, ctx)
                closing.callback(output.close)
                opened.append(output)
                for line in lines:
                    say(line)
        closing.pop_all()  # all open: the caller closes them
    return opened
