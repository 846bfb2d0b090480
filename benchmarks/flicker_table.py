"""Flicker / fidelity / latency of every smoothing mode, all measured in one run.

For each clip (cover-cropped to 640x360) and each style, every frame is stylized once;
each smoother then sees the same (input, stylized) pairs, so all rows of a table differ
only in the smoothing. E_warp is rtstyle.metrics' warping error (flow on the originals,
forward-backward occlusion mask); fidelity is the mean absolute difference to the
per-frame stylized frame (RGB in [0, 1]); "ema at equal E_warp" interpolates the ema
sweep to flow's E_warp, so the two are compared at the same steadiness.

Latency is measured on the first clip's frames in the same run, as CPU time of the
calling thread with one thread for ONNX Runtime and OpenCV: unlike wall time, it does
not depend on what else the machine is running. The network it is compared with is
the ``fast`` preset of tools.transformer_net (random weights: speed does not depend on
them; ``--latency-model`` takes a trained model instead), at 640x360 and at 320x180
(what a model with internal_scale 0.5 runs its network at).

Styles: the Magenta 26-style network (``--magenta``, style indices) and/or rtstyle
models (``--style``).

    python -m benchmarks.flicker_table --clip ../shared/data/videos/vtest.avi --clip bikes.mp4 \\
        --magenta multistyle26.onnx --magenta-style 19 --magenta-style 13 --still docs/temporal_still.jpg
    bash benchmarks/docs_figures.sh      # the run behind docs/temporal.md (--raw, --doc)
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import cv2
import numpy as np
import onnxruntime as ort

import rtstyle
from benchmarks.common import fast_model, splice
from rtstyle import flow, metrics, temporal
from rtstyle.sources import VideoFileSource

WIDTH, HEIGHT = 640, 360
LATENCY_FRAMES = 40
Stylize = Callable[[np.ndarray], np.ndarray]


class MagentaStyle:
    """One style of Magenta's conditional-instance-norm network (Dumoulin et al. 2017)."""

    def __init__(self, path: Path, index: int, threads: int):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.weights = np.zeros(26, np.float32)
        self.weights[index] = 1.0
        self.name = f"magenta{index}"

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
        y = self.session.run(None, {"image": x, "style_weights": self.weights})[0][0]
        return np.clip(y.transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def cover(rgb: np.ndarray) -> np.ndarray:
    """Scale to cover WIDTH x HEIGHT, then centre-crop (aspect kept)."""
    h, w = rgb.shape[:2]
    s = max(WIDTH / w, HEIGHT / h)
    size = (max(WIDTH, round(w * s)), max(HEIGHT, round(h * s)))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)
    top, left = (size[1] - HEIGHT) // 2, (size[0] - WIDTH) // 2
    return np.ascontiguousarray(img[top:top + HEIGHT, left:left + WIDTH])


def clip_frames(path: Path, limit: int) -> Iterator[np.ndarray]:
    source = VideoFileSource(path)
    try:
        for frame in source.frames():
            if frame.index >= limit:
                break
            yield cover(frame.image)
    finally:
        source.close()


Config = tuple[str, str, float, float]  # label, mode, strength, deadband


def configs(ema_sweep: list[float], strength: float, deadband: float) -> list[Config]:
    return [("none", "none", 0.0, 0.0),
            *[(f"ema {s:g}", "ema", s, 0.0) for s in ema_sweep],
            (f"flow {strength:g}", "flow", strength, 0.0),
            (f"deadband {deadband:g}", "none", 0.0, deadband),
            (f"flow {strength:g} + deadband {deadband:g}", "flow", strength, deadband)]


@dataclass
class Row:
    label: str
    smoother: temporal.Smoother
    deviation: float = 0.0
    e_warp: float = 0.0


def ema_at(rows: list[Row], e_warp: float) -> float | None:
    """Fidelity ema would have at ``e_warp``, interpolated along the ema sweep (None: out of reach)."""
    points = sorted((r.e_warp, r.deviation) for r in rows if r.label.startswith("ema") or r.label == "none")
    for (e0, f0), (e1, f1) in zip(points, points[1:]):
        if e0 <= e_warp <= e1:
            return f0 + (f1 - f0) * (e_warp - e0) / (e1 - e0)
    return None


