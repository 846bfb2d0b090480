"""Render on a Ray cluster: the segments of long videos, and many videos, across workers.

The driver (this process) plans each input into keyframe-aligned segments
(rtstyle.segments), hands them to Ray actors and joins each video when its segments are
done. An actor holds one style session for its lifetime, so a model is loaded once per
worker, not once per segment. Segment files go to a folder beside the output: on a
multi-node cluster that folder, the inputs and any style files given by path must be on
storage every node sees (docs/scale_out.md).

Faults: an actor whose process dies is restarted by Ray and its segment rendered again
(the same input, model and encoder settings give the same file). A segment that fails
for another reason (a damaged stretch of input, a full disk) fails its video with the
segment and time range named; its finished segments stay for ``resume``.

Ray is optional (``pip install 'rtstyle[ray]'``); it is imported only here, when used.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any


import rtstyle
from rtstyle import headroom, segments, sequences, sinks
from rtstyle.batch import FileResult
from rtstyle.errors import MissingExtraError, RtstyleError, SinkError
from rtstyle.pipeline import CPU_WORKERS
from rtstyle.providers import CPU, choose_providers
from rtstyle.resume import input_identity
from rtstyle.sequence_sink import remove_pictures
from rtstyle.sources import VideoFileSource
from rtstyle.stylizer import Stylizer
from rtstyle.temporal import make_smoother

RETRIES = 3            # restarts of a dead worker, and new attempts of the segment it held
POLL_SECONDS = 0.25    # progress and Ctrl-C are looked at this often
GPU_PROVIDERS = ("cuda", "tensorrt")
SEGMENTS_PER_WORKER = 2  # more pieces than workers, so a worker that finishes early takes another
MIN_SEGMENT_SECONDS = 5.0  # below this, start-up and warm-up would weigh more than a few per cent


def require_ray() -> ModuleType:
    """Ray, or one line saying how to install it."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("--ray needs Ray: pip install 'rtstyle[ray]'") from None
    return ray


@dataclass
class Settings:
    """Everything a worker needs to render a segment exactly as the one-machine render would."""

    style: str
    style_options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of rtstyle.load_style
    smooth: tuple[str, float, float] = ("flow", 0.6, 0.0)        # mode, strength, deadband
    crf: int = 18
    segment_seconds: float | None = None  # None: each video in about 2 segments per worker (SEGMENTS_PER_WORKER)
    start: float = 0.0                    # a part of each video only (rtstyle.render's start and duration)
    duration: float | None = None
    max_size: tuple[int, int] | None = None  # rtstyle.render's: larger frames shrunk to fit
    rate: Fraction | None = None             # rtstyle.render's: an image sequence's frame rate
    audio: str | None = None                 # rtstyle.render's: another file's sound, joined in (no segment's)
    codec: str | None = None                 # rtstyle.render's: the output's video codec (its segments' too)
    cpus_per_worker: int = 1

    @property
    def gpu(self) -> bool:
        return str(self.style_options.get("providers", "auto")).lower() in GPU_PROVIDERS

    @property
    def warmup(self) -> int:
        return segments.lead_frames(make_smoother(*self.smooth))

    def fingerprint(self) -> str:
        """What decides the segments' pixels: a resumed render may reuse segments only when it matches."""
        # Style pictures are a {Path: weight} dict, which JSON cannot key.
        return repr({k: v for k, v in asdict(self).items() if k != "audio"})


