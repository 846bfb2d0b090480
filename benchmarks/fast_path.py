"""CPU fast path at 640x360: the speed levers measured one by one, then end to end.

A. Architecture: MAC/px against ms for tools.train's presets (random weights exported with
   tools.export: speed does not depend on the values) and for one shipped zoo model per graph
   (the baked teacher and the distilled students), at 640x360 and 320x180.
B. ONNX Runtime settings on the fast net: graph optimization level, threads, spinning.
C. Static int8 quantization (tools.quantize): speed and accuracy against fp32.
D. Reduced internal resolution with guided upsampling: network + upsampling cost.
E. End to end: render of a real 640x360 clip, and live from a source paced at 30 fps.
F. Frames in flight: a render with one frame at a time on all threads against several
   frames at once on fewer threads each (rtstyle.render_plan), with and without smoothing.
G. Memory: render fps and page faults with glibc's allocator defaults against
   rtstyle.memory's thresholds (each in a fresh process, alternating), at the model's
   scale and at 0.5.

    python benchmarks/fast_path.py                      # random-weight fast net
    python benchmarks/fast_path.py --model starry_night_fast --json fast.json
Medians are quoted; run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

import rtstyle
from benchmarks.common import make_clip, time_rounds
from rtstyle import guided
from rtstyle.bench import default_models, machine_info, representatives
from rtstyle.frames import VideoFrame
from rtstyle.models import find_model
from rtstyle.pipeline import chain
from rtstyle.sources import VideoFileSource
from rtstyle.timing import summarize
from tools.export import export
from tools.quantize import quantize, video_frames
from tools.train import PRESETS
from tools.transformer_net import NetConfig, TransformerNet, macs_per_pixel

FAST = PRESETS["fast"]
LEVELS = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL, "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
          "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED, "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}


def label(cfg: NetConfig) -> str:
    return f"w{'-'.join(map(str, cfg.widths))} r{cfg.res_blocks}{' dw' if cfg.depthwise else ''} out{cfg.out_kernel}"


def session(path: Path, threads: int, level: str = "all", spin: bool = True) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = LEVELS[level]
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.log_severity_level = 3
    if not spin:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def infer_call(sess: ort.InferenceSession, width: int, height: int) -> Callable[[], object]:
    x = np.random.default_rng(0).random((1, 3, height, width), dtype=np.float32)
    name = sess.get_inputs()[0].name
    return lambda: sess.run(None, {name: x})


def exported(cfg: NetConfig, tmp: Path) -> Path:
    path = tmp / f"{label(cfg).replace(' ', '_')}.onnx"
    if not path.exists():
        torch.manual_seed(0)
        export(TransformerNet(cfg), path, {"name": path.stem})
    return path


def architectures(tmp: Path, threads: int, runs: int) -> list[dict]:
    """tools.train's presets, then one shipped model per graph of the two tiers (their own files)."""
    nets = [(f"tools.train --arch {name}: {label(cfg)}", exported(cfg, tmp), macs_per_pixel(cfg))
            for name, cfg in PRESETS.items()]
    nets += [(f"{card.name} ({card.info['size_class']} tier)", card.path, card.info.get("macs_per_pixel"))
             for card in map(find_model, representatives(default_models()))
             if card.info.get("size_class") in ("quality", "fast")]
    sizes = ((640, 360), (320, 180))
    calls = {}
    for name, path, _ in nets:
        sess = session(path, threads)
        calls.update({f"{name} {w}": infer_call(sess, w, h) for w, h in sizes})
    stats = time_rounds(calls, runs)
    rows = []
    for name, _, macs in nets:
        rows.append({"config": name, "macs_per_pixel": macs,
                     **{f"ms_{w}x{h}": stats[f"{name} {w}"].p50_ms for w, h in sizes}})
        print(json.dumps(rows[-1], default=lambda v: round(v, 2)), flush=True)
    return rows


def ort_settings(model: Path, width: int, height: int, runs: int) -> list[dict]:
    """Graph optimization levels, then threads and spinning, all taking turns (time_rounds)."""
    settings = [(level, 2, True) for level in LEVELS] + [("all", t, spin) for t in (1, 2) for spin in (True, False)
                                                          if (t, spin) != (2, True)]
    calls = {f"{level} {t} {spin}": infer_call(session(model, t, level, spin), width, height)
             for level, t, spin in settings}
    stats = time_rounds(calls, runs)
    rows = [{"level": level, "threads": t, "spin": spin, "ms": stats[f"{level} {t} {spin}"].p50_ms}
            for level, t, spin in settings]
    for r in rows:
        print(json.dumps(r, default=lambda v: round(v, 2)), flush=True)
    return rows


