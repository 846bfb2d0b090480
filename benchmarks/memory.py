"""Memory of the style networks and of a render, by frame size, on a CPU.

A. The network alone: the peak memory a session adds over a video's first frame and over its
   first four (a fresh process each), with ONNX Runtime's memory pattern (its default) and as
   rtstyle.engine sets a CPU session up (pattern off), then ms/frame of the two side by side.
B. `rtstyle render` end to end as the command plans it (two frames at once on a CPU, flow
   smoothing, H.264): the process's peak memory and fps by frame size, both ways, taking turns.
C. `rtstyle image` of a photo (a JPEG of the sample clip's first frame, enlarged) at 12, 24 and
   48 megapixels, at full scale and at --scale 0.5: the process's peak memory and seconds.

    python -m benchmarks.memory [--models candy_fast candy] [--json out.json]
Medians are quoted; run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort

from benchmarks.common import ROOT, make_clip, time_rounds
from rtstyle.bench import machine_info
from rtstyle.engine import Engine
from rtstyle.headroom import peak_bytes
from rtstyle.models import find_model

SIZES = ((640, 360), (1920, 1080), (3840, 2160))
TIMED = SIZES[:2]  # 4K runs take seconds each: their memory is measured, not their speed
SETTINGS = ("onnxruntime default", "rtstyle")


@contextlib.contextmanager
def memory_pattern() -> Iterator[None]:
    """Sessions made inside get ONNX Runtime's memory pattern back (its default)."""
    made = ort.InferenceSession

    def with_pattern(model, options=None, **kwargs):
        if options is not None:
            options.enable_mem_pattern = True
        return made(model, options, **kwargs)

    ort.InferenceSession = with_pattern
    try:
        yield
    finally:
        ort.InferenceSession = made


def peak_mb() -> float:
    """This process's own peak memory in MiB (rtstyle.headroom.peak_bytes)."""
    return peak_bytes() / 2 ** 20


def frame(engine: Engine, width: int, height: int) -> np.ndarray:
    """A network input of that size in the model's layout (content does not change memory or speed)."""
    shape = (1, 3, height, width) if engine.card.layout == "NCHW" else (1, height, width, 3)
    return np.random.default_rng(0).random(shape, dtype=np.float32) * engine.card.value_range


# argv: model, width, height, setting. Prints the peak memory's growth in MB after one run and after four.
NETWORK_PROBE = """
import sys, contextlib
from benchmarks.memory import frame, memory_pattern, peak_mb
from rtstyle.engine import Engine
model, width, height, setting = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with memory_pattern() if setting == "onnxruntime default" else contextlib.nullcontext():
    engine = Engine(model, "cpu", threads=2)
x = frame(engine, width, height)
start = peak_mb()
engine.run(x)
first = peak_mb() - start
for _ in range(3):
    engine.run(x)
print(first, peak_mb() - start)
"""

# argv: clip, output, style, setting. Renders 3 s; prints its frames, frames per second and the process's
# peak memory in MB.
RENDER_PROBE = """
import sys, contextlib
import rtstyle
from benchmarks.memory import memory_pattern, peak_mb
clip, out, style, setting = sys.argv[1:]
with memory_pattern() if setting == "onnxruntime default" else contextlib.nullcontext():
    threads, workers = rtstyle.render_plan("cpu")
    stylizer = rtstyle.load_style(style, providers="cpu", threads=threads)
report = rtstyle.render(clip, out, stylizer, overwrite=True, workers=workers, duration=3.0)
print(report.frames_out, report.processing_fps, peak_mb())
"""


# argv: photo, output, style, scale. Paints the photo as `rtstyle image` does; prints the seconds and the
# process's peak memory in MB.
IMAGE_PROBE = """
import sys, time
import rtstyle
from benchmarks.memory import peak_mb
photo, out, style, scale = sys.argv[1:]
stylizer = rtstyle.load_style(style, providers="cpu", scale=float(scale))
start = time.perf_counter()
rtstyle.stylize_image(photo, out, stylizer, overwrite=True)
print(time.perf_counter() - start, peak_mb())
"""
PHOTOS = ((4000, 3000), (6000, 4000), (8000, 6000))  # 12, 24 and 48 megapixels (a phone's 48 MP mode)