class SegmentWorker:
    """A Ray actor: one loaded style, rendering the segments it is given in turn, ``frames`` at
    once on a CPU (default: :func:`frames_at_once`; one on a GPU).

    It runs two calls at once (``max_concurrency=2``) so that the driver can ask how far the
    segment in hand has got (:meth:`written`) while :meth:`render` works.
    """

    def __init__(self, settings: Settings, frames: int | None = None):
        self.settings = settings
        cpu = choose_providers(settings.style_options.get("providers", "auto"))[0] == CPU
        self.workers = (frames or frames_at_once(settings)) if cpu else 1
        threads = settings.style_options.get("threads") or max(1, settings.cpus_per_worker // self.workers)
        self.stylizer = rtstyle.load_style(settings.style, **{**settings.style_options, "threads": threads})
        self.frames = 0

    def pid(self) -> int:
        return os.getpid()

    def written(self) -> int:
        """Frames of the segment in hand written so far."""
        return self.frames

    def render(self, src: str, segment: segments.Segment, folder: str, encoder: tuple[str, dict[str, str]] | None,
               picture: tuple[int, int, int, int] | None,
               pictures: tuple[str, int, Fraction | None] | None = None, alpha: bool = False) -> segments.SegmentResult:
        self.frames = 0

        def on_frame(report: Any) -> None:
            self.frames = report.frames_out

        return segments.render_segment(src, segment, Path(folder), self.stylizer, make_smoother(*self.settings.smooth),
                                       workers=self.workers, crf=self.settings.crf, encoder=encoder,
                                       on_frame=on_frame, max_size=self.settings.max_size, picture=picture,
                                       rate=self.settings.rate, pictures=pictures, alpha=alpha)


@dataclass
class _Job:
    """One input on its way through the cluster."""

    number: int
    src: Path
    dst: Path
    folder: Path
    index: segments.Index | None = None
    # The output's video encoder and its container's options, which its segments are encoded with
    # (None: the output is numbered pictures, which the segments write where they go).
    encoder: tuple[str, dict[str, str]] | None = ("libx264", {})
    numbers: tuple[int, Fraction] | None = None  # an image sequence input's first number and rate
    # The picture inside black bars, found once on the whole video, the same for every segment.
    picture: tuple[int, int, int, int] | None = None
    # Whether the output keeps the input's transparency (ProRes 4444, VP9 in WebM), decided once as on one machine.
    alpha: bool = False
    size: tuple[int, int] = (0, 0)  # the frames' width and height as painted (after max_size)
    identity: dict = field(default_factory=dict)  # rtstyle.resume.input_identity, for the manifest
    plan: list[segments.Segment] = field(default_factory=list)
    joiner: segments.Joiner | None = None
    joined: int = 0  # segments of the plan copied into the output so far
    done: dict[int, segments.SegmentResult] = field(default_factory=dict)
    resumed: set[int] = field(default_factory=set)
    live: bool = False  # planned, with a segment folder of this run's
    errors: dict[int, str] = field(default_factory=dict)  # segment index -> its one-line error
    result: FileResult | None = None
    started: float = field(default_factory=time.perf_counter)

    @property
    def pictures(self) -> bool:
        return sequences.is_pattern(self.dst)

    def pictures_of(self, seg: segments.Segment) -> tuple[str, int, Fraction | None] | None:
        """Where a segment writes its frames as numbered pictures, and their numbers: an image
        sequence's own (by time, which a segment's frames keep), else one more each frame of the
        render from 1, counted over the segments before it (rtstyle.sequence_sink.SequenceSink)."""
        if not self.pictures:
            return None
        if self.numbers:
            return str(self.dst), *self.numbers
        return str(self.dst), 1 + sum(s.frames for s in self.plan[:self.plan.index(seg)]), None


def frames_at_once(settings: Settings) -> int:
    """Frames a worker paints at once on its CPUs: two where it has two or more."""
    return min(CPU_WORKERS, settings.cpus_per_worker)


def segment_folder(dst: Path) -> Path:
    """Where a render's segments wait to be joined: beside the output, on the same storage."""
    return dst.parent / f".{dst.name}.segments"


def _manifest(identity: dict, settings: Settings, seconds: float, plan: list[segments.Segment]) -> dict:
    """What a resumed render must find unchanged: the input (rtstyle.resume.input_identity), the
    settings and the plan."""
    return {**identity, "settings": hashlib.sha256(settings.fingerprint().encode()).hexdigest(),
            "segment_seconds": seconds, "segments": [[s.start, s.end] for s in plan]}


def segment_seconds(video: segments.Index, workers: int) -> float:
    """Segment length for a video when none is given: about SEGMENTS_PER_WORKER pieces per worker."""
    return max(MIN_SEGMENT_SECONDS, video.seconds / (SEGMENTS_PER_WORKER * workers))


def _inspect(job: _Job, settings: Settings) -> None:
    """Read what the input is (its index, frames, transparency) and how its output is encoded."""
    job.encoder = None if job.pictures else sinks.encoder_for(job.dst, settings.codec)
    if settings.audio:
        sinks.check_soundtrack(settings.audio, job.dst)
    job.index = segments.read_index(job.src, settings.rate)
    with VideoFileSource(job.src, reference=False, max_size=settings.max_size, rate=settings.rate) as source:
        job.picture = source.picture_box()
        job.size = (source.width, source.height)
        job.alpha = source.has_alpha and not job.pictures and sinks.keeps_alpha(job.dst, settings.codec)
        job.numbers = (source.sequence.first, source.sequence.rate) if source.sequence else None
        job.identity = input_identity(source)


def _prepare(job: _Job, settings: Settings, resume: bool, workers: int, overwrite: bool = False) -> None:
    """Plan the :func:`_inspect`-ed input and set up its segment folder; with ``resume``, keep the
    segments already done; with ``overwrite``, segments that are not kept (not ``resume``, or of
    other settings) are removed."""
    path = job.folder / "plan.json"
    stored = json.loads(path.read_text()) if resume and path.is_file() else {}
    seconds = stored.get("segment_seconds") or settings.segment_seconds or segment_seconds(job.index, workers)
    job.plan = segments.plan(job.index, seconds, settings.warmup, start=settings.start, duration=settings.duration)
    manifest = _manifest(job.identity, settings, seconds, job.plan)
    if job.folder.exists() and overwrite and (not resume or stored != manifest):
        shutil.rmtree(job.folder)  # an earlier render's, rendered again from the start
    if job.folder.exists():
        if not resume:
            raise SinkError(f"{job.folder} holds the segments of an earlier render of {job.src.name}: "
                            "add --resume to reuse them, or --overwrite to render it again")
        if stored != manifest:
            raise SinkError(f"{job.folder} holds segments of another input or other settings: "
                            "add --overwrite to render it again")
        for seg in job.plan:
            part = segments.part_path(job.folder, seg.index, job.pictures)
            if part.is_file():
                job.done[seg.index] = segments.SegmentResult(seg.index, seg.frames, 0.0)
                job.resumed.add(seg.index)
    else:
        if job.pictures:
            remove_pictures(job.dst)  # an earlier render's (check_output let them be replaced)
        job.folder.mkdir()
        path.write_text(json.dumps(manifest))
    job.live = True


def _cause(error: BaseException) -> str:
    """The worker's own error, in one line."""
    cause = getattr(error, "cause", None) or error
    if isinstance(cause, RtstyleError):
        return str(cause)
    return f"{type(cause).__name__}: {cause}".splitlines()[0]


def _could_not_start(error: BaseException) -> str:
    """Why a worker did not start (its style did not load there, say), in one line."""
    return f"its worker could not start: {str(error).strip().splitlines()[-1]}"


class Cancelled(Exception):
    """The render was stopped (Ctrl-C, SIGTERM): workers killed, segment folders removed."""


def render_files(pairs: Sequence[tuple[Path, Path]], settings: Settings, address: str | None = None,
                 workers: int | None = None, resume: bool = False, overwrite: bool = False,
                 on_progress: Callable[[int, int], None] | None = None,
                 stop: threading.Event | None = None,
                 on_segment: Callable[[Path, segments.SegmentResult], None] | None = None,
                 on_note: Callable[[str], None] | None = None) -> list[FileResult]:
    """Render every (input, output) pair on Ray; one result per pair, failures included.

    Connects to ``address`` (or RAY_ADDRESS, or starts a local runtime) unless Ray is
    already initialised; a runtime started here is shut down at the end. ``workers``
    actors (default: as many as the nodes' CPUs and memory, or GPUs, hold) render segments from
    all inputs. ``on_progress(frames_done, frames_total)`` is called a few times a second,
    ``on_segment(input, result)`` with each segment rendered (which worker, when), ``on_note(line)``
    where the memory of the nodes holds fewer workers than their CPUs (:func:`_fit`), or where no
    node has what a worker takes (a GPU, its CPUs) on a cluster given by address, which an
    autoscaler may grow (on the local runtime that is an RtstyleError). ``resume``
    reuses the segments an earlier render of the same input and settings kept; ``overwrite``
    removes those it does not reuse (else they are an error: nothing is thrown away unasked).
    ``stop`` (or KeyboardInterrupt) cancels: workers are killed, unfinished outputs and
    segment folders removed, and :class:`Cancelled` is raised.
    """
    ray = require_ray()
    stop = stop or threading.Event()
    started = not ray.is_initialized()
    if started:
        term = signal.getsignal(signal.SIGTERM)
        # On a runtime that lives as long as this render, Ray's notice that it turned token
        # authentication on says nothing the user can act on.
        auth = logging.getLogger("ray._private.authentication.authentication_token_setup")
        level = auth.level
        if not (address or os.environ.get("RAY_ADDRESS")):
            auth.setLevel(logging.ERROR)
        ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False, include_dashboard=False)
        auth.setLevel(level)
        if callable(term) and threading.current_thread() is threading.main_thread():
            # ray.init puts its own in (exit at once, after a dump of the C stack): the caller's
            # (the command's: cancel as Ctrl-C does) is put back.
            signal.signal(signal.SIGTERM, term)
    try:
        jobs = [_Job(n, Path(src), Path(dst), segment_folder(Path(dst))) for n, (src, dst) in enumerate(pairs)]
        for job in jobs:
            try:
                _inspect(job, settings)
            except RtstyleError as e:
                job.result = FileResult(job.src, job.dst, error=str(e))
        nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]  # each node's CPUs, GPUs, memory
        fit = None
        if settings.gpu:
            workers = workers or int(sum(node.get("GPU", 0) for node in nodes))
        else:
            fit = _fit(nodes, settings, [job for job in jobs if not job.result])
            if (fit.note or fit.warning) and on_note:
                on_note(f"note: {fit.note}" if fit.note else f"warning: {fit.warning}")
            workers = workers or fit.workers
        workers = max(1, workers)
        lacking = _lacking(nodes, settings)
        if lacking and started and not (address or os.environ.get("RAY_ADDRESS")):
            raise RtstyleError(lacking)  # the local runtime gets no more nodes: a worker would wait for ever
        if lacking and on_note:
            on_note(f"warning: {lacking}: the render waits until the cluster has one (an autoscaler adding it)")
        for job in jobs:
            try:
                if not job.result:
                    _prepare(job, settings, resume, workers, overwrite)
            except RtstyleError as e:
                job.result = FileResult(job.src, job.dst, error=str(e))
        return _Driver(ray, jobs, settings, workers, on_progress, stop, on_segment, fit).run()
    finally:
        if started:
            ray.shutdown()


