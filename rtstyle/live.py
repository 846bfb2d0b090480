"""Live pipeline: capture, inference and output in their own threads, newest frame first.

A live source must never queue stale frames: between the threads sits a one-frame
:class:`LatestSlot`, so when inference is slower than the camera the waiting frame is
replaced by the newer one (and counted as dropped). Memory is therefore bounded by a
handful of frames whatever the run's length. Every frame keeps the moment it was
captured, so the output thread measures capture -> display latency.

The output loop runs on the calling thread (OpenCV windows want one thread, and Ctrl-C
lands there); outputs are any :class:`rtstyle.outputs.Output`. Each frame is finished by the
same :class:`rtstyle.painter.Painter` path as a render.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import cv2

from rtstyle.autoscale import AutoScale
from rtstyle.controls import LiveControls
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus, Output
from rtstyle.painter import Look, Painter
from rtstyle.pipeline import Worker
from rtstyle.sinks import write_image
from rtstyle.timing import Percentiles, summarize

log = logging.getLogger(__name__)
T = TypeVar("T")
HOLD_SECONDS = 0.25  # while the source is lost, the last picture is shown again this often


class LiveSource(Protocol):
    width: int
    height: int
    fps: float
    problem: str | None  # why frames are not coming (camera lost, retrying...), for the HUD
    picture: tuple[int, int, int, int] | None  # the picture inside black bars (a file's), as render paints it

    def frames(self, stop: threading.Event | None = None) -> Iterator[VideoFrame]: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...
    def __enter__(self) -> LiveSource: ...
    def __exit__(self, *exc: object) -> None: ...


class LatestSlot(Generic[T]):
    """A one-item mailbox: ``put`` replaces an unread item, which counts as dropped."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._cond.notify()

    def get(self, timeout: float) -> T | None:
        """The newest item, or None after ``timeout`` seconds or once closed and empty."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item

    def close(self) -> None:
        """No more items will come: readers stop waiting."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        with self._cond:
            return self._closed and self._item is None


@dataclass
class LiveStats:
    """Counters and timings shared by the three threads (each counter has one writer)."""

    captured: int = 0
    stylized: int = 0
    shown: int = 0
    latency: Percentiles = field(default_factory=Percentiles)    # whole run, fixed memory
    inference: Percentiles = field(default_factory=Percentiles)
    recent_latency: deque = field(default_factory=lambda: deque(maxlen=90))
    recent_infer: deque = field(default_factory=lambda: deque(maxlen=30))
    shown_times: deque = field(default_factory=lambda: deque(maxlen=60))
    last_index: int = -1
    out_of_order: int = 0

    def add_inference(self, seconds: float) -> None:
        self.inference.add(seconds)
        self.recent_infer.append(seconds)
        self.stylized += 1

    def add_shown(self, frame: VideoFrame, now: float) -> None:
        latency = now - frame.captured_at
        self.latency.add(latency)
        self.recent_latency.append(latency)
        self.shown_times.append(now)
        self.out_of_order += frame.index <= self.last_index
        self.last_index = frame.index
        self.shown += 1

    def fps(self) -> float:
        t = self.shown_times
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0


@dataclass(frozen=True)
class StyledFrame:
    frame: VideoFrame
    style: str