def flicker_map(a: np.ndarray, b: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """|a - warp(b)| amplified x4: what changes between two outputs along the motion."""
    diff = np.abs(a.astype(np.int16) - flow.warp(b, forward).astype(np.int16)).max(axis=2)
    return cv2.cvtColor(np.clip(diff * 4, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)


def save_still(path: Path, inputs: list[np.ndarray], outputs: dict[str, list[np.ndarray]]) -> None:
    """Top row: the input and each mode's output at one frame; bottom row: how much each
    changes to the next frame along the motion (black = steady)."""
    forward = metrics.estimator()(flow.grey(inputs[0]), flow.grey(inputs[1]))
    half = (WIDTH // 2, HEIGHT // 2)
    top, bottom = [], []
    for label, (a, b) in {"input": inputs, **outputs}.items():
        tile = cv2.resize(a, half, interpolation=cv2.INTER_AREA)
        cv2.putText(tile, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 4)
        cv2.putText(tile, label, (6, 22), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        top.append(tile)
        bottom.append(cv2.resize(flicker_map(a, b, forward), half, interpolation=cv2.INTER_AREA))
    rtstyle.sinks.write_image(path, np.vstack([np.hstack(top), np.hstack(bottom)]))


def print_table(title: str, rows: list[Row], floor: float) -> None:
    base = rows[0].e_warp
    flow_row = next(r for r in rows if r.label.startswith("flow") and "+" not in r.label)
    matched = ema_at(rows, flow_row.e_warp)
    print(f"### {title}: floor (original video) E_warp {floor * 1e3:.3f}")
    print("| mode | E_warp | vs none | fidelity |\n|---|---:|---:|---:|")
    for row in rows:
        print(f"| {row.label} | {row.e_warp * 1e3:.3f} | {100 * (row.e_warp / base - 1):+.0f}% | "
              f"{row.deviation * 1e3:.2f} |")
    if matched:
        print(f"| ema at equal E_warp | {flow_row.e_warp * 1e3:.3f} | | {matched * 1e3:.2f} |")
    verdict = (f"fidelity {flow_row.deviation / matched:.2f} x ema's at equal E_warp" if matched
               else "ema's sweep does not reach its E_warp")
    print(f"\n{flow_row.label}: E_warp {100 * (1 - flow_row.e_warp / base):.0f}% below none; {verdict}\n")


@dataclass
class ClipResult:
    floor: float
    tables: dict[str, list[Row]]
    frames: list[np.ndarray]   # the first LATENCY_FRAMES inputs ...
    painted: list[np.ndarray]  # ... and the first style's output for them


def measure_clip(clip: Path, limit: int, styles: list[tuple[str, Stylize]], setups: list[Config],
                 still: Path | None, still_labels: tuple[str, ...]) -> ClipResult:
    tables = {name: [Row(label, temporal.make_smoother(mode, strength, band)) for label, mode, strength, band in setups]
              for name, _ in styles}
    meter = metrics.WarpError(1 + sum(len(rows) for rows in tables.values()))
    result = ClipResult(0.0, tables, [], [])
    still_at, frames = limit // 2, 0
    still_inputs: list[np.ndarray] = []
    still_outputs: dict[str, list[np.ndarray]] = {label: [] for label in still_labels}
    for rgb in clip_frames(clip, limit):
        outputs = [rgb]
        for name, stylize in styles:
            painted = stylize(rgb)
            if name == styles[0][0] and frames < LATENCY_FRAMES:
                result.frames.append(rgb)
                result.painted.append(painted)
            for row in tables[name]:
                out = row.smoother(rgb, painted)
                row.deviation += metrics.fidelity(out, painted)
                outputs.append(out)
                if name == styles[0][0] and frames in (still_at, still_at + 1) and row.label in still_outputs:
                    still_outputs[row.label].append(out)
        if frames in (still_at, still_at + 1):
            still_inputs.append(rgb)
        meter.add(rgb, outputs)
        frames += 1
    if still and len(still_inputs) == 2:
        save_still(still, still_inputs, still_outputs)
    result.floor, *values = meter.values
    values = iter(values)
    for name, rows in tables.items():
        for row in rows:
            row.e_warp, row.deviation = next(values), row.deviation / frames
        print_table(f"{clip.name} ({frames} frames), {name}", rows, result.floor)
    return result


def timed(work: Callable[[], object]) -> tuple[float, float]:
    """(CPU ms of this thread, wall ms) of one call."""
    cpu, wall = time.thread_time(), time.perf_counter()
    work()
    return (time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000


def measure_latency(model: Path, frames: list[np.ndarray], painted: list[np.ndarray], setups: list[Config]) -> None:
    cv2.setNumThreads(1)
    fast = rtstyle.load_style(model, threads=1)
    small = [cv2.resize(f, (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA) for f in frames]
    parts: dict[str, list[tuple[float, float]]] = {
        f"inference {fast.name} at 640x360": [timed(lambda f=f: fast(f)) for f in frames],
        f"inference {fast.name} at 320x180": [timed(lambda f=f: fast(f)) for f in small],
    }
    for label, mode, strength, band in setups:
        smoother = temporal.make_smoother(mode, strength, band)
        parts[f"smoothing {label}"] = [timed(lambda o=o, p=p: smoother(o, p)) for o, p in zip(frames, painted)][1:]
    cpu = {name: statistics.median(c for c, _ in samples) for name, samples in parts.items()}
    full, half = cpu[f"inference {fast.name} at 640x360"], cpu[f"inference {fast.name} at 320x180"]
    print(f"### latency at 640x360: median over {len(frames)} frames, one thread")
    print("| part | CPU ms | wall ms | vs network at 640x360 | vs network at 320x180 |\n|---|---:|---:|---:|---:|")
    for name, samples in parts.items():
        share = f"{100 * cpu[name] / full:.1f}% | {100 * cpu[name] / half:.1f}%" if name.startswith("smoothing") else "- | -"
        print(f"| {name} | {cpu[name]:.2f} | {statistics.median(w for _, w in samples):.2f} | {share} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, action="append", required=True)
    ap.add_argument("--frames", type=int, default=120, help="frames per clip")
    ap.add_argument("--magenta", type=Path, help="Magenta multistyle26.onnx")
    ap.add_argument("--magenta-style", type=int, action="append", default=[])
    ap.add_argument("--style", action="append", default=[], help="rtstyle model name or .onnx path")
    ap.add_argument("--latency-model", type=Path, help="trained model to compare the smoothing cost with")
    ap.add_argument("--threads", type=int, default=2, help="threads while measuring flicker")
    ap.add_argument("--strength", type=float, default=temporal.DEFAULT_STRENGTH, help="flow strength")
    ap.add_argument("--ema", default="0.3,0.5,0.6,0.7,0.8", help="ema strengths to sweep")
    ap.add_argument("--deadband", type=float, default=4.0)
    ap.add_argument("--still", type=Path, help="write a side-by-side still of the first clip and style here")
    ap.add_argument("--raw", type=Path, help="also write the whole output here (committed beside the doc)")
    ap.add_argument("--doc", type=Path, help="put the tables into this doc's flicker_table block")
    a = ap.parse_args()
    printed = io.StringIO()
    with contextlib.redirect_stdout(Tee(sys.stdout, printed)):
        run(a)
    if a.raw:
        a.raw.parent.mkdir(parents=True, exist_ok=True)
        a.raw.write_text(printed.getvalue())
    if a.doc:
        splice(a.doc, "flicker_table", printed.getvalue(), a.raw)


class Tee(io.TextIOBase):
    """Writes to several streams: the terminal and the copy for --raw and --doc."""

    def __init__(self, *streams: TextIO):
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
        return len(text)


def run(a: argparse.Namespace) -> None:

    cv2.setNumThreads(a.threads)
    styles: list[tuple[str, Stylize]] = [(f"magenta{i}", MagentaStyle(a.magenta, i, a.threads))
                                         for i in a.magenta_style]
    styles += [(s.label, s) for s in (rtstyle.load_style(name, threads=a.threads) for name in a.style)]
    setups = configs([float(s) for s in a.ema.split(",")], a.strength, a.deadband)
    print(f"{WIDTH}x{HEIGHT}, up to {a.frames} frames per clip. E_warp x 1e3; fidelity = mean "
          f"|smoothed - per-frame| (RGB 0-1) x 1e3, lower = closer to the per-frame style\n")
    first = None
    for clip in a.clip:
        result = measure_clip(clip, a.frames, styles, setups, a.still if first is None else None,
                              ("none", f"ema {a.strength:g}", f"flow {a.strength:g}"))
        first = first or result
    with tempfile.TemporaryDirectory() as tmp:
        measure_latency(a.latency_model or fast_model(Path(tmp)), first.frames, first.painted, setups)


if __name__ == "__main__":
    main()
