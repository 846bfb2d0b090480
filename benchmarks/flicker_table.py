"""Flicker / fidelity / latency of every smoothing mode, all measured in one run.

For each clip (cover-cropped to 640x360) and each style, every frame is stylized once;
each smoother then sees the same (input, stylized) pairs, so all rows of a table differ
only in the smoothing. E_warp is measured with rtstyle.metrics (Farneback flow on the
originals, forward-backward occlusion mask), fidelity is the mean absolute difference to
the per-frame stylized frame (RGB in [0, 1]), and latency is the median wall time per
frame of the smoother and of the networks, timed side by side in the same loop.

Styles: the Magenta 26-style network (``--magenta``, any style indices) and/or rtstyle
models (``--style``). The fast architecture's inference time is measured on a random-
weight export of tools.transformer_net's ``fast`` preset (speed does not depend on the
weights), unless ``--latency-model`` names a trained model.

    python -m benchmarks.flicker_table --clip ../shared/data/videos/vtest.avi --clip bikes.mp4 \\
        --magenta multistyle26.onnx --magenta-style 3 --magenta-style 17 --still docs/temporal_still.jpg
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort

import rtstyle
from rtstyle import flow, metrics, temporal
from rtstyle.sources import VideoFileSource

WIDTH, HEIGHT = 640, 360
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


def fast_model(folder: Path) -> Path:
    """Random-weight export of the ``fast`` preset: same graph and cost as a trained one."""
    import torch

    from tools.export import export
    from tools.train import PRESETS
    from tools.transformer_net import TransformerNet

    torch.manual_seed(0)
    path = folder / "fast_random.onnx"
    export(TransformerNet(PRESETS["fast"]), path, {"name": "fast_random", "title": "latency stand-in"})
    return path


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


@dataclass
class Row:
    label: str
    smoother: temporal.Smoother
    deviation: float = 0.0
    ms: list[float] = field(default_factory=list)
    e_warp: float = 0.0


def rows_for(ema_sweep: list[float], strength: float, deadband: float) -> list[Row]:
    rows = [Row("none", temporal.make_smoother("none"))]
    rows += [Row(f"ema {s:g}", temporal.make_smoother("ema", s)) for s in ema_sweep]
    rows += [Row(f"flow {strength:g}", temporal.make_smoother("flow", strength)),
             Row(f"deadband {deadband:g}", temporal.make_smoother("none", deadband=deadband)),
             Row(f"flow {strength:g} + deadband {deadband:g}", temporal.make_smoother("flow", strength, deadband))]
    return rows


def ema_at(rows: list[Row], e_warp: float) -> float | None:
    """Fidelity ema would have at ``e_warp``, interpolated along the ema sweep (None: out of reach)."""
    points = sorted((r.e_warp, r.deviation) for r in rows if r.label.startswith("ema"))
    for (e0, f0), (e1, f1) in zip(points, points[1:]):
        if e0 <= e_warp <= e1:
            return f0 + (f1 - f0) * (e_warp - e0) / (e1 - e0)
    return None


def flicker_map(a: np.ndarray, b: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """|a - warp(b)| amplified x4: what changes between two outputs along the motion."""
    diff = np.abs(a.astype(np.int16) - flow.warp(b, forward).astype(np.int16)).max(axis=2)
    return cv2.cvtColor(np.clip(diff * 4, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)


def save_still(path: Path, pair: list[tuple[str, np.ndarray, np.ndarray]], prev_in: np.ndarray,
               cur_in: np.ndarray) -> None:
    """Top: the outputs at one frame; bottom: their change to the next frame along the flow."""
    forward = flow.farneback(flow.grey(prev_in), flow.grey(cur_in))
    top, bottom = [], []
    for label, prev, cur in pair:
        tile = cv2.resize(prev, (WIDTH // 2, HEIGHT // 2), interpolation=cv2.INTER_AREA)
        cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 2)
        top.append(tile)
        bottom.append(cv2.resize(flicker_map(prev, cur, forward), (WIDTH // 2, HEIGHT // 2),
                                 interpolation=cv2.INTER_AREA))
    grid = np.vstack([np.hstack(top), np.hstack(bottom)])
    rtstyle.sinks.write_image(path, grid)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clip", type=Path, action="append", required=True)
    ap.add_argument("--frames", type=int, default=150, help="frames per clip")
    ap.add_argument("--magenta", type=Path, help="Magenta multistyle26.onnx")
    ap.add_argument("--magenta-style", type=int, action="append", default=[])
    ap.add_argument("--style", action="append", default=[], help="rtstyle model name or .onnx path")
    ap.add_argument("--latency-model", help="model whose inference time the smoothing cost is compared to")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--strength", type=float, default=temporal.DEFAULT_STRENGTH, help="flow strength")
    ap.add_argument("--ema", default="0.3,0.5,0.7,0.8,0.9", help="ema strengths to sweep")
    ap.add_argument("--deadband", type=float, default=4.0)
    ap.add_argument("--still", type=Path, help="write a side-by-side still of the first clip and style here")
    a = ap.parse_args()

    cv2.setNumThreads(a.threads)
    styles: list[tuple[str, Stylize]] = [(f"magenta{i}", MagentaStyle(a.magenta, i, a.threads))
                                         for i in a.magenta_style]
    styles += [(s.name, s) for s in (rtstyle.load_style(name, threads=a.threads) for name in a.style)]
    with tempfile.TemporaryDirectory() as tmp:
        fast = rtstyle.load_style(a.latency_model or fast_model(Path(tmp)), threads=a.threads)
    ema_sweep = [float(s) for s in a.ema.split(",")]
    infer_ms: dict[str, list[float]] = {name: [] for name, _ in styles} | {"fast model": []}
    smooth_ms: dict[str, list[float]] = {}
    print(f"{WIDTH}x{HEIGHT}, {a.frames} frames per clip, {a.threads} threads; E_warp x 1e3, fidelity = mean "
          f"|smoothed - per-frame| (RGB 0-1) x 1e3, ms = median smoother time per frame\n")
    for clip in a.clip:
        tables = {name: rows_for(ema_sweep, a.strength, a.deadband) for name, _ in styles}
        meter = metrics.WarpError(1 + sum(len(r) for r in tables.values()))
        still: list[tuple[str, np.ndarray, np.ndarray]] = []
        prev_in, still_at, frames = None, a.frames // 2, 0
        for rgb in clip_frames(clip, a.frames):
            t = time.perf_counter()
            fast(rgb)
            infer_ms["fast model"].append((time.perf_counter() - t) * 1000)
            outputs = [rgb]
            for name, stylize in styles:
                t = time.perf_counter()
                painted = stylize(rgb)
                infer_ms[name].append((time.perf_counter() - t) * 1000)
                for row in tables[name]:
                    t = time.perf_counter()
                    out = row.smoother(rgb, painted)
                    row.ms.append((time.perf_counter() - t) * 1000)
                    row.deviation += metrics.fidelity(out, painted)
                    outputs.append(out)
            meter.add(rgb, outputs)
            if a.still and clip == a.clip[0] and frames in (still_at, still_at + 1):
                first = tables[styles[0][0]]
                picks = [r for r in first if r.label.split()[0] in ("none", "ema", "flow") and "+" not in r.label]
                picks = [picks[0], next(r for r in picks if r.label == f"ema {a.strength:g}") if any(
                    r.label == f"ema {a.strength:g}" for r in picks) else picks[1], picks[-1]]
                outs = {r.label: outputs[1 + first.index(r)] for r in picks}
                if frames == still_at:
                    still = [(label, out, out) for label, out in outs.items()]
                    still = [("input", rgb, rgb)] + still
                    prev_in = rgb
                else:
                    still = [(label, prev, outs.get(label, rgb)) for label, prev, _ in still]
                    save_still(a.still, still, prev_in, rgb)
            frames += 1
        values = iter(meter.values[1:])
        floor = meter.values[0]
        for name, rows in tables.items():
            for row in rows:
                row.e_warp, row.deviation = next(values), row.deviation / frames
                smooth_ms.setdefault(row.label, []).extend(row.ms)
            base, flow_row = rows[0].e_warp, next(r for r in rows if r.label.startswith("flow") and "+" not in r.label)
            print(f"## {clip.name} ({frames} frames), {name}: floor (original video) E_warp {floor * 1e3:.3f}")
            print("| mode | E_warp | vs none | fidelity | ms |\n|---|---:|---:|---:|---:|")
            for row in rows:
                print(f"| {row.label} | {row.e_warp * 1e3:.3f} | {100 * (row.e_warp / base - 1):+.0f}% | "
                      f"{row.deviation * 1e3:.2f} | {statistics.median(row.ms):.2f} |")
            matched = ema_at(rows, flow_row.e_warp)
            verdict = (f"ema at equal E_warp: fidelity {matched * 1e3:.2f} -> flow/ema {flow_row.deviation / matched:.2f}"
                       if matched else "ema's sweep does not reach flow's E_warp")
            print(f"\nflow: E_warp {100 * (1 - flow_row.e_warp / base):.0f}% below none; {verdict}\n")
    print("## latency at 640x360 (median ms per frame)")
    print("| part | ms |\n|---|---:|")
    for name, ms in infer_ms.items():
        print(f"| inference {name} | {statistics.median(ms):.2f} |")
    fast_ms = statistics.median(infer_ms["fast model"])
    for label, ms in smooth_ms.items():
        m = statistics.median(ms)
        print(f"| smoothing {label} | {m:.2f} ({100 * m / fast_ms:.0f}% of the fast model) |")


if __name__ == "__main__":
    main()
