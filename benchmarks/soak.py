"""Soak: a long render and a long live run must keep memory, threads and open files flat.

Two phases, each sampled every ``--interval`` seconds from /proc (resident memory, OS
threads, open file descriptors) and from Python (``threading.active_count``):

- render: a long generated clip (a real clip looped, with an AAC tone track) rendered
  through :func:`rtstyle.render` with flow smoothing: ``--render-frames`` frames.
- live: a real clip played as a looped live source (:class:`PacedSource`) through the
  live pipeline with flow smoothing for ``--live-minutes``.

For each phase the report gives RSS at the start, after the warm-up and at the end, the
least-squares slope of RSS after the warm-up (MB per 1,000 frames and per minute), the
most threads and descriptors seen, and both counts before and after the phase (a
thread or descriptor left behind by a finished render is a leak). Not part of the test
suite (tests/test_soak.py runs a reduced soak, marked slow):

    nice -n 10 python -m benchmarks.soak --json results/soak.json --markdown results/soak.md
    python -m benchmarks.soak --render-frames 600 --live-minutes 0.5    # a quick look
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import onnxruntime as ort
import numpy as np

import rtstyle
from benchmarks.common import EXAMPLE, fit, splice
from rtstyle.controls import LiveControls
from rtstyle.frames import VideoFrame, parse_size
from rtstyle.live import LivePipeline
from rtstyle.outputs import LiveStatus
from rtstyle.painter import Look, Painter, style_names
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import PacedSource, VideoFileSource

# Growth (MB) over a whole phase, extrapolated from the slope, below which memory counts as
# flat: allocator noise and the first passes' caches stay under it, a leak of even 1 KB a
# frame over 10,000 frames does not.
FLAT_MB = 8.0


@dataclass
class Sample:
    seconds: float   # since the phase started
    frames: int      # frames finished by then
    rss_mb: float    # VmRSS
    threads: int     # OS threads of the process (/proc/self/task): ORT's and FFmpeg's too
    py_threads: int  # threading.active_count()
    fds: int         # open file descriptors


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status (the soak needs Linux)")


def probe(seconds: float = 0.0, frames: int = 0) -> Sample:
    """One reading of the process's resources."""
    return Sample(round(seconds, 2), frames, round(_status_kb("VmRSS") / 1024, 2), len(os.listdir("/proc/self/task")),
                  threading.active_count(), len(os.listdir("/proc/self/fd")))


def settled(baseline: Sample | None = None, seconds: float = 3.0) -> Sample:
    """A probe once finished threads are gone: a joined thread can take a moment to leave
    /proc on a loaded machine, and only what is still there after ``seconds`` is a leak.
    Without ``baseline``: waits until the count stops falling (a baseline of its own)."""
    last = probe()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = probe()
        if baseline is not None and now.threads <= baseline.threads and now.fds <= baseline.fds:
            return now
        if baseline is None and (now.threads, now.fds) == (last.threads, last.fds):
            return now
        last = now
    return last


class Sampler(threading.Thread):
    """Probes every ``interval`` seconds, with ``frames()`` telling how far the phase got."""

    def __init__(self, interval: float, frames: Callable[[], int]):
        super().__init__(name="soak-sampler", daemon=True)
        self.interval, self.frames = interval, frames
        self.samples: list[Sample] = []
        self.t0 = time.monotonic()
        self._done = threading.Event()

    def sample(self) -> None:
        self.samples.append(probe(time.monotonic() - self.t0, self.frames()))

    def run(self) -> None:
        self.sample()
        while not self._done.wait(self.interval):
            self.sample()

    def finish(self) -> list[Sample]:
        self._done.set()
        self.join()
        self.sample()
        return self.samples


def slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of y over x (0 with fewer than three points or no spread)."""
    if len(x) < 3 or max(x) == min(x):
        return 0.0
    return float(np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)[0])


def analyse(samples: list[Sample], before: Sample, after: Sample, warmup: float) -> dict:
    """The phase's figures: memory slope after ``warmup`` (a fraction of the run), peaks, leaks."""
    start_at = samples[-1].seconds * warmup
    steady = [s for s in samples if s.seconds >= start_at]
    rss = [s.rss_mb for s in steady]
    per_frame = slope([s.frames for s in steady], rss) * 1000
    per_minute = slope([s.seconds / 60 for s in steady], rss)
    minutes = (steady[-1].seconds - steady[0].seconds) / 60
    growth = per_minute * minutes
    return {
        "frames": samples[-1].frames, "minutes": round(samples[-1].seconds / 60, 2), "samples": len(samples),
        "warmup_minutes": round(start_at / 60, 2),
        "rss_start_mb": samples[0].rss_mb, "rss_after_warmup_mb": steady[0].rss_mb, "rss_end_mb": samples[-1].rss_mb,
        "rss_max_mb": max(s.rss_mb for s in samples),
        "slope_mb_per_1000_frames": round(per_frame, 4), "slope_mb_per_minute": round(per_minute, 4),
        "growth_after_warmup_mb": round(growth, 2),
        "threads_max": max(s.threads for s in samples), "py_threads_max": max(s.py_threads for s in samples),
        "fds_max": max(s.fds for s in samples),
        "threads_before": before.threads, "threads_after": after.threads,
        "py_threads_before": before.py_threads, "py_threads_after": after.py_threads,
        "fds_before": before.fds, "fds_after": after.fds,
        "flat": growth < FLAT_MB, "leaks": after.threads > before.threads or after.py_threads > before.py_threads
        or after.fds > before.fds,
    }


def make_long_clip(dst: Path, frames: int, width: int, height: int, fps: int = 25, src: Path = EXAMPLE) -> Path:
    """``frames`` frames of a real clip, looped and resized, with a 440 Hz AAC tone as long as the video."""
    source = VideoFileSource(src)
    pictures = [fit(f.image, width, height) for f in source.frames()]
    source.close()
    rate, tone_hz = 22050, 440.0
    sink = VideoFileSink(dst, width, height, Fraction(1, fps), Fraction(fps), crf=23)
    audio = sink.container.add_stream("aac", rate=rate, layout="mono")
    samples_done = 0

    def audio_until(t: float) -> None:
        nonlocal samples_done
        while samples_done < t * rate:
            n = 1024
            k = np.arange(samples_done, samples_done + n)
            frame = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * tone_hz * k / rate)).astype(np.float32)[None],
                                               format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, samples_done
            sink.container.mux(audio.encode(frame))
            samples_done += n

    try:
        for i in range(frames):
            sink.write(pictures[i % len(pictures)], i)
            audio_until((i + 1) / fps)
        sink.container.mux(audio.encode(None))
    finally:
        sink.close()
    return dst


def soak_render(style: str, frames: int, size: tuple[int, int], interval: float, warmup: float, threads: int | None,
                folder: Path) -> dict:
    """Render a ``frames``-frame clip once, sampling as it goes."""
    clip = make_long_clip(folder / "long.mp4", frames, *size)
    stylizer = rtstyle.load_style(style, threads=threads)
    # A short render first: ORT's and OpenCV's thread pools start on first use and stay,
    # so they belong in the baseline, not among the leaks.
    rtstyle.render(make_long_clip(folder / "warmup.mp4", 50, *size), folder / "warmup-out.mp4", stylizer)
    done = [0]
    before = settled()
    sampler = Sampler(interval, lambda: done[0])
    sampler.start()

    def on_frame(report: rtstyle.RenderReport) -> None:
        done[0] = report.frames_out

    report = rtstyle.render(clip, folder / "out.mp4", stylizer, overwrite=True, on_frame=on_frame,
                            smooth=rtstyle.make_smoother("flow"))
    samples = sampler.finish()
    figures = analyse(samples, before, settled(before), warmup)
    figures.update(fps=round(report.processing_fps, 1), audio=report.audio, frames_in=report.frames_in)
    return {"figures": figures, "samples": [asdict(s) for s in samples]}


class CountingOutput:
    """A live output that only counts: what is measured is the pipeline, not a display."""

    def __init__(self) -> None:
        self.shown = 0

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        status.hud_lines()  # what a window would draw each frame
        self.shown += 1

    def close(self) -> None:
        """Nothing to release."""