def _lacking(nodes: list[dict[str, float]], settings: Settings) -> str | None:
    """What no node of the cluster (``nodes``: each one's Ray resources) has for a worker (its CPUs,
    a GPU), said in a line; None where one has it."""
    wants = {"CPU": settings.cpus_per_worker, **({"GPU": 1} if settings.gpu else {})}
    if any(all(node.get(name, 0) >= count for name, count in wants.items()) for node in nodes):
        return None
    what = " and ".join(f"{count} {name}{'s' if count > 1 else ''}" for name, count in wants.items())
    hint = " (leave out --provider to render on the CPUs)" if settings.gpu else ""
    return f"no node of the Ray cluster has the {what} a worker takes{hint}"


def _fit(nodes: list[dict[str, float]], settings: Settings, jobs: list[_Job]) -> headroom.ClusterFit:
    """Workers for the CPUs and the memory of the cluster's ``nodes`` (each one's Ray resources;
    rtstyle.headroom.cluster_fit), sized for the largest frames of ``jobs``."""
    held = [(int(node.get("CPU", 0) // settings.cpus_per_worker), node.get("memory", 0.0)) for node in nodes]
    width, height = max((job.size for job in jobs), key=lambda size: size[0] * size[1], default=(0, 0))

    def load() -> Stylizer | None:
        try:
            return rtstyle.load_style(settings.style, **settings.style_options)
        except RtstyleError:
            return None  # the workers say why, one line for each video

    return headroom.cluster_fit(load, held, frames_at_once(settings), width, height)


class _Driver:
    """Keeps every worker busy with segments, joins each video when its last segment is in."""

    def __init__(self, ray: ModuleType, jobs: list[_Job], settings: Settings, workers: int,
                 on_progress: Callable[[int, int], None] | None, stop: threading.Event,
                 on_segment: Callable[[Path, segments.SegmentResult], None] | None = None,
                 fit: headroom.ClusterFit | None = None):
        self.ray, self.jobs, self.settings, self.on_progress, self.stop = ray, jobs, settings, on_progress, stop
        self.on_segment = on_segment
        live = [job for job in jobs if job.live]
        self.todo = deque((job, seg) for job in live for seg in job.plan if seg.index not in job.done)
        self.total = sum(seg.frames for job in live for seg in job.plan)
        self.done = sum(job.done[i].frames for job in live for i in job.resumed)  # frames of finished segments
        self.shown = 0
        count = max(1, min(workers, len(self.todo)))
        # Where the frames are big for the nodes, each worker reserves its memory (Ray's memory resource).
        reserved = fit.memory if fit else None
        actor = ray.remote(SegmentWorker).options(num_cpus=settings.cpus_per_worker, num_gpus=int(settings.gpu),
                                                  memory=reserved, max_restarts=RETRIES,
                                                  max_task_retries=RETRIES, max_concurrency=2)
        frames = fit.frames if reserved else None
        self.workers = [actor.remote(settings, frames) for _ in range(count)] if self.todo else []
        # A worker is given segments once it has started: one that Ray cannot place yet (a shared
        # cluster's CPUs or memory taken by other work) would hold a segment the others could render.
        self.starting = {worker.pid.remote(): worker for worker in self.workers}
        self.idle: list[Any] = []
        self.inflight: dict[Any, tuple[Any, _Job, segments.Segment]] = {}
        self.written: dict[Any, int] = {}  # in-flight segment -> frames its worker has written

    def run(self) -> list[FileResult]:
        try:
            for job in self.jobs:
                if job.live:
                    self._join(job)  # segments from an earlier run
            while self.todo or self.inflight:
                self._start()
                self._dispatch()
                if not self.inflight and not self.starting:
                    break  # what was left belonged to videos that have failed
                ready, _ = self.ray.wait([*self.inflight, *self.starting], num_returns=1, timeout=POLL_SECONDS)
                if self.stop.is_set():
                    raise Cancelled()
                for ref in ready:
                    if ref in self.inflight:
                        self._collect(ref)
                if self.on_progress:
                    self.on_progress(self._frames_done(), self.total)
        except (KeyboardInterrupt, Cancelled):
            self._cancel()
            raise Cancelled() from None
        finally:
            for actor in self.workers:
                self.ray.kill(actor)
        return [job.result or FileResult(job.src, job.dst, error="not rendered") for job in self.jobs]

    def _start(self) -> None:
        """Workers that have started become idle; where none could start, every video left fails
        with the reason, named at its first segment not done."""
        ready, _ = self.ray.wait(list(self.starting), num_returns=len(self.starting), timeout=0) \
            if self.starting else ([], [])
        for ref in ready:
            worker = self.starting.pop(ref)
            try:
                self.ray.get(ref)
                self.idle.append(worker)
            except self.ray.exceptions.RayActorError as e:
                if self.starting or self.idle or self.inflight:
                    continue  # the others render its share
                reason = _could_not_start(e)
                for job, seg in self.todo:
                    if not job.errors and not job.result:
                        job.errors[seg.index] = f"{seg.describe(job.src.name)}: {reason}"
                        self._fail(job)
                self.todo.clear()

    def _dispatch(self) -> None:
        """One segment per idle worker: a segment queued behind another on a busy worker could
        not go to a worker that becomes idle first."""
        while self.idle and self.todo:
            job, seg = self.todo.popleft()
            if job.errors or job.result:
                continue  # the video has failed: its other segments would be wasted work
            worker = self.idle.pop(0)
            ref = worker.render.remote(str(job.src), seg, str(job.folder), job.encoder, job.picture,
                                       job.pictures_of(seg), job.alpha)
            self.inflight[ref] = (worker, job, seg)

    def _frames_done(self) -> int:
        """Frames written of all segments: finished ones, and what the busy workers say (a worker
        that does not answer at once, one restarting say, keeps its last count)."""
        asks = {worker.written.remote(): ref for ref, (worker, _, _) in self.inflight.items()}
        ready, _ = self.ray.wait(list(asks), num_returns=len(asks), timeout=POLL_SECONDS) if asks else ([], [])
        for answer in ready:
            try:
                self.written[asks[answer]] = self.ray.get(answer)
            except self.ray.exceptions.RayError:
                pass
        self.shown = max(self.shown, self.done + sum(self.written.get(ref, 0) for ref in self.inflight))
        return self.shown

    def _collect(self, ref: Any) -> None:
        worker, job, seg = self.inflight.pop(ref)
        self.idle.append(worker)
        self.written.pop(ref, None)
        try:
            job.done[seg.index] = self.ray.get(ref)
            self.done += job.done[seg.index].frames
            if self.on_segment:
                self.on_segment(job.src, job.done[seg.index])
        except self.ray.exceptions.RayActorError as e:
            if getattr(e, "actor_init_failed", False):  # the style did not load there: a restart would fail too
                reason = _could_not_start(e)
            else:
                reason = f"its worker died {RETRIES + 1} times"
            job.errors[seg.index] = f"{seg.describe(job.src.name)}: {reason}"
        except self.ray.exceptions.RayError as e:  # the worker's own error: a retry would fail again
            job.errors[seg.index] = f"{seg.describe(job.src.name)} failed: {_cause(e)}"
        if job.errors and not any(j is job for _, j, _ in self.inflight.values()):
            self._fail(job)
        elif not job.errors:
            self._join(job)

    def _fail(self, job: _Job) -> None:
        if job.joiner:
            job.joiner.discard()
        kept = len([i for i in job.done if segments.part_path(job.folder, i, job.pictures).is_file()])
        more = f" (and {len(job.errors) - 1} more)" if len(job.errors) > 1 else ""
        job.result = FileResult(job.src, job.dst, segments=len(job.plan),
                                error=f"{job.errors[min(job.errors)]}{more}; {kept} of {len(job.plan)} segments done are kept "
                                      f"in {job.folder} for --resume")

    def _join(self, job: _Job) -> None:
        """Copy the segments done into the output in order, up to the first one still rendering;
        after the last one, check the output."""
        if job.result:
            return  # its join failed already
        result = FileResult(job.src, job.dst, segments=len(job.plan))
        try:
            start, duration = job.plan[0].start_time if self.settings.start else 0.0, self.settings.duration
            # A part ends where it was asked to (rtstyle.render's length: from the first frame on).
            length = self.settings.start + duration - start if duration is not None else None
            while job.joined < len(job.plan) and job.plan[job.joined].index in job.done:
                seg = job.plan[job.joined]
                job.joiner = job.joiner or segments.Joiner(job.src, job.dst, job.index.reference, start=start,
                                                           length=length, rate=self.settings.rate,
                                                           audio=self.settings.audio)
                job.joiner.add(segments.part_path(job.folder, seg.index, job.pictures), seg)
                job.joined += 1
            if job.joined < len(job.plan):
                return
            report = job.joiner.finish()
        except RtstyleError as e:
            if job.joiner:
                job.joiner.discard()
            result.error = f"joining the segments failed: {e}; they are kept in {job.folder} for --resume"
        else:
            result.frames, result.check = report.frames_out, report.check
            result.seconds = time.perf_counter() - job.started
            if report.check.ok:
                shutil.rmtree(job.folder, ignore_errors=True)
            else:
                result.error = f"A/V check {report.check.summary()} (the file is kept)"
        job.result = result

    def _cancel(self) -> None:
        """Kill the workers, wait until their processes are gone, remove what is unfinished."""
        for worker in self.workers:
            self.ray.kill(worker, no_restart=True)
        if self.inflight:
            self.ray.wait(list(self.inflight), num_returns=len(self.inflight), timeout=10)
        for job in self.jobs:
            if job.live and job.result is None:
                if job.joiner:
                    job.joiner.discard()
                if job.pictures:  # cancelled leaves nothing: the pictures the segments wrote go too
                    remove_pictures(job.dst)
                shutil.rmtree(job.folder, ignore_errors=True)
                job.dst.unlink(missing_ok=True)
