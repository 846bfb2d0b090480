"""Baselines measured side by side in one run, reported as ratios.

1. The same weights in PyTorch eager (CPU) and in ONNX Runtime (target: ORT >= 1.3x). The
   zoo's files are read back into PyTorch as they ship (the distilled students and the baked
   teacher of the quality tier); a net trained with perceptual losses is rebuilt from its
   card's ``net`` and exported with tools.export (random weights unless ``--checkpoint``:
   speed does not depend on the values). The largest difference between the two pictures
   is printed: both run one network.
   Also PyTorch eager under bfloat16 autocast, and, where the onnxruntime build has it,
   the OpenVINO provider in fp32 and bf16 (bf16 accuracy on real weights: tests/test_openvino.py).
2. OpenCV's dnn module on that same ONNX file, if it loads it.
3. Bare inference (engine.run on prepared tensors, one after another) against the full
   render pipeline (decode, pre/post-processing, smoothing, encode) of a real clip with the
   model file itself, as rtstyle.render plans it and one frame at a time
   (target: render >= 90 % of bare inference throughput).

Every comparison takes turns, call by call or run by run (benchmarks.common.time_rounds), so
that a shared host whose speed changes under the run slows every side alike.

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
import onnx
import onnxruntime as ort
import torch

import rtstyle
from benchmarks.common import make_clip, time_rounds
from rtstyle import frames
from rtstyle.bench import default_models, representatives
from rtstyle.engine import Engine
from rtstyle.models import find_model
from rtstyle.providers import OPENVINO
from rtstyle.sources import VideoFileSource
from tools import student_net
from tools.export import export, load_checkpoint
from tools.transformer_net import NetConfig, TransformerNet


def same_weights(name: str, tmp: Path, checkpoint: Path | None) -> tuple[torch.nn.Module, Path] | str:
    """The network in PyTorch and an ONNX file with its weights, or why there is none.

    The zoo's files are read back as they ship: a distilled student (tools.student_net.from_file)
    or a baked teacher, the quality tier (teacher_from_file). A net trained with perceptual losses
    (a card whose ``net`` is a tools.transformer_net.NetConfig) is rebuilt with random weights, or
    ``checkpoint``'s, and exported (speed does not depend on the values)."""
    card = find_model(name)
    shape = card.info.get("net")
    if shape and "blocks" in shape:
        return student_net.from_file(card.path), card.path
    if not shape:
        if any(i.name == "style_vector" for i in onnx.load(str(card.path)).graph.initializer):
            return student_net.teacher_from_file(card.path), card.path
        return f"{name}: no PyTorch definition of its network here"
    if checkpoint:
        net, _ = load_checkpoint(checkpoint)
    else:
        torch.manual_seed(0)
        net = TransformerNet(NetConfig.from_dict(shape))
    path = tmp / f"{card.name}_same_weights.onnx"
    export(net, path, {"name": card.name})
    return net, path


def eager_vs_ort(name: str, width: int, height: int, threads: int, runs: int, tmp: Path,
                 checkpoint: Path | None) -> dict:
    """PyTorch eager, ORT and OpenCV dnn on one set of weights and one input tensor; the largest
    difference between eager's and ORT's pictures shows that they are one network."""
    found = same_weights(name, tmp, checkpoint)
    if isinstance(found, str):
        return {"skipped": found}
    net, path = found
    net.eval()
    x = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    torch.set_num_threads(threads)
    xt = torch.from_numpy(x)

    def eager() -> None:
        with torch.inference_mode():
            net(xt)

    def eager_bf16() -> None:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            net(xt)

    engine = Engine(path, providers="cpu", threads=threads)
    with torch.inference_mode():
        difference = float(np.abs(net(xt).numpy() - engine.run(x)).max())
    calls = {"eager": eager, "eager_bf16": eager_bf16, "ort": lambda: engine.run(x)}
    if OPENVINO in ort.get_available_providers():
        for precision in ("fp32", "bf16"):
            ov = Engine(path, providers="openvino", threads=threads, precision=precision)
            calls[f"openvino_{precision}"] = lambda ov=ov: ov.run(x)
    out: dict = {"max_abs_difference_eager_ort": difference}
    try:
        cv2.setNumThreads(threads)
        dnn = cv2.dnn.readNetFromONNX(str(path))

        def opencv() -> None:
            dnn.setInput(x)
            dnn.forward()

        opencv()  # a file OpenCV loads but cannot run fails here, not inside the timing
        calls["opencv_dnn"] = opencv
    except cv2.error as e:
        out["opencv_dnn"] = f"does not load or run it: {str(e).strip().splitlines()[-1][:160]}"
    out.update({f"{name}_ms": stats.p50_ms for name, stats in time_rounds(calls, runs).items()})
    out["ort_speedup_vs_eager"] = out["eager_ms"] / out["ort_ms"]
    for precision, eager_key in (("fp32", "eager_ms"), ("bf16", "eager_bf16_ms")):
        if f"openvino_{precision}_ms" in out:
            out[f"openvino_{precision}_speedup_vs_{eager_key[:-3]}"] = out[eager_key] / out[f"openvino_{precision}_ms"]
    if "opencv_dnn_ms" in out:
        out["ort_speedup_vs_opencv_dnn"] = out["opencv_dnn_ms"] / out["ort_ms"]
    return out