def int8(model: Path, clip: Path, tmp: Path, width: int, height: int, threads: int, runs: int) -> dict:
    picked = video_frames(clip, width, height, 32)
    info = quantize(model, tmp / "int8.onnx", picked[0::2], picked[1::2])
    stats = time_rounds({"fp32": infer_call(session(model, threads), width, height),
                         "int8": infer_call(session(tmp / "int8.onnx", threads), width, height)}, runs)
    out = {"fp32_ms": stats["fp32"].p50_ms, "int8_ms": stats["int8"].p50_ms,
           **{k: info["quantization"][k] for k in ("psnr_vs_fp32_db", "mean_abs_diff_vs_fp32")}}
    out["int8_speedup"] = out["fp32_ms"] / out["int8_ms"]
    print(json.dumps(out, default=lambda v: round(v, 2)), flush=True)
    return out


def internal_scale(model: Path, frame: np.ndarray, threads: int, runs: int) -> list[dict]:
    """Network, upsampling and whole frame at three scales, all taking turns (time_rounds)."""
    calls, inputs = {}, {}
    for scale in (1.0, 0.75, 0.5):
        stylizer = rtstyle.load_style(model, providers="cpu", threads=threads, scale=scale)
        x = stylizer.preprocess(frame)
        inputs[scale] = f"{x.shape[3]}x{x.shape[2]}"
        calls[f"inference {scale}"] = lambda s=stylizer, x=x: s.infer(x)
        calls[f"frame {scale}"] = lambda s=stylizer: s(frame)
        if scale < 1:
            small = guided.downscale(frame, *guided.scaled_size(*frame.shape[:2], scale))  # speed is content-blind
            calls[f"upsample {scale}"] = lambda small=small: guided.guided_upsample(small, frame)
    stats = time_rounds(calls, runs)
    rows = []
    for scale, size in inputs.items():
        rows.append({"scale": scale, "network_input": size, "inference_ms": stats[f"inference {scale}"].p50_ms,
                     "upsample_ms": stats[f"upsample {scale}"].p50_ms if scale < 1 else 0.0,
                     "frame_ms": stats[f"frame {scale}"].p50_ms})
        print(json.dumps(rows[-1], default=lambda v: round(v, 2)), flush=True)
    return rows


def live(stylizer: rtstyle.Stylizer, clip: Path, fps: float) -> dict:
    """Frames offered at ``fps`` by a paced source (as a camera would); what rate comes out, how late."""
    source = VideoFileSource(clip)
    try:
        images = [f.image for f in source.frames()]
    finally:
        source.close()

    def paced():
        start = time.monotonic()
        for i, image in enumerate(images):
            delay = start + i / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            yield VideoFrame(image=image, index=i, captured_at=time.monotonic())

    def work(frame: VideoFrame) -> VideoFrame:
        frame.image = stylizer(frame.image)
        return frame

    stop = threading.Event()
    stages = chain(paced(), [("capture", None, 1), ("stylize", work, 1)], stop)
    latencies, first, last = [], None, 0.0
    for frame in stages[-1].results():
        last = time.monotonic()
        first = first if first is not None else frame.captured_at
        latencies.append(last - frame.captured_at)
    stop.set()
    lat = summarize(latencies)
    return {"offered_fps": fps, "frames": len(latencies), "achieved_fps": (len(latencies) - 1) / (last - first),
            "latency_p50_ms": lat.p50_ms, "latency_p95_ms": lat.p95_ms}


def end_to_end(model: Path, clip: Path, tmp: Path, threads: int, scale: float | None) -> dict:
    """Render with rtstyle.render_plan's frames in flight, and live, with ORT spinning on and off."""
    plan_threads, workers = rtstyle.render_plan("cpu")
    out = {"render_plan": f"{workers} frame(s) x {plan_threads or 'ORT default'} thread(s)"}
    for spin in (True, False):
        on = "on" if spin else "off"
        stylizer = rtstyle.load_style(model, providers="cpu", threads=plan_threads, scale=scale, spin=spin)
        out[f"render_fps_spin_{on}"] = rtstyle.render(clip, tmp / "fast.mp4", stylizer, overwrite=True,
                                                      workers=workers).processing_fps
        stylizer = rtstyle.load_style(model, providers="cpu", threads=threads, scale=scale, spin=spin)
        out[f"live_spin_{on}"] = live(stylizer, clip, 30.0)
        print(json.dumps(out, default=lambda v: round(v, 2)), flush=True)
    out["scale"] = stylizer.scale
    return out


