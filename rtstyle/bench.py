"""Latency benchmark: per-stage timings of real models on this machine.

Two modes. *Inference*: a frame of the chosen size goes through preprocess, inference
and postprocess N times after a warm-up, one after another, so each stage's latency is
clean. *End-to-end*: the real render pipeline (decode, stylize, encode in overlapping
threads) runs on a real video file; its throughput is what a user gets. Both report
p50/p95/p99 per stage, and the start a user waits for apart (the load, which builds a
TensorRT engine, and the first frame); the rows carry machine facts so results can be compared.
"""
from __future__ import annotations

import contextlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

from rtstyle.errors import ModelError, RtstyleError
from rtstyle.frames import parse_size
from rtstyle.models import ModelCard, find_model, list_models, list_styles, split_style
from rtstyle.painter import Look, Painter
from rtstyle.pipeline import render_video
from rtstyle.providers import PRECISIONS as PROVIDER_PRECISIONS
from rtstyle.providers import PREFERENCE, SHORT, resolve, usable_cores
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource
from rtstyle.stylizer import Stylizer
from rtstyle.timing import StageTimer, Stats

PRECISIONS = (*PROVIDER_PRECISIONS, "int8")  # int8: a quantized copy of the model (tools/quantize.py)


@dataclass
class Case:
    """One benchmark row to run: a model on a provider at a precision and size."""

    style: str
    width: int
    height: int
    provider: str = "cpu"
    precision: str = "fp32"
    threads: int | None = None
    scale: float | None = None
    video: Path | None = None  # set: end-to-end render of this file (its own size)


@dataclass
class Result:
    model: str
    size: str
    provider: str
    precision: str
    threads: int | None
    mode: str
    scale: float = 1.0
    frames: int = 0
    seconds: float = 0.0
    stages: dict[str, Stats] = field(default_factory=dict)
    skipped: str | None = None      # why this row did not run
    latencies_ms: list[float] = field(default_factory=list, repr=False)  # per frame, for plots

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("model", "size", "provider", "precision", "threads", "mode", "scale",
                                            "frames", "skipped")}
        d.update(seconds=round(self.seconds, 3), fps=round(self.fps, 2),
                 stages={name: s.to_dict() for name, s in self.stages.items()})
        return d