def soak_live(style: str, minutes: float, size: tuple[int, int], fps: float, interval: float, warmup: float,
              threads: int | None) -> dict:
    """Play a real clip looped at ``fps`` through the live pipeline for ``minutes``."""
    styles = Painter(style_names([style]), rtstyle.make_smoother("flow"), threads=threads)
    name = styles.names[0]
    controls = LiveControls([name], smoothing=True)
    # Load the model and start the thread pools (ORT, OpenCV) before the baseline: two moved
    # frames so the smoother computes a flow.
    picture = np.random.default_rng(0).integers(0, 256, (size[1], size[0], 3), np.uint8)
    look = Look(name)
    for shift in (0, 2):
        moved = np.roll(picture, shift, axis=1)
        styles.settle(moved, styles.paint(moved, look), look)
    output = CountingOutput()
    source = PacedSource(EXAMPLE, loop=True, size=size, fps=fps)
    before = settled()
    sampler = Sampler(interval, lambda: output.shown)
    sampler.start()
    summary = LivePipeline(source, styles, controls, [output]).run(duration=minutes * 60)
    samples = sampler.finish()
    figures = analyse(samples, before, settled(before), warmup)
    figures.update(passes=source.passes, frames_captured=summary["frames_captured"], dropped=summary["dropped"],
                   output_fps=summary["output_fps"], latency_p50_ms=summary["latency_ms"]["p50"])
    return {"figures": figures, "samples": [asdict(s) for s in samples]}


def markdown(result: dict) -> str:
    """The closing table: one row per phase."""
    rows = ["| phase | frames | minutes | RSS start / after warm-up / end (MB) | slope MB/1000 frames | "
            "slope MB/min | growth after warm-up (MB) | threads max (before -> after) | fds max (before -> after) | "
            "verdict |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for phase in ("render", "live"):
        if phase not in result:
            continue
        f = result[phase]["figures"]
        verdict = ("flat" if f["flat"] else "GROWS") + (", LEAKS threads/fds" if f["leaks"] else ", no leak")
        rows.append(f"| {phase} | {f['frames']} | {f['minutes']} | {f['rss_start_mb']:.1f} / "
                    f"{f['rss_after_warmup_mb']:.1f} / {f['rss_end_mb']:.1f} | {f['slope_mb_per_1000_frames']:+.3f} | "
                    f"{f['slope_mb_per_minute']:+.3f} | {f['growth_after_warmup_mb']:+.2f} | {f['threads_max']} "
                    f"({f['threads_before']} -> {f['threads_after']}) | {f['fds_max']} ({f['fds_before']} -> "
                    f"{f['fds_after']}) | {verdict} |")
    notes = [f"style {result['style']}, {result['machine']}; warm-up {int(result['warmup'] * 100)}% of each phase; "
             f"flat = growth after warm-up < {FLAT_MB:g} MB"]
    if "live" in result:
        f = result["live"]["figures"]
        notes.append(f"live: {f['passes']} passes of the looped clip, {f['frames_captured']} frames captured, "
                     f"{f['dropped']} dropped, {f['output_fps']} fps out, latency p50 {f['latency_p50_ms']} ms")
    if "render" in result:
        f = result["render"]["figures"]
        notes.append(f"render: {f['fps']} fps, audio {f['audio']}")
    return "\n".join(rows + [""] + [f"- {n}" for n in notes]) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default="starry_night_fast", help="style name or .onnx path")
    ap.add_argument("--render-frames", type=int, default=10_000, help="0 skips the render phase")
    ap.add_argument("--render-size", type=parse_size, default=(160, 120))
    ap.add_argument("--live-minutes", type=float, default=10.0, help="0 skips the live phase")
    ap.add_argument("--live-size", type=parse_size, default=(160, 120))
    ap.add_argument("--live-fps", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    ap.add_argument("--warmup", type=float, default=0.1, help="fraction of each phase left out of the slope")
    ap.add_argument("--threads", type=int, default=1, help="inference threads")
    ap.add_argument("--json", type=Path, help="write every sample and the figures here")
    ap.add_argument("--markdown", type=Path, help="write the summary table here")
    ap.add_argument("--doc", type=Path, help="put the table into this doc's soak block (raw output: --json)")
    args = ap.parse_args()
    result: dict = {"style": args.style, "warmup": args.warmup,
                    "machine": f"{os.cpu_count()} CPUs, onnxruntime {ort.__version__}, av {av.__version__}"}
    if args.render_frames:
        with tempfile.TemporaryDirectory() as tmp:
            result["render"] = soak_render(args.style, args.render_frames, args.render_size, args.interval,
                                           args.warmup, args.threads, Path(tmp))
        print(json.dumps(result["render"]["figures"]), flush=True)
    if args.live_minutes:
        result["live"] = soak_live(args.style, args.live_minutes, args.live_size, args.live_fps, args.interval,
                                   args.warmup, args.threads)
        print(json.dumps(result["live"]["figures"]), flush=True)
    table = markdown(result)
    print(table)
    for path, text in ((args.json, json.dumps(result, indent=1)), (args.markdown, table)):
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + "\n")
    if args.doc:
        splice(args.doc, "soak", table, args.json)


if __name__ == "__main__":
    main()