def frames_in_flight(model: Path, clip: Path, tmp: Path, scale: float | None) -> list[dict]:
    """Render fps for (threads, frames at once) pairs, smoothing off and on (flow)."""
    rows = []
    for threads, workers in ((2, 1), (1, 2), (2, 2)):
        stylizer = rtstyle.load_style(model, providers="cpu", threads=threads, scale=scale)
        row = {"threads": threads, "workers": workers}
        for smooth in ("none", "flow"):
            row[f"render_fps_smooth_{smooth}"] = rtstyle.render(clip, tmp / "f.mp4", stylizer, overwrite=True,
                                                                smooth=smooth, workers=workers).processing_fps
        rows.append(row)
        print(json.dumps(row, default=lambda v: round(v, 2)), flush=True)
    return rows


RENDER_PROBE = """
import json, resource, sys
import rtstyle
from rtstyle import memory
memory.keep_freed_buffers()  # at every scale here; RTSTYLE_KEEP_BUFFERS=0 turns it off
threads, workers = rtstyle.render_plan("cpu")
stylizer = rtstyle.load_style(sys.argv[3], providers="cpu", threads=threads, scale=float(sys.argv[4]))
report = rtstyle.render(sys.argv[1], sys.argv[2], stylizer, overwrite=True, workers=workers)
print(json.dumps({"fps": report.processing_fps, "page_faults_per_frame": resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                  / report.frames_out}))
"""


def allocator(model: Path, clip: Path, tmp: Path, scale: float, rounds: int = 2) -> list[dict]:
    """Render fps as `rtstyle render` plans it, glibc defaults (RTSTYLE_KEEP_BUFFERS=0) against
    rtstyle.memory, at the model's scale and at 0.5 (guided upsampling's full-size buffers)."""
    rows = []
    for at in dict.fromkeys((scale, 0.5)):
        runs: dict[str, list[dict]] = {"glibc_defaults": [], "keep_freed_buffers": []}
        for _ in range(rounds):
            for name, keep in (("glibc_defaults", "0"), ("keep_freed_buffers", "1")):
                out = subprocess.run([sys.executable, "-c", RENDER_PROBE, str(clip), str(tmp / "g.mp4"), str(model),
                                      str(at)], capture_output=True, text=True, check=True,
                                     env={**os.environ, "RTSTYLE_KEEP_BUFFERS": keep})
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        row = {"scale": at, **{name: {key: float(np.median([r[key] for r in rs])) for key in rs[0]}
                               for name, rs in runs.items()}}
        row["fps_ratio"] = row["keep_freed_buffers"]["fps"] / row["glibc_defaults"]["fps"]
        rows.append(row)
        print(json.dumps(row, default=lambda v: round(v, 2)), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="trained fast model (name or .onnx); default: the first model whose card "
                                    "says size_class fast, else random weights of the fast config")
    ap.add_argument("--scale", type=float, default=None, help="internal scale (default: the model's, else 1)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--video", type=Path, help="640x360 clip (default: examples/pedestrians.mp4 resized)")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: A,B,C,D,E,F,G")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    skip = set(a.skip.upper().split(","))
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        clip = a.video or make_clip(tmp / "clip_640x360.mp4", 640, 360)
        shipped = [c for c in default_models() if c.info.get("size_class") == "fast"]
        model = find_model(a.model).path if a.model else shipped[0].path if shipped else exported(FAST, tmp)
        card = find_model(model)
        scale = a.scale or float(card.info.get("internal_scale", 1.0))
        h, w = guided.scaled_size(360, 640, scale)
        source = VideoFileSource(clip)
        frame = next(source.frames()).image
        source.close()
        sections = {"A": ("architectures", lambda: architectures(tmp, a.threads, a.runs)),
                    "B": ("ort_settings", lambda: ort_settings(model, w, h, a.runs)),
                    "C": ("int8", lambda: int8(model, clip, tmp, w, h, a.threads, a.runs)),
                    "D": ("internal_scale", lambda: internal_scale(model, frame, a.threads, a.runs)),
                    "E": ("end_to_end", lambda: end_to_end(model, clip, tmp, a.threads, scale)),
                    "F": ("frames_in_flight", lambda: frames_in_flight(model, clip, tmp, scale)),
                    "G": ("allocator", lambda: allocator(model, clip, tmp, scale))}
        for key, (name, run) in sections.items():
            if key not in skip:
                print(f"== {key}. {name} ({card.name})", flush=True)
                results[name] = run()
    if a.json:
        a.json.write_text(json.dumps({"machine": machine_info(), "model": card.name,
                                      "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