def bare_vs_render(name: str, clip: Path, threads: int, tmp: Path, rounds: int = 2) -> dict:
    """Throughput of engine.run alone (one frame after another, ``threads`` threads) against a
    full render of the same clip with the same model: as rtstyle.render plans it by default
    (on a CPU: two frames at once), and one frame at a time on the same threads as bare. The
    three take turns ``rounds`` times (a shared host's speed changes); medians."""
    stylizer = rtstyle.load_style(name, providers="cpu", threads=threads)
    source = VideoFileSource(clip)
    try:
        tensors = [stylizer.preprocess(f.image) for f in source.frames()]
    finally:
        source.close()
    plan_threads, workers = rtstyle.render_plan("cpu")
    planned = rtstyle.load_style(name, providers="cpu", threads=plan_threads)
    for x in tensors[:3]:
        stylizer.infer(x)
    fps: dict[str, list[float]] = {"bare": [], "render": [], "render_one_frame": []}
    for _ in range(rounds):
        t = time.perf_counter()
        for x in tensors:
            stylizer.infer(x)
        fps["bare"].append(len(tensors) / (time.perf_counter() - t))
        fps["render"].append(rtstyle.render(clip, tmp / f"{name}.mp4", planned, overwrite=True,
                                            workers=workers).processing_fps)
        fps["render_one_frame"].append(rtstyle.render(clip, tmp / f"{name}.mp4", stylizer,
                                                      overwrite=True).processing_fps)
    bare, render, one = (float(np.median(v)) for v in fps.values())
    h, w = tensors[0].shape[2:] if stylizer.card.layout == "NCHW" else tensors[0].shape[1:3]
    return {"frames": len(tensors), "size": f"{w}x{h} (network input)", "rounds": rounds,
            "bare_inference_fps": bare, "render_fps": render,
            "render_plan": f"{workers} frame(s) x {plan_threads or 'ORT default'} thread(s)",
            "render_over_bare": render / bare, "render_one_frame_fps": one, "render_one_frame_over_bare": one / bare}


def print_tables(results: dict) -> None:
    """The figures as tables: eager vs ORT and bare vs render, then the OpenVINO rows if measured."""
    print(f"\n{'model':<24} {'eager ms':>9} {'ORT ms':>8} {'ORT/eager':>9} {'cv2.dnn ms':>10} "
          f"{'bare fps':>9} {'render fps':>10} {'render/bare':>11} {'1 frame/bare':>12}")
    notes, bf16 = [], []
    for name, r in results.items():
        e, b = r["eager_vs_ort"], r["bare_vs_render"]
        if "skipped" in e:
            notes.append(e["skipped"])
            eager = f"{'-':>9} {'-':>8} {'-':>9} {'-':>10}"
        else:
            dnn = f"{e['opencv_dnn_ms']:.1f}" if "opencv_dnn_ms" in e else "fails"
            eager = f"{e['eager_ms']:>9.1f} {e['ort_ms']:>8.1f} {e['ort_speedup_vs_eager']:>8.2f}x {dnn:>10}"
            notes.append(f"{name}: eager and ORT pictures differ by at most {e['max_abs_difference_eager_ort']:.1e}")
            if "openvino_bf16_ms" in e:
                bf16.append(f"{name:<24} {e['openvino_fp32_ms']:>8.1f} {e['openvino_fp32_speedup_vs_eager']:>13.2f}x "
                            f"{e['eager_bf16_ms']:>13.1f} {e['openvino_bf16_ms']:>8.1f} "
                            f"{e['openvino_bf16_speedup_vs_eager_bf16']:>17.2f}x")
        print(f"{name:<24} {eager} {b['bare_inference_fps']:>9.1f} {b['render_fps']:>10.1f} "
              f"{b['render_over_bare']:>10.0%} {b['render_one_frame_over_bare']:>11.0%}")
    if bf16:
        print(f"\nOpenVINO provider, same weights:\n{'model':<24} {'OV fp32':>8} {'OV fp32/eager':>14} "
              f"{'eager bf16 ms':>13} {'OV bf16':>8} {'OV bf16/eager bf16':>18}")
        print("\n".join(bf16))
    for note in notes:
        print(f"- {note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append",
                    help="model name or .onnx (repeatable; default: one shipped model per architecture)")
    ap.add_argument("--size", default="640x360", help="frame size WxH (network input for eager vs ORT)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--checkpoint", type=Path, help="trained weights for the eager/ORT comparison (one model)")
    ap.add_argument("--video", type=Path, help="clip to render (default: examples/pedestrians.mp4 resized to --size)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    width, height = (int(v) for v in a.size.split("x"))
    names = a.model or representatives(default_models())
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
    print_tables(results)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
