"""Threads and bounded queues that move frames from a source through a style to a sink.

Offline rendering is lossless: every decoded frame is stylized and written in order.
Decode, inference (one or more frames at once), smoothing and encode overlap in threads;
the queues between them are bounded so memory stays flat however long the video is.
"""
from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from rtstyle import avcheck
from rtstyle.frames import VideoFrame
from rtstyle.painter import Look, Painter
from rtstyle.providers import ROWS, choose_providers, usable_cores
from rtstyle.outputs import RenderOutput, RenderOutputs
from rtstyle.sources import VideoFileSource

T = TypeVar("T")
_END = object()
CPU_WORKERS = 2  # frames in flight for a CPU render (benchmarks/fast_path.py, section F)


def render_plan(providers: str | list[str] = "auto", threads: int | None = None,
                workers: int | None = None) -> tuple[int | None, int]:
    """ONNX Runtime threads per frame and frames stylized at once, for an offline render.

    On a CPU, two frames at once with half the cores each beat one frame on all of them:
    a style net's many small operators leave threads waiting on each other, and the
    decode, smoothing and encode threads fill the gaps. GPU engines run one frame at a
    time (their IO-binding buffers belong to the engine), and so does OpenVINO, which
    spreads one frame over the cores itself. Explicit values are kept.
    """
    cores = usable_cores()
    cpu = ROWS[choose_providers(providers)[0]].frames_at_once
    if workers is None:
        workers = min(CPU_WORKERS, cores) if cpu else 1
    if threads is None and cpu and workers > 1:
        threads = max(1, cores // workers)
    return threads, workers


@dataclass
class RenderReport:
    frames_expected: int | None = None  # from the source's header, for progress bars; None if unknown
    frames_in: int = 0
    frames_out: int = 0
    frames_kept: int = 0       # a resumed render's: frames kept from the stopped render's file (rtstyle.resume)
    skipped_packets: int = 0   # rejected by the decoder: their frames are missing
    damaged_packets: int = 0   # decoded with errors the decoder concealed
    seconds: float = 0.0
    interrupted: bool = False
    audio: str = "none"  # what happened to the source's audio (and subtitle) streams
    notes: list[str] = field(default_factory=list)  # what was changed or left out, for the user
    check: avcheck.AVCheck | None = None  # the output read back and compared with the input

    @property
    def processing_fps(self) -> float:
        """Frames rendered per second of wall-clock time: how fast this machine rendered,
        not the video's own frame rate."""
        return self.frames_out / self.seconds if self.seconds else 0.0


class Worker(threading.Thread):
    """A daemon thread that keeps its exception for the thread consuming its work to raise."""

    def __init__(self, name: str, target: Callable[[], None]):
        super().__init__(name=name, daemon=True)
        self.target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.target_fn()
        except BaseException as e:  # handed to the consumer thread, which raises it
            self.error = e
        finally:
            self.finish()

    def finish(self) -> None:
        """Runs after the work, once any error is recorded: a subclass tells its consumer here."""


class Stage(Worker):
    """Runs ``work`` over items from an iterable into a bounded queue; errors are re-raised by the consumer.

    ``workers`` > 1 runs ``work`` on that many items at once (ONNX Runtime and OpenCV let go
    of the GIL) and still delivers the results in order.
    """

    def __init__(self, name: str, items: Iterable[T], work: Callable[[T], object] | None, stop: threading.Event,
                 maxsize: int = 4, workers: int = 1):
        super().__init__(name, self._produce)
        self.items, self.work, self.stop, self.workers = items, work, stop, workers
        self.out: queue.Queue = queue.Queue(maxsize=maxsize)

    def _put(self, item: object) -> bool:
        while not self.stop.is_set():
            try:
                self.out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _outputs(self) -> Iterator[object]:
        if self.work is None:
            yield from self.items
        elif self.workers == 1:
            yield from map(self.work, self.items)
        else:
            with ThreadPoolExecutor(self.workers, thread_name_prefix=self.name) as pool:
                pending: deque[Future] = deque()
                for item in self.items:
                    pending.append(pool.submit(self.work, item))
                    if len(pending) == self.workers:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()

    def _produce(self) -> None:
        for out in self._outputs():
            if self.stop.is_set() or not self._put(out):
                break

    def finish(self) -> None:
        # The end marker must get through, or the consumer waits forever. Only when
        # stopping may queued items be dropped to make room for it.
        while not self._put(_END):
            try:
                self.out.get_nowait()
            except queue.Empty:
                pass
            try:
                self.out.put_nowait(_END)
                break
            except queue.Full:
                continue

    def results(self) -> Iterator[object]:
        """Consume this stage's output in order until its end marker."""
        while True:
            item = self.out.get()
            if item is _END:
                if self.error is not None:
                    raise self.error
                return
            yield item


def chain(source: Iterable[T], steps: list[tuple[str, Callable | None, int]], stop: threading.Event,
          maxsize: int = 4) -> list[Stage]:
    """Start one thread per step (name, work, workers), each feeding the next through a bounded queue.

    Consume ``stages[-1].results()``; after ``stop`` is set, join them all before closing
    what they read from.
    """
    items: Iterable = source
    stages = []
    for name, work, workers in steps:
        stage = Stage(name, items, work, stop, maxsize, workers)
        stage.start()
        stages.append(stage)
        items = stage.results()
    return stages


def render_video(source: VideoFileSource, sink: RenderOutput, painter: Painter, look: Look,
                 on_frame: Callable[[RenderReport], None] | None = None,
                 stop: threading.Event | None = None, workers: int = 1,
                 context: Callable[[np.ndarray, int], None] | None = None) -> RenderReport:
    """Paint every frame of ``source`` into ``sink``: decode, inference, smoothing and encode overlap.

    Each frame goes through the same per-frame path as live (:mod:`rtstyle.painter`):
    ``workers`` frames are painted at once, then settled (smoothed) one by one, in order.
    Frames with a negative index (a segment's context frames, rtstyle.segments) are painted and
    settled, then given to ``context(rgb, pts)`` (the segment's encoder; without it they are
    dropped): they prime the smoother and the encoder, and are no picture of the render's.

    ``stop`` (the CLI sets it on Ctrl-C or SIGTERM) or KeyboardInterrupt ends the render
    early; the sink is closed either way so the file holds every finished frame and the
    audio up to the last one. ``stop`` ends it between two frames; a KeyboardInterrupt
    can land inside a write. One that lands while the file is being finished removes it
    unless it plays, and is raised again. A render stopped before its first frame leaves no file.
    The finished file is then read back and checked against the input's own probe
    (``report.check``, see rtstyle.avcheck); a stream-only render has no file to check.
    """
    stop = stop or threading.Event()
    sink = sink if isinstance(sink, RenderOutputs) else RenderOutputs([sink])
    report = RenderReport(audio=sink.actions, notes=source.notes + sink.dropped,
                          frames_expected=source.frame_count_hint or None, frames_kept=source.frames_kept)
    painter.reset()  # a new source: nothing from a previous one may bleed in

    def paint(frame: VideoFrame) -> tuple[VideoFrame, np.ndarray]:
        return frame, painter.paint(frame.image, look)

    def smooth(item: tuple[VideoFrame, np.ndarray]) -> VideoFrame:
        frame, painted = item
        frame.image = painter.settle(frame.image, painted, look)
        return frame

    t0 = time.perf_counter()
    complete = False
    stages: list[Stage] = []
    last_time = 0.0
    try:
        stages = chain(source.frames(), [("decode", None, 1), ("stylize", paint, workers), ("smooth", smooth, 1)], stop)
        for frame in stages[-1].results():
            if frame.index < 0:  # a segment's context frame (rtstyle.segments): not part of the output
                if context:
                    context(frame.image, frame.pts)
                continue
            sink.show(frame, None)
            last_time = frame.time
            report.frames_out += 1
            report.frames_in = frame.index + 1
            if on_frame:
                on_frame(report)
            if stop.is_set():
                break
        complete = not stop.is_set()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        try:
            for stage in stages:
                stage.join(timeout=10)
            report.interrupted = not complete
            report.skipped_packets = source.skipped_packets
            report.damaged_packets = source.damaged_packets
            report.seconds = time.perf_counter() - t0
            # An interrupted render, or one of a part of the video, ends with its last frame, sound included.
            cut = not complete or source.duration is not None
            sink.close(complete=not cut)
        except KeyboardInterrupt:  # stopped at once while finishing: a half-written file would not play
            sink.discard()
            raise
        finally:
            source.close()
    if source.timing_note:
        report.notes.append(source.timing_note)
    # An image sequence says which pictures are missing; a video's damage is only counted.
    lost_pictures = source.lost_pictures(last_time if cut else None)
    if lost_pictures:
        report.notes.append("pictures that could not be decoded (cut short or damaged), their frames left out: "
                            + ", ".join(lost_pictures[:5]) + (f" and {len(lost_pictures) - 5} more"
                                                              if len(lost_pictures) > 5 else ""))
    if source.resized_frames:
        report.notes.append(f"{source.resized_frames} frames of a different size resized to the first one's")
    if report.frames_out and source.reference is not None and sink.path is not None:
        # Checked against the part of the input it rendered.
        # Frames still in the decoder are not lost; those before its first frame, in the part rendered, are.
        lost = source.skipped_packets + sum(t >= source.start - 1e-6 for t in source.lost_at_start) if cut \
            else source.lost_frames
        if source.sequence:  # known exactly: not the errors of pictures read ahead of a part's end
            lost = len(lost_pictures)
        report.check = avcheck.verify(sink.path, source.reference, rejected=lost, since=source.start,
                                      until=last_time if cut else None,
                                      header_frames=0 if source.trimmed else source.header_frames,
                                      decoder_delays=sink.decoder_delays)
    return report