def probe(script: str, *args: object) -> list[float]:
    out = subprocess.run([sys.executable, "-c", script, *map(str, args)], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return [float(v) for v in out.stdout.split()]


def network(models: list[str], runs: int) -> list[dict]:
    rows = []
    for name in models:
        model = find_model(name).path
        for width, height in SIZES:
            row: dict = {"model": name, "size": f"{width}x{height}"}
            for setting in SETTINGS:
                first, four = probe(NETWORK_PROBE, model, width, height, setting)
                row[setting] = {"first_frame_mb": first, "four_frames_mb": four}
            rows.append(row)
            print(json.dumps(row, default=lambda v: round(v)), flush=True)
        engines = {"rtstyle": Engine(model, "cpu", threads=2)}
        with memory_pattern():
            engines["onnxruntime default"] = Engine(model, "cpu", threads=2)
        calls = {}
        for width, height in TIMED:
            x = frame(engines["rtstyle"], width, height)
            calls.update({f"{setting} {width}": (lambda e=engine, x=x: e.run(x)) for setting, engine in engines.items()})
        stats = time_rounds(calls, runs)
        for width, height in TIMED:
            ms = {setting: stats[f"{setting} {width}"].p50_ms for setting in SETTINGS}
            rows.append({"model": name, "size": f"{width}x{height}", "ms": ms,
                         "rtstyle_over_default": ms["rtstyle"] / ms["onnxruntime default"]})
            print(json.dumps(rows[-1], default=lambda v: round(v, 3)), flush=True)
    return rows


def render(style: str, tmp: Path, rounds: int = 3) -> list[dict]:
    """Each setting in a fresh process, taking turns for ``rounds`` rounds; medians."""
    rows = []
    for width, height in SIZES:
        clip = make_clip(tmp / f"clip_{height}.mp4", width, height)
        runs: dict[str, list[list[float]]] = {setting: [] for setting in SETTINGS}
        for r in range(rounds):
            for setting in SETTINGS[::-1] if r % 2 else SETTINGS:
                runs[setting].append(probe(RENDER_PROBE, clip, tmp / "out.mp4", style, setting))
        row: dict = {"style": style, "size": f"{width}x{height}", "frames": int(runs["rtstyle"][0][0])}
        for setting, values in runs.items():  # a render's peak changes from run to run: each is shown
            row[setting] = {"peak_mb": float(np.median([v[2] for v in values])), "peaks_mb": [v[2] for v in values],
                            "fps": float(np.median([v[1] for v in values]))}
        row["rtstyle_over_default"] = {key: row["rtstyle"][key] / row["onnxruntime default"][key]
                                       for key in ("peak_mb", "fps")}
        rows.append(row)
        print(json.dumps(row, default=lambda v: round(v, 2)), flush=True)
    return rows


def image(styles: list[str], tmp: Path) -> list[dict]:
    """Each photo size, style and scale in a fresh process."""
    import av
    import cv2

    with av.open(str(ROOT / "examples" / "pedestrians.mp4")) as clip:
        first = next(clip.decode(video=0)).to_ndarray(format="bgr24")
    rows = []
    for width, height in PHOTOS:
        photo = tmp / f"photo_{width}x{height}.jpg"
        cv2.imwrite(str(photo), cv2.resize(first, (width, height), interpolation=cv2.INTER_CUBIC))
        for style in styles:
            for scale in (1.0, 0.5):
                seconds, peak = probe(IMAGE_PROBE, photo, tmp / "painted.jpg", style, scale)
                rows.append({"style": style, "size": f"{width}x{height}", "megapixels": width * height / 1e6,
                             "scale": scale, "peak_mb": peak, "bytes_per_pixel": peak * 2 ** 20 / (width * height),
                             "seconds": seconds})
                print(json.dumps(rows[-1], default=lambda v: round(v, 2)), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", default=["candy_fast", "candy", "multistyle26", "arbitrary"],
                    help="section A's models (names or .onnx paths)")
    ap.add_argument("--style", default="candy_fast", help="section B's style")
    ap.add_argument("--runs", type=int, default=8, help="timing rounds of section A")
    ap.add_argument("--photo-styles", nargs="+", default=["candy_fast", "candy"], help="section C's styles")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: A,B,C")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    skip = set(a.skip.upper().split(","))
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        if "A" not in skip:
            print("== A. network: peak memory added (MB) over one frame and four, then ms/frame", flush=True)
            results["network"] = network(a.models, a.runs)
        if "B" not in skip:
            print(f"== B. render: the process's peak memory (MB), {a.style}", flush=True)
            results["render"] = render(a.style, Path(tmp))
        if "C" not in skip:
            print("== C. image: the process's peak memory (MB) painting a photo, by its size", flush=True)
            results["image"] = image(a.photo_styles, Path(tmp))
    if a.json:
        a.json.write_text(json.dumps({"machine": machine_info(), "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
