"""ms/frame of the Magenta networks beside a Johnson-style model, measured side by side in one run.

Rows: ``multistyle26`` (one of its 26 styles; a mix costs the same), ``arbitrary`` (the
transformer per frame at the frame's own size, with a style picture's vector computed
once by ``arbitrary_predict``, whose one-off cost is printed on its own) and a Johnson
model: the shipped ``starry_night`` when it is on the search path, else a random-weight
Johnson net of the same architecture ((32, 64, 128) x 5 residual blocks, exported with
tools/export.py; needs torch). Every frame goes through the full Stylizer (pad, layout,
inference, crop, uint8). Models take turns frame by frame so CPU contention hits all
alike; medians over ``--frames`` frames after ``--warmup`` frames.

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


def johnson_model(tmp: Path) -> tuple[str, str]:
    """The shipped Johnson-style model, or a random-weight one of the same architecture."""
    try:
        return str(find_model("starry_night").path), "starry_night (Johnson, trained)"
    except StyleNotFoundError:
        import torch

        from tools.export import export
        from tools.transformer_net import NetConfig, TransformerNet

        torch.manual_seed(0)
        path = tmp / "johnson.onnx"
        export(TransformerNet(NetConfig((32, 64, 128), 5)), path, {"name": "johnson", "title": "random weights"})
        return str(path), "Johnson (32,64,128)x5, random weights"


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
    a = ap.parse_args()
    photo = read_image(a.photo)
    with tempfile.TemporaryDirectory() as tmp:
        johnson, johnson_label = johnson_model(Path(tmp))
        arbitrary = rtstyle.load_style("arbitrary", threads=a.threads)
        predictor = arbitrary.predictor
        predictor.cache = False  # time the network, not the cache
        t = time.perf_counter()
        vector = predictor.vector_of_file(a.style_image)
        predictor_ms = (time.perf_counter() - t) * 1000
        arbitrary.set_vector(vector, 0)
        models = {"multistyle26:starry_blue": rtstyle.load_style("multistyle26:starry_blue", threads=a.threads),
                  "arbitrary (+ picture vector)": arbitrary,
                  johnson_label: rtstyle.load_style(johnson, threads=a.threads)}
        print(f"threads: {a.threads or 'ORT default'}; photo {a.photo.name}; medians of {a.frames} frames")
        print(f"arbitrary_predict, once per style picture: {predictor_ms:.1f} ms (first call, incl. reading the file)")
        header = "".join(f"{f'{w}x{h}':>12}" for w, h in SIZES)
        print(f"{'model':<40}{header}{'   MAC/px':>10}")
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
        base = results[johnson_label]
        for name, style in models.items():
            macs = style.card.info.get("macs_per_pixel")
            cells = "".join(f"{ms:9.1f} ms" for ms in results[name])
            ratio = " ".join(f"{b / ms:.2f}x" for ms, b in zip(results[name], base))
            print(f"{name:<40}{cells}{f'{macs / 1000:.0f}k' if macs else '?':>10}   speed vs Johnson: {ratio}")


if __name__ == "__main__":
    main()
