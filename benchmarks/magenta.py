"""ms/frame of the Magenta networks beside a Johnson-style model, measured side by side in one run.

Rows: ``multistyle26`` (one of its 26 styles; a mix costs the same), ``arbitrary`` (the
transformer per frame at the frame's own size, with a style picture's vector computed
once by ``arbitrary_predict``, whose one-off cost is printed on its own) and the shipped
Johnson-style models named by ``--johnson`` (each as its card says, e.g. at its internal
scale); when none is installed, a random-weight Johnson net of the classic architecture
((32, 64, 128) x 5 residual blocks, exported with tools/export.py; needs torch). Every
frame goes through the full Stylizer (pad, layout, inference, crop, uint8). Models take
turns frame by frame so CPU contention hits all alike; medians over ``--frames`` frames
after ``--warmup`` frames; speed ratios are against the first Johnson model.

    python -m benchmarks.magenta [--photo tests/data/rubberwhale1.png] [--threads 2] [--frames 10]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

import rtstyle
from rtstyle.errors import StyleNotFoundError
from rtstyle.models import find_model
from rtstyle.sources import read_image

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SIZES = [(640, 360), (1280, 720)]


def johnson_models(names: list[str], tmp: Path) -> dict[str, str]:
    """{label: model name or path} of the shipped Johnson-style models asked for, or, when none is installed,
    a random-weight net of the classic architecture (same speed as a trained one)."""
    found = {}
    for name in names:
        try:
            card = find_model(name)
        except StyleNotFoundError:
            continue
        found[f"{name} ({card.info.get('macs_per_pixel', 0) // 1000}k MAC/px Johnson)"] = name
    if found:
        return found
    import torch

    from tools.export import export
    from tools.transformer_net import NetConfig, TransformerNet

    torch.manual_seed(0)
    path = tmp / "johnson.onnx"
    export(TransformerNet(NetConfig((32, 64, 128), 5)), path, {"name": "johnson", "title": "random weights"})
    return {"Johnson (32,64,128)x5, random weights": str(path)}


def frame_of(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """The photo scaled to cover width x height, centre-cropped: a real frame of that size."""
    s = max(width / photo.shape[1], height / photo.shape[0])
    img = cv2.resize(photo, (round(photo.shape[1] * s), round(photo.shape[0] * s)), interpolation=cv2.INTER_AREA)
    top, left = (img.shape[0] - height) // 2, (img.shape[1] - width) // 2
    return np.ascontiguousarray(img[top:top + height, left:left + width])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photo", type=Path, default=DATA / "rubberwhale1.png")
    ap.add_argument("--style-image", type=Path, default=DATA / "wave_256.jpg")
    ap.add_argument("--threads", type=int, default=None, help="ORT intra-op threads (default: ORT's choice)")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--johnson", nargs="+", default=["starry_night", "starry_night_fast"],
                    help="shipped Johnson-style models to compare with")
    a = ap.parse_args()
    photo = read_image(a.photo)
    with tempfile.TemporaryDirectory() as tmp:
        johnsons = johnson_models(a.johnson, Path(tmp))
        arbitrary = rtstyle.load_style("arbitrary", threads=a.threads)
        predictor = arbitrary.predictor
        predictor.cache = False  # time the network, not the cache
        t = time.perf_counter()
        vector = predictor.vector_of_file(a.style_image)
        predictor_ms = (time.perf_counter() - t) * 1000
        arbitrary.set_vector(vector, 0)
        models = {"multistyle26:starry_blue": rtstyle.load_style("multistyle26:starry_blue", threads=a.threads),
                  "arbitrary (+ picture vector)": arbitrary,
                  **{label: rtstyle.load_style(style, threads=a.threads) for label, style in johnsons.items()}}
        print(f"threads: {a.threads or 'ORT default'}; photo {a.photo.name}; medians of {a.frames} frames")
        print(f"arbitrary_predict, once per style picture: {predictor_ms:.1f} ms (first call, incl. reading the file)")
        header = "".join(f"{f'{w}x{h}':>12}" for w, h in SIZES)
        print(f"{'model':<44}{header}{'   MAC/px':>10}")
        results: dict[str, list[float]] = {name: [] for name in models}
        for w, h in SIZES:
            frame = frame_of(photo, w, h)
            times: dict[str, list[float]] = {name: [] for name in models}
            for i in range(a.warmup + a.frames):
                for name, style in models.items():
                    t = time.perf_counter()
                    style(frame)
                    if i >= a.warmup:
                        times[name].append((time.perf_counter() - t) * 1000)
            for name in models:
                results[name].append(statistics.median(times[name]))
        base = results[next(iter(johnsons))]
        for name, style in models.items():
            macs = style.card.info.get("macs_per_pixel")
            cells = "".join(f"{ms:9.1f} ms" for ms in results[name])
            ratio = " ".join(f"{b / ms:.2f}x" for ms, b in zip(results[name], base))
            print(f"{name:<44}{cells}{f'{macs / 1000:.0f}k' if macs else '?':>10}   speed vs Johnson: {ratio}")


if __name__ == "__main__":
    main()
