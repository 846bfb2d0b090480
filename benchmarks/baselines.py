"""Baselines measured side by side in one run, reported as ratios.

1. The same weights in PyTorch eager (CPU) and in ONNX Runtime (target: ORT >= 1.3x).
   The network is rebuilt from the model card's architecture (``net``) and exported with
   tools.export, so both run identical weights (random unless ``--checkpoint``: speed does
   not depend on the values).
2. OpenCV's dnn module on that same ONNX file, if it loads it.
3. Bare inference (engine.run on prepared tensors) against the full render pipeline
   (decode, pre/post-processing, encode) of a real clip with the model file itself
   (target: render >= 90 % of bare inference throughput).

    python benchmarks/baselines.py --model starry_night --model starry_night_fast --threads 2
Needs torch (the train extra). Medians are quoted.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

import rtstyle
from benchmarks.common import make_clip, time_calls
from rtstyle import frames
from rtstyle.bench import default_models
from rtstyle.engine import Engine
from rtstyle.models import find_model
from rtstyle.sources import VideoFileSource
from tools.export import export, load_checkpoint
from tools.transformer_net import NetConfig, TransformerNet


def eager_vs_ort(name: str, width: int, height: int, threads: int, runs: int, tmp: Path,
                 checkpoint: Path | None) -> dict:
    """PyTorch eager, ORT and OpenCV dnn on one set of weights and one input tensor."""
    card = find_model(name)
    if "net" not in card.info:
        return {"skipped": f"{name}: its card has no 'net' architecture, so PyTorch cannot rebuild it"}
    if checkpoint:
        net, _ = load_checkpoint(checkpoint)
    else:
        torch.manual_seed(0)
        net = TransformerNet(NetConfig.from_dict(card.info["net"])).eval()
    path = tmp / f"{card.name}_same_weights.onnx"
    export(net, path, {"name": card.name})
    x = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)

    def eager() -> None:
        with torch.inference_mode():
            net(xt)

    engine = Engine(path, providers="cpu", threads=threads)
    out = {"eager_ms": time_calls(eager, 2, runs).p50_ms,
           "ort_ms": time_calls(lambda: engine.run(x), 2, runs).p50_ms}
    out["ort_speedup_vs_eager"] = out["eager_ms"] / out["ort_ms"]
    try:
        cv2.setNumThreads(threads)
        dnn = cv2.dnn.readNetFromONNX(str(path))

        def opencv() -> None:
            dnn.setInput(x)
            dnn.forward()

        out["opencv_dnn_ms"] = time_calls(opencv, 2, runs).p50_ms
        out["ort_speedup_vs_opencv_dnn"] = out["opencv_dnn_ms"] / out["ort_ms"]
    except cv2.error as e:
        out["opencv_dnn"] = f"does not load or run it: {str(e).strip().splitlines()[-1][:160]}"
    return out


def bare_vs_render(name: str, clip: Path, threads: int, tmp: Path) -> dict:
    """Throughput of engine.run alone against a full render of the same clip with the same model."""
    stylizer = rtstyle.load_style(name, providers="cpu", threads=threads)
    source = VideoFileSource(clip)
    try:
        tensors = [stylizer.preprocess(f.image) for f in source.frames()]
    finally:
        source.close()
    for x in tensors[:3]:
        stylizer.infer(x)
    t = time.perf_counter()
    for x in tensors:
        stylizer.infer(x)
    bare_fps = len(tensors) / (time.perf_counter() - t)
    report = rtstyle.render(clip, tmp / f"{name}.mp4", stylizer, overwrite=True)
    return {"frames": len(tensors), "size": f"{tensors[0].shape[3]}x{tensors[0].shape[2]} (network input)",
            "bare_inference_fps": bare_fps, "render_fps": report.fps,
            "render_over_bare": report.fps / bare_fps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="model name or .onnx (repeatable; default: all shipped)")
    ap.add_argument("--size", default="640x360", help="frame size WxH (network input for eager vs ORT)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--checkpoint", type=Path, help="trained weights for the eager/ORT comparison (one model)")
    ap.add_argument("--video", type=Path, help="clip to render (default: examples/pedestrians.mp4 resized to --size)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    width, height = (int(v) for v in a.size.split("x"))
    names = a.model or [c.name for c in default_models()]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = a.video or make_clip(tmp / "clip.mp4", width, height)
        for name in names:
            card = find_model(name)
            scale = float(card.info.get("internal_scale", 1.0))
            nh, nw = frames.tensor_shape(round(height * scale), round(width * scale), card)[2:]
            results[name] = {"eager_vs_ort": eager_vs_ort(name, nw, nh, a.threads, a.runs, tmp, a.checkpoint),
                             "bare_vs_render": bare_vs_render(name, clip, a.threads, tmp)}
            print(json.dumps({name: results[name]}, indent=1, default=lambda v: round(v, 3)), flush=True)
    print(f"\n{'model':<24} {'eager ms':>9} {'ORT ms':>8} {'ORT/eager':>9} {'cv2.dnn ms':>10} "
          f"{'bare fps':>9} {'render fps':>10} {'render/bare':>11}")
    for name, r in results.items():
        e, b = r["eager_vs_ort"], r["bare_vs_render"]
        if "skipped" in e:
            print(f"{name:<24} {e['skipped']}")
            continue
        dnn = f"{e['opencv_dnn_ms']:.1f}" if "opencv_dnn_ms" in e else "fails"
        print(f"{name:<24} {e['eager_ms']:>9.1f} {e['ort_ms']:>8.1f} {e['ort_speedup_vs_eager']:>8.2f}x {dnn:>10} "
              f"{b['bare_inference_fps']:>9.1f} {b['render_fps']:>10.1f} {b['render_over_bare']:>10.0%}")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
