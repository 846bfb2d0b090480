"""Live outputs: what they are given (:class:`LiveStatus`), what they do (:class:`Output`), and
the table that opens them by name (:data:`OUTPUTS`).

An output is any object with ``show(frame, status)`` and ``close()``; the live pipeline calls
them on its output thread, newest frame first. A new output is one module and one row in
:data:`OUTPUTS`: a factory that takes the option's value and the run's :class:`OutputContext`
and returns the opened output and what to tell the user. Factories import their module when
called, so an output nobody asked for costs nothing (and its module may import this one).
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rtstyle.controls import ControlState, LiveControls
from rtstyle.frames import VideoFrame


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

    def hud_lines(self) -> list[str]:
        c = self.controls
        rate = f"{100 * self.dropped / self.captured:.0f}%" if self.captured else "-"
        lines = [f"{self.style}  strength {c.strength:.1f}" + ("  colours kept" if c.keep_colours else "")
                 + ("  smoothing" if c.smoothing else ""),
                 f"{self.fps:4.1f} fps  inference {self.infer_ms:.0f} ms",
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
    def show(self, frame: VideoFrame, status: LiveStatus) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class OutputContext:
    """What an output may need to open: the frames' size and rate, the controls, the source."""

    width: int
    height: int
    fps: float
    controls: LiveControls
    source: str | None = None  # the --source file or URL; None for a camera


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
    from rtstyle.recorder import Recorder, sound_note

    note = sound_note(ctx.source) if ctx.source else None
    return Recorder(Path(str(value)), ctx.width, ctx.height, ctx.fps), [note] if note else []


def _stream(value: object, ctx: OutputContext) -> Opened:
    from rtstyle.recorder import Recorder, sound_note

    note = sound_note(ctx.source, "stream") if ctx.source else None
    return Recorder(str(value), ctx.width, ctx.height, ctx.fps), [f"streaming to {value}"] + ([note] if note else [])


OUTPUTS: dict[str, Callable[[object, OutputContext], Opened]] = {
    "window": _window, "serve": _serve, "vcam": _vcam, "record": _record, "stream": _stream,
}


def open_outputs(chosen: Mapping[str, object], ctx: OutputContext,
                 say: Callable[[str], None] = lambda line: None) -> list[Output]:
    """Open every output whose value is set, in table order; on a failure close the ones already open."""
    opened: list[Output] = []
    with contextlib.ExitStack() as closing:
        for name, factory in OUTPUTS.items():
            value = chosen.get(name)
            if value:
                output, lines = factory(value, ctx)
                closing.callback(output.close)
                opened.append(output)
                for line in lines:
                    say(line)
        closing.pop_all()  # all open: the caller closes them
    return opened
