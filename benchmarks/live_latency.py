"""Live filter figures: output fps, dropped-frame rate, capture -> output latency.

A clip is played as a 30 fps 640x360 live source (looped, paced on the wall clock, like
a camera) through the live pipeline; each configuration runs ``--repeats`` times and the
median of each figure is printed. Run it on an otherwise idle machine:

    python -m benchmarks.live_latency                       # fastest installed style
    python -m benchmarks.live_latency --style models/x.onnx --seconds 20
    python -m benchmarks.live_latency --size 1280x720 --scales 1.0,auto   # live --scale auto against full size

With no style installed, a random-weight network of the fast architecture is exported
with tools.export (needs torch) and the output says so: its speed is the architecture's,
its picture is noise.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import rtstyle
from benchmarks.common import fast_model
from rtstyle.autoscale import AutoScale
from rtstyle.controls import LiveControls
from rtstyle.frames import parse_size
from rtstyle.live import LivePipeline
from rtstyle.painter import Painter, style_names
from rtstyle.sources import PacedSource

CLIP = Path(__file__).resolve().parent.parent / "examples" / "pedestrians.mp4"


def fastest_style(folder: Path) -> tuple[str, str]:
    """(style, note): the installed model with the fewest MACs per pixel, or an exported random fast net."""
    cards = [c for c in rtstyle.list_styles() if c.info.get("macs_per_pixel")]
    if cards:
        card = min(cards, key=lambda c: c.info["macs_per_pixel"])
        return str(card.path), f"installed style {card.name} ({card.info['macs_per_pixel'] / 1000:.0f}k MAC/px)"
    path = fast_model(folder)
    return str(path), (f"no style installed: random-weight fast preset "
                       f"({rtstyle.models.find_model(path).info['macs_per_pixel'] / 1000:.1f}k MAC/px)")


def engine_ms(stylizer: rtstyle.Stylizer, size: tuple[int, int], runs: int = 20) -> float:
    """Median time of one stylization at ``size`` outside the pipeline, for reference."""
    rgb = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), np.uint8)
    for _ in range(3):
        stylizer(rgb)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        stylizer(rgb)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run_once(style: str, size: tuple[int, int], fps: float, scale: float | str, seconds: float,
             threads: int | None) -> dict:
    """One live run; ``scale`` "auto" as live --scale auto runs (rtstyle.autoscale)."""
    named = style_names([style])
    painter = Painter(named, threads=threads, scale=None if scale == "auto" else scale)
    first = painter.stylizer(next(iter(named)))  # load before the clock starts
    auto = AutoScale(1 / fps) if scale == "auto" else None
    if auto:  # as live does: from a frame timed before the session
        auto.start(engine_ms(first, size, runs=3) / 1000, at=first.scale)
    source = PacedSource(CLIP, loop=True, size=size, fps=fps)
    return LivePipeline(source, painter, LiveControls(list(named), smoothing=False), autoscale=auto).run(
        duration=seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--style", help="style name or .onnx (default: the fastest installed)")
    ap.add_argument("--size", default="640x360")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--scales", default="1.0,0.5", help="processing scales to compare (auto: live --scale auto)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    size = parse_size(args.size)

    with tempfile.TemporaryDirectory() as tmp:
        style, note = (args.style, f"style {args.style}") if args.style else fastest_style(Path(tmp))
        print(f"{note}\nsource: {CLIP.name} paced as a {size[0]}x{size[1]} @ {args.fps:g} fps live source, looped; "
              f"{args.repeats} runs x {args.seconds:g} s per row (rows taking turns), medians")
        ms = engine_ms(rtstyle.load_style(style, threads=args.threads), size)
        print(f"stylize one {size[0]}x{size[1]} frame outside the pipeline: {ms:.1f} ms")
        scales = [s if s == "auto" else float(s) for s in args.scales.split(",")]
        runs: dict[float | str, list[dict]] = {s: [] for s in scales}
        for _ in range(args.repeats):
            for scale in scales:
                runs[scale].append(run_once(style, size, args.fps, scale, args.seconds, args.threads))
        print(f"{'scale':>5} {'out fps':>8} {'dropped':>8} {'lat p50':>8} {'lat p95':>8} {'infer p50':>9}  "
              "auto's scales")
        for scale, done in runs.items():
            med = lambda f: statistics.median(f(r) for r in done)  # noqa: E731
            steps = "; ".join(" ".join(f"{s}:{n}" for s, n in r["scale_auto"]["frames"].items())
                              for r in done) if scale == "auto" else ""
            print(f"{scale if scale == 'auto' else f'{scale:.2f}':>5} {med(lambda r: r['output_fps']):8.1f} "
                  f"{100 * med(lambda r: r['dropped_rate']):7.1f}% {med(lambda r: r['latency_ms']['p50']):6.0f}ms "
                  f"{med(lambda r: r['latency_ms']['p95']):6.0f}ms {med(lambda r: r['inference_ms']['p50']):7.0f}ms  "
                  f"{steps}")


if __name__ == "__main__":
    main()