def machine_info() -> dict:
    """Facts that decide the numbers: CPU, cores usable, library versions, providers built in."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import rtstyle
    return {"cpu": cpu, "cores": os.cpu_count(),
            "cores_usable": usable_cores(),
            "platform": platform.platform(), "python": platform.python_version(),
            "onnxruntime": ort.__version__, "providers": ort.get_available_providers(),
            "opencv": cv2.__version__, "rtstyle": rtstyle.__version__}


def int8_variant(card: ModelCard, models: Iterable[ModelCard]) -> ModelCard | None:
    """The int8 model quantized from ``card`` (tools/quantize.py), if one is on the search path."""
    for m in models:
        if m.info.get("precision") == "int8" and m.info.get("base_model") == card.name:
            return m
    return None


def default_models() -> list[ModelCard]:
    """The style models to measure when none are named: int8 variants count as a precision
    of their base model, and helper networks (style predictors) are not style models."""
    return [c for c in list_styles() if c.info.get("precision") != "int8"]


def representatives(cards: list[ModelCard]) -> list[str]:
    """One model per architecture: timings depend on the graph, not the weights, so the rest of
    a family (the eight quality-tier styles, say) would only repeat the first one's row. A card's
    ``net`` (trained nets: the shape they were built with) names the architecture, else its
    ``architecture`` text (baked models: the net they were baked from), else nothing does."""
    seen: dict[str, str] = {}
    for card in cards:
        shape = card.info.get("net") or card.info.get("architecture") or card.name
        seen.setdefault(json.dumps(shape, sort_keys=True), card.name)
    return list(seen.values())


def _frames(width: int, height: int, count: int) -> list[np.ndarray]:
    """Distinct frames of one size, so no cache effect flatters the timing (content does not change speed)."""
    rng = np.random.default_rng(0)
    base = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 3)
    return [np.roll(base, 7 * i, axis=1) for i in range(count)]


def _stylizer(case: Case, style: str | Path, frame_size: tuple[int, ...]) -> Stylizer:
    precision = "fp32" if case.precision == "int8" else case.precision
    stylizer = Stylizer(style, providers=case.provider, threads=case.threads, scale=case.scale,
                        frame_size=frame_size, precision=precision)
    if stylizer.engine.fallback_note:
        raise ModelError(stylizer.engine.fallback_note)  # a CUDA row that ran on the CPU would mislead
    return stylizer


def run_case(case: Case, warmup: int = 3, frames: int = 30, models: list[ModelCard] | None = None) -> Result:
    """Measure one case; a case that cannot run here comes back with ``skipped`` saying why."""
    mode = "end-to-end" if case.video else "inference"
    provider = "auto" if case.provider == "auto" else SHORT[resolve(case.provider)[0]]
    result = Result(model=Path(case.style).stem if str(case.style).endswith(".onnx") else case.style,
                    size="-" if case.video else f"{case.width}x{case.height}", provider=provider,
                    precision=case.precision, threads=case.threads, mode=mode)
    style: str | Path = case.style
    if case.precision == "int8":
        variant = int8_variant(find_model(case.style), models if models is not None else list_models())
        if variant is None:
            result.skipped = f"no int8 variant of {case.style} found (make one with tools/quantize.py)"
            return result
        style = variant.path
    try:
        if case.video:
            _run_video(case, style, result, warmup)
        else:
            _run_inference(case, style, result, warmup, frames)
    except ModelError as e:
        result.skipped = str(e)
    return result


def _started(case: Case, style: str | Path, first: np.ndarray, warmup: int, timer: StageTimer) -> Stylizer:
    """The stylizer, warmed up on ``warmup`` frames; the start a user waits for timed apart from
    the steady frames: ``load`` (the session: graph optimisation, a TensorRT engine built) and
    ``first frame`` (the first warm-up one: lazy initialisation, kernel tuning)."""
    with timer.time("load"):
        stylizer = _stylizer(case, style, first.shape[:2])
    for i in range(warmup):
        with timer.time("first frame") if i == 0 else contextlib.nullcontext():
            stylizer(first)
    return stylizer


def _run_inference(case: Case, style: str | Path, result: Result, warmup: int, frames: int) -> None:
    timer = StageTimer()
    inputs = _frames(case.width, case.height, min(frames, 8))
    stylizer = _started(case, style, inputs[0], warmup, timer)
    result.scale, result.provider = stylizer.scale, SHORT[stylizer.engine.provider]
    t0 = time.perf_counter()
    for i in range(frames):
        rgb = inputs[i % len(inputs)]
        with timer.time("frame"):
            _timed_stylize(stylizer, timer, rgb)
    result.seconds = time.perf_counter() - t0
    result.frames = frames
    result.latencies_ms = [s * 1000 for s in timer.samples["frame"]]
    result.stages = timer.summary()


def _timed_stylize(stylizer: Stylizer, timer: StageTimer, rgb: np.ndarray) -> np.ndarray:
    """One frame through the stylizer with each stage on the timer."""
    with timer.time("preprocess"):
        x = stylizer.preprocess(rgb)
    with timer.time("inference"):
        y = stylizer.infer(x)
    with timer.time("postprocess"):
        return stylizer.postprocess(y, rgb)


def _run_video(case: Case, style: str | Path, result: Result, warmup: int) -> None:
    """Render the whole video through the real pipeline into a temporary file, timing each stage."""
    timer = StageTimer()

    def paint(rgb: np.ndarray, look: Look) -> np.ndarray:
        with timer.time("stylize"):
            return _timed_stylize(stylizer, timer, rgb)

    with VideoFileSource(case.video) as source, tempfile.TemporaryDirectory() as tmp:
        result.size = f"{source.width}x{source.height}"
        stylizer = _started(case, style, _frames(source.width, source.height, 1)[0], warmup, timer)
        result.scale, result.provider = stylizer.scale, SHORT[stylizer.engine.provider]
        painter, look = Painter.of(stylizer)
        sink = VideoFileSink(Path(tmp) / "bench.mp4", source.width, source.height, source.time_base, source.fps)
        # Instrument the real source and sink in place: decode and encode are timed where they happen.
        frames_of = source.frames
        source.frames = lambda: timer.iterate("decode", frames_of())  # type: ignore[method-assign]
        sink.write = timer.wrap("encode", sink.write)  # type: ignore[method-assign]
        painter.paint = paint  # type: ignore[method-assign]
        report = render_video(source, sink, painter, look)
    if report.interrupted:
        raise KeyboardInterrupt
    result.frames, result.seconds = report.frames_out, report.seconds
    result.latencies_ms = [s * 1000 for s in timer.samples["stylize"]]
    result.stages = timer.summary()


def plan(styles: list[str], sizes: list[str], providers: list[str], precisions: list[str],
         threads: list[int | None], scale: float | None = None, video: Path | None = None,
         every_model: bool = False) -> list[Case]:
    """Every combination asked for; defaults: one model per architecture of ``default_models()``
    (``every_model``: all of them), every provider this onnxruntime build has, fp32, ORT's thread count."""
    if not styles:
        cards = default_models()
        styles = [c.name for c in cards] if every_model else representatives(cards)
        if not styles:
            raise RtstyleError("no style models found (see `rtstyle models`)")
    else:
        for style in styles:
            split_style(style)  # an unknown style fails before anything runs, as an unknown provider does
    if not providers:
        built_in = ort.get_available_providers()
        providers = [SHORT[name].lower() for name in PREFERENCE if name in built_in]
    for p in providers:
        resolve(p)  # unknown names fail before anything runs
    bad = [p for p in precisions if p not in PRECISIONS]
    if bad:
        raise RtstyleError(f"unknown precision {bad[0]} (choose from {', '.join(PRECISIONS)})")
    dims = [parse_size(s) for s in sizes]
    cases = [Case(style, w, h, provider, precision, t, scale)
             for style in styles for (w, h) in dims for provider in providers
             for precision in precisions or ["fp32"] for t in threads or [None]]
    if video:
        cases += [Case(style, 0, 0, provider, precision, t, scale, video)
                  for style in styles for provider in providers
                  for precision in precisions or ["fp32"] for t in threads or [None]]
    return cases


