"""Live pipeline: capture, inference and output in their own threads, newest frame first.

A live source must never queue stale frames: between the threads sits a one-frame
:class:`LatestSlot`, so when inference is slower than the camera the waiting frame is
replaced by the newer one (and counted as dropped). Memory is therefore bounded by a
handful of frames whatever the run's length. Every frame keeps the moment it was
captured, so the output thread measures capture -> display latency.

The output loop runs on the calling thread (OpenCV windows want one thread, and Ctrl-C
lands there); outputs are any objects with ``show(frame, status)`` and ``close()``.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import cv2
import numpy as np

from rtstyle import frames
from rtstyle.controls import ControlState, LiveControls
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.models import find_model
from rtstyle.sinks import VideoFileSink, write_image
from rtstyle.temporal import Smoother
from rtstyle.sources import resize_to
from rtstyle.stylizer import Stylizer

log = logging.getLogger(__name__)
T = TypeVar("T")
HOLD_SECONDS = 0.25  # while the source is lost, the last picture is shown again this often


class LiveSource(Protocol):
    width: int
    height: int
    fps: float
    problem: str | None  # why frames are not coming (camera lost, retrying...), for the HUD

    def frames(self, stop: threading.Event | None = None) -> Iterator[VideoFrame]: ...
    def describe(self) -> str: ...
    def close(self) -> None: ...


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


class Percentiles:
    """Percentiles of a long stream of durations in fixed memory (0.5 ms bins up to 10 s)."""

    BIN = 0.0005
    BINS = 20000

    def __init__(self) -> None:
        self.counts = np.zeros(self.BINS + 1, np.int64)
        self.n, self.total, self.max = 0, 0.0, 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(int(seconds / self.BIN), self.BINS)] += 1
        self.n += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def ms(self, q: float) -> float:
        """The q-th percentile in milliseconds (bin centre; NaN before the first sample)."""
        if not self.n:
            return math.nan
        i = int(np.searchsorted(np.cumsum(self.counts), math.ceil(q / 100 * self.n)))
        return min((i + 0.5) * self.BIN, self.max) * 1000

    def summary(self) -> dict[str, float]:
        mean = self.total / self.n * 1000 if self.n else math.nan
        return {"p50": round(self.ms(50), 2), "p95": round(self.ms(95), 2), "p99": round(self.ms(99), 2),
                "max": round(self.max * 1000, 2), "mean": round(mean, 2)}


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


@dataclass
class LiveStats:
    """Counters and timings shared by the three threads (each counter has one writer)."""

    captured: int = 0
    stylized: int = 0
    shown: int = 0
    latency: Percentiles = field(default_factory=Percentiles)
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


class LiveStyles:
    """Loads styles on first use and stylizes frames with the controls' current settings.

    Inference runs at ``scale`` of the camera's size; the result is upscaled, then
    colour preservation and strength are applied against the full-size original so
    strength 0 gives back the sharp camera picture. Runs on the inference thread only.
    """

    def __init__(self, styles: dict[str, Path], providers: str | list[str] = "auto", threads: int | None = None,
                 scale: float = 1.0, smoother: Smoother | None = None, precision: str = "fp32"):
        self.paths, self.providers, self.threads, self.precision = styles, providers, threads, precision
        self.scale, self.smoother = scale, smoother
        self.loaded: dict[str, Stylizer] = {}
        self._smoothing_for: str | None = None  # style the smoother's history belongs to

    def get(self, name: str) -> Stylizer:
        if name not in self.loaded:
            self.loaded[name] = Stylizer(self.paths[name], providers=self.providers, threads=self.threads,
                                         precision=self.precision)
        return self.loaded[name]

    def __call__(self, rgb: np.ndarray, state: ControlState) -> np.ndarray:
        h, w = rgb.shape[:2]
        small_size = (max(1, round(w * self.scale)), max(1, round(h * self.scale)))
        small = rgb if self.scale == 1.0 else resize_to(rgb, small_size)
        out = self.get(state.style)(small)
        if self.smoother is not None and state.smoothing:
            if self._smoothing_for != state.style:  # a new style (or smoothing just on): no history
                self.smoother.reset()
                self._smoothing_for = state.style
            out = self.smoother(small, out)
        else:
            self._smoothing_for = None
        if out.shape[:2] != (h, w):
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
        if state.keep_colours:
            out = frames.keep_colours(out, rgb)
        return frames.blend(out, rgb, state.strength)


def resolve_styles(specs: list[str]) -> dict[str, Path]:
    """Style names or .onnx paths -> {model name: file}, checked before anything starts."""
    cards = [find_model(s) for s in specs]
    return {c.name: c.path for c in cards}


class Recorder:
    """Records the stylized stream; timestamps are the capture times (variable frame rate)."""

    def __init__(self, path: str | Path, width: int, height: int, fps: float):
        self.sink = VideoFileSink(path, width, height, Fraction(1, 1000), Fraction(fps).limit_denominator(1001))
        self.start: float | None = None
        self.last_pts = -1

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        if self.start is None:
            self.start = frame.captured_at
        pts = max(round((frame.captured_at - self.start) * 1000), self.last_pts + 1)
        self.sink.write(frame.image, pts)
        self.last_pts = pts

    def close(self) -> None:
        self.sink.close()


class _Worker(threading.Thread):
    """A daemon thread that keeps its exception for the output thread to raise."""

    def __init__(self, name: str, target: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self.target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.target_fn()
        except BaseException as e:
            self.error = e


class LivePipeline:
    """Wires a live source, the styles and the outputs together; :meth:`run` until done."""

    def __init__(self, source: LiveSource, styles: LiveStyles, controls: LiveControls,
                 outputs: list[Output] | None = None, snapshot_dir: str | Path = "."):
        self.source, self.styles, self.controls = source, styles, controls
        self.outputs = list(outputs or [])
        self.snapshot_dir = Path(snapshot_dir)
        self.stats = LiveStats()
        self.captured: LatestSlot[VideoFrame] = LatestSlot()
        self.stylized: LatestSlot[StyledFrame] = LatestSlot()
        self.stop = threading.Event()
        self.seconds = 0.0

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
                t = time.perf_counter()
                frame.image = self.styles(frame.image, state)
                self.stats.add_inference(time.perf_counter() - t)
                self.stylized.put(StyledFrame(frame, state.style))
        finally:
            self.stylized.close()

    # --- output (calling thread) -------------------------------------------------------
    @property
    def dropped(self) -> int:
        return self.captured.dropped + self.stylized.dropped

    def status(self, style: str) -> LiveStatus:
        s = self.stats
        lat = np.array(s.recent_latency or [math.nan]) * 1000
        infer = np.median(s.recent_infer) * 1000 if s.recent_infer else math.nan
        return LiveStatus(style, s.fps(), float(infer), float(np.percentile(lat, 50)), float(np.percentile(lat, 95)),
                          s.captured, self.dropped, self.controls.state(), self.source.problem)

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
        workers = [_Worker("capture", self._capture), _Worker("inference", self._infer)]
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

    def summary(self) -> dict:
        """Whole-run figures for the JSON log and the closing line."""
        s = self.stats
        return {
            "source": self.source.describe(), "styles": list(self.controls.styles), "scale": self.styles.scale,
            "seconds": round(self.seconds, 3), "frames_captured": s.captured, "frames_stylized": s.stylized,
            "frames_shown": s.shown, "dropped_before_inference": self.captured.dropped,
            "dropped_before_output": self.stylized.dropped, "dropped": self.dropped,
            "dropped_rate": round(self.dropped / s.captured, 4) if s.captured else 0.0,
            "output_fps": round(s.shown / self.seconds, 2) if self.seconds else 0.0,
            "out_of_order": s.out_of_order,
            "inference_ms": s.inference.summary(), "latency_ms": s.latency.summary(),
        }


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