class LivePipeline:
    """Wires a live source, the styles and the outputs together; :meth:`run` until done."""

    def __init__(self, source: LiveSource, painter: Painter, controls: LiveControls,
                 outputs: list[Output] | None = None, snapshot_dir: str | Path = ".",
                 autoscale: AutoScale | None = None):
        """``autoscale``: paint each frame at the scale it says, and tell it each frame's time
        (live --scale auto); None: at the painter's own."""
        self.source, self.painter, self.controls = source, painter, controls
        self.autoscale = autoscale
        self.outputs = list(outputs or [])
        self.snapshot_dir = Path(snapshot_dir)
        self.stats = LiveStats()
        self.captured: LatestSlot[VideoFrame] = LatestSlot()
        self.stylized: LatestSlot[StyledFrame] = LatestSlot()
        self.stop = threading.Event()
        self.seconds = 0.0
        self._mirrored = controls.state().mirror

    # --- threads -----------------------------------------------------------------------
    def _capture(self) -> None:
        stream = self.source.frames(self.stop)
        try:
            for frame in stream:
                if self.stop.is_set():
                    break
                self.stats.captured += 1
                self.captured.put(frame)
        finally:
            stream.close()
            self.captured.close()

    def _infer(self) -> None:
        try:
            while not self.stop.is_set():
                frame = self.captured.get(timeout=0.1)
                if frame is None:
                    if self.captured.finished:
                        return
                    continue
                state = self.controls.state()
                picture = self.source.picture
                if state.mirror:
                    frame.image = cv2.flip(frame.image, 1)
                    picture = picture and _mirrored(picture, frame.image.shape[1])
                if state.mirror != self._mirrored:  # the picture jumped: the smoothing history no longer fits
                    self.painter.reset()
                    self._mirrored = state.mirror
                if state.painting:
                    look = Look(state.style, state.strength, state.keep_colours, state.smoothing, picture,
                                self.autoscale.scale if self.autoscale else None)
                    t = time.perf_counter()
                    painted = self.painter.paint(frame.image, look)
                    frame.image = self.painter.settle(frame.image, painted, look)
                    seconds = time.perf_counter() - t
                    self.stats.add_inference(seconds)
                    if self.autoscale:
                        self.autoscale.add(seconds)
                else:  # the camera as it is: smoothing starts afresh when painting comes back
                    self.painter.reset()
                self.stylized.put(StyledFrame(frame, state.style))
        finally:
            self.stylized.close()

    # --- output (calling thread) -------------------------------------------------------
    @property
    def dropped(self) -> int:
        return self.captured.dropped + self.stylized.dropped

    def status(self, style: str) -> LiveStatus:
        s = self.stats
        lat = summarize(s.recent_latency) if s.recent_latency else None
        infer = summarize(s.recent_infer).p50_ms if s.recent_infer else math.nan
        return LiveStatus(style, s.fps(), infer, lat.p50_ms if lat else math.nan, lat.p95_ms if lat else math.nan,
                          s.captured, self.dropped, self.controls.state(), self.source.problem,
                          self.autoscale.scale if self.autoscale else None)

    def _hold(self, last: StyledFrame) -> float:
        """While the source has trouble, show the last picture again with the trouble on the HUD:
        the window keeps answering keys, the page and a virtual camera see the state, and a
        recording keeps wall-clock time (the still lasts as long as the outage). Not counted
        as a shown frame. Returns when it was shown."""
        now = time.monotonic()
        still = VideoFrame(last.frame.image, last.frame.index, time=last.frame.time, captured_at=now)
        status = self.status(last.style)
        for output in self.outputs:
            output.show(still, status)
        return now

    def _snapshot(self, frame: VideoFrame) -> None:
        path = self.snapshot_dir / f"rtstyle-{time.strftime('%Y%m%d-%H%M%S')}-{frame.index:06d}.png"
        try:
            write_image(path, frame.image)
            self.controls.say(f"saved {path.name}")
        except SinkError as e:  # a full disk must not end the show
            self.controls.say(f"snapshot failed: {e}")

    def run(self, duration: float | None = None) -> dict:
        """Run until the source ends, ``quit``, ``duration`` seconds or Ctrl-C; returns :meth:`summary`."""
        workers = [Worker("capture", self._capture), Worker("inference", self._infer)]
        t0 = time.monotonic()
        for w in workers:
            w.start()
        last: StyledFrame | None = None
        shown_at = t0
        try:
            while not self.controls.quitting and (duration is None or time.monotonic() - t0 < duration):
                item = self.stylized.get(timeout=0.05)
                if item is None:
                    if self.stylized.finished:
                        break
                    if last and self.source.problem and time.monotonic() - shown_at >= HOLD_SECONDS:
                        shown_at = self._hold(last)
                    continue
                status = self.status(item.style)
                for output in self.outputs:
                    output.show(item.frame, status)
                shown_at = time.monotonic()
                last = item
                self.stats.add_shown(item.frame, shown_at)
                if self.controls.take_snapshot():
                    self._snapshot(item.frame)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop.set()
            self.seconds = time.monotonic() - t0
            for w in workers:
                w.join(timeout=5)
            errors = [w.error for w in workers if w.error is not None]
            for output in self.outputs:
                output.close()
        if errors:
            raise errors[0]
        return self.summary()

    @property
    def scale(self) -> float:
        """The processing scale: --scale auto's last, the one asked for, else the first style's own."""
        if self.autoscale:
            return self.autoscale.scale
        asked = self.painter.options.get("scale")
        return float(asked) if asked is not None else self.painter.stylizer(self.controls.styles[0]).scale  # type: ignore[arg-type]

    def summary(self) -> dict:
        """Whole-run figures for the JSON log and the closing line."""
        s = self.stats
        return {
            "source": self.source.describe(), "styles": list(self.controls.styles), "scale": self.scale,
            **({"scale_auto": {"changes": self.autoscale.changes, "frames": {
                f"{scale:g}": n for scale, n in sorted(self.autoscale.frames.items(), reverse=True)}}}
               if self.autoscale else {}),
            "seconds": round(self.seconds, 3), "frames_captured": s.captured, "frames_stylized": s.stylized,
            "frames_shown": s.shown, "dropped_before_inference": self.captured.dropped,
            "dropped_before_output": self.stylized.dropped, "dropped": self.dropped,
            "dropped_rate": round(self.dropped / s.captured, 4) if s.captured else 0.0,
            "output_fps": round(s.shown / self.seconds, 2) if self.seconds else 0.0,
            "out_of_order": s.out_of_order, "smoothing": self.controls.state().smoothing,
            "inference_ms": s.inference.summary(), "latency_ms": s.latency.summary(),
        }


def _mirrored(box: tuple[int, int, int, int], width: int) -> tuple[int, int, int, int]:
    """The picture box (left, top, right, bottom) of a frame flipped left to right."""
    left, top, right, bottom = box
    return width - right, top, width - left, bottom


def _finite(value: object) -> object:
    """NaN (a figure with no samples yet) -> None, which JSON writes as null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def write_log(path: str | Path, summary: dict) -> None:
    """The run's figures as JSON."""
    try:
        Path(path).write_text(json.dumps(_finite(summary), indent=2) + "\n")
    except OSError as e:
        raise SinkError(f"cannot write {path}: {e.strerror}") from None