def format_table(results: list[Result]) -> str:
    """A fixed-width table: one row per case, p50 of every stage at the end."""
    head = (f"{'model':<22} {'mode':<10} {'size':>9} {'provider':<8} {'prec':<4} {'thr':>3} {'scale':>5} "
            f"{'fps':>7} {'p50':>8} {'p95':>8} {'p99':>8}  stages p50 ms")
    lines = [head, "-" * len(head)]
    for r in results:
        row = (f"{r.model[:22]:<22} {r.mode:<10} {r.size:>9} {r.provider:<8} {r.precision:<4} "
               f"{r.threads or '-':>3} {r.scale:>5.2f} ")
        if r.skipped:
            lines.append(row + f"skipped: {r.skipped}")
            continue
        total = r.stages.get("frame") or r.stages.get("stylize")
        stages = ", ".join(f"{n} {s.p50_ms:.1f}" for n, s in r.stages.items() if n not in ("frame", "stylize"))
        lines.append(row + f"{r.fps:>7.1f} {total.p50_ms:>8.1f} {total.p95_ms:>8.1f} {total.p99_ms:>8.1f}  {stages}")
    return "\n".join(lines)


def to_json(results: list[Result], machine: dict, settings: dict) -> str:
    return json.dumps({"machine": machine, "settings": settings, "results": [r.to_dict() for r in results]},
                      indent=2)


def plot(results: list[Result], path: Path) -> None:
    """Per-frame latency distributions, one box per row that ran (needs matplotlib: rtstyle[plot])."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RtstyleError("--plot needs matplotlib (pip install 'rtstyle[plot]')") from None
    ran = [r for r in results if not r.skipped and r.latencies_ms]
    if not ran:
        raise RtstyleError("nothing ran, so there is nothing to plot")
    # One horizontal box per row, in table order from the top: stays readable for dozens of rows.
    fig, ax = plt.subplots(figsize=(9.0, 1.2 + 0.32 * len(ran)))
    ax.boxplot([r.latencies_ms for r in reversed(ran)], whis=(1, 99), showfliers=True, vert=False)
    ax.set_yticks(range(1, len(ran) + 1),
                  [f"{r.model} {r.size} {r.provider} {r.precision} {r.mode}" for r in reversed(ran)], fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("per-frame latency (ms, log)")
    ax.set_title("rtstyle bench: whiskers at p1/p99")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
