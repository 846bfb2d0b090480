"""Device check: one prepared run on a GPU machine (no network needed), done in under 8 minutes.

1. Installs what is missing from wheels carried in the tree (``--wheels``, default
   ``wheels/``; e.g. onnxruntime-gpu and its nvidia-* dependencies), offline.
2. Runs the tests that need a GPU (tests/test_gpu_path.py; they skip, saying why, without one).
3. Measures fp16 against fp32 on a real frame at 720p (CUDA), in 0-255 pixel units.
4. Runs `rtstyle bench` for every model at 720p and 1080p on CPU fp32, CUDA fp32, CUDA fp16
   and TensorRT fp16, one subprocess per row under a share of the remaining time budget,
   and writes each row's JSON plus summary.json into ``results/device_check-<UTC time>/``.

    python -m tools.device_check                     # on the GPU machine, from the repo root
    python -m tools.device_check --budget 420 --model starry_night
On a machine without a GPU the GPU rows come back skipped with the reason.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIZES = ("1280x720", "1920x1080")
ROWS = (("cpu", "fp32"), ("cuda", "fp32"), ("cuda", "fp16"), ("tensorrt", "fp16"))
REQUIRED = ("numpy", "onnxruntime", "av", "cv2", "click")
OPTIONAL = ("onnx", "pytest")  # CUDA fp16 conversion; the GPU tests


def log(msg: str) -> None:
    print(f"[device_check {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def install_missing(wheels: Path) -> None:
    """Offline install from carried wheels: whatever import fails, and onnxruntime-gpu over onnxruntime."""
    missing = [m for m in REQUIRED + OPTIONAL if importlib.util.find_spec(m) is None]
    has_gpu_ort = subprocess.run([sys.executable, "-m", "pip", "show", "onnxruntime-gpu"],
                                 capture_output=True).returncode == 0
    if not missing and has_gpu_ort:
        return
    wheel_files = sorted(wheels.glob("*.whl")) if wheels.is_dir() else []
    if not wheel_files:
        log(f"missing {missing or ['onnxruntime-gpu']} and no wheels in {wheels}: going on with what is installed")
        return
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--find-links", str(wheels)]
    if any(w.name.startswith("onnxruntime_gpu") for w in wheel_files):
        # Both builds own the same `onnxruntime` package folder: keep only the GPU one.
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-q", "-y", "onnxruntime"], check=False)
        subprocess.run([*pip, "onnxruntime-gpu"], check=False)
    names = {"cv2": "opencv-python-headless"}
    if missing:
        subprocess.run([*pip, *(names.get(m, m) for m in missing)], check=False)


def run_tests(limit: float) -> dict:
    log("GPU tests")
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "tests/test_gpu_path.py"], cwd=ROOT,
                           capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"status": f"timed out after {limit:.0f} s"}
    tail = r.stdout.strip().splitlines()[-8:]
    print("\n".join(tail), flush=True)
    return {"status": "passed" if r.returncode == 0 else f"failed (exit {r.returncode})", "summary": tail}


def fp16_error(model: str) -> dict:
    """Largest and mean difference, fp16 vs fp32 on CUDA, on a real 720p frame (0-255 units)."""
    import cv2
    import numpy as np

    import rtstyle
    from rtstyle.errors import RtstyleError
    from rtstyle.sources import VideoFileSource

    source = VideoFileSource(ROOT / "examples" / "pedestrians.mp4")
    frame = cv2.resize(next(source.frames()).image, (1280, 720), interpolation=cv2.INTER_CUBIC)
    source.close()
    try:
        fp32 = rtstyle.load_style(model, providers="cuda", frame_size=(720, 1280))
        if fp32.engine.fallback_note:
            return {"skipped": fp32.engine.fallback_note}
        a = fp32(frame).astype(np.int16)
        b = rtstyle.load_style(model, providers="cuda", precision="fp16", frame_size=(720, 1280))(frame)
    except RtstyleError as e:
        return {"skipped": str(e)}
    diff = np.abs(a - b.astype(np.int16))
    return {"max_abs": int(diff.max()), "mean_abs": round(float(diff.mean()), 3),
            "pixels_off_by_more_than_8": round(float((diff > 8).mean()), 5)}


def bench_row(model: str, size: str, provider: str, precision: str, out: Path, limit: float) -> dict:
    gpu_row = provider != "cpu"
    frames, warmup = (100, 10) if gpu_row else (3, 1)
    cmd = [sys.executable, "-m", "rtstyle", "bench", "-s", model, "--size", size, "--provider", provider,
           "--precision", precision, "--frames", str(frames), "--warmup", str(warmup), "--json", str(out)]
    try:
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"model": model, "size": size, "provider": provider, "precision": precision,
                "skipped": f"timed out after {limit:.0f} s (budget)"}
    if r.returncode != 0 or not out.exists():
        return {"model": model, "size": size, "provider": provider, "precision": precision,
                "skipped": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.read_text())["results"][0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=float, default=450, help="seconds for the whole check (limit: 8 minutes)")
    ap.add_argument("--model", action="append", help="model(s) to bench (default: every model found)")
    ap.add_argument("--wheels", type=Path, default=ROOT / "wheels")
    ap.add_argument("--out", type=Path, default=ROOT / "results")
    a = ap.parse_args()
    deadline = time.monotonic() + a.budget
    install_missing(a.wheels)
    still = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
    if still:
        sys.exit(f"device_check: cannot run without {', '.join(still)} (no network: carry wheels in {a.wheels})")
    sys.path.insert(0, str(ROOT))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    from rtstyle.bench import default_models, machine_info

    out = a.out / f"device_check-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    out.mkdir(parents=True, exist_ok=True)
    models = a.model or [c.name for c in default_models()]
    summary: dict = {"machine": machine_info(), "models": models,
                     "tests": run_tests(min(120.0, deadline - time.monotonic()))}
    if models:
        log(f"fp16 vs fp32 ({models[0]})")
        summary["fp16_vs_fp32_720p"] = fp16_error(models[0])
        log(json.dumps(summary["fp16_vs_fp32_720p"]))
    rows = [(m, s, p, x) for p, x in ROWS for m in models for s in SIZES]
    results = []
    for i, (model, size, provider, precision) in enumerate(rows):
        left = deadline - time.monotonic()
        limit = max(5.0, left / (len(rows) - i) * 2)  # a row may use twice its fair share (TensorRT builds)
        if left < 5:
            results.append({"model": model, "size": size, "provider": provider, "precision": precision,
                            "skipped": "no time left in the budget"})
            continue
        log(f"bench {model} {size} {provider} {precision} (limit {min(limit, left):.0f} s)")
        results.append(bench_row(model, size, provider, precision,
                                 out / f"{model}_{size}_{provider}_{precision}.json", min(limit, left)))
        r = results[-1]
        log(f"  -> skipped: {r['skipped']}" if r.get("skipped") else
            f"  -> {r['fps']:.1f} fps, inference p50 {r['stages']['inference']['p50_ms']:.2f} ms, "
            f"p99 {r['stages']['inference']['p99_ms']:.2f} ms")
    summary["results"] = results
    (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{'model':<24} {'size':>9} {'provider':<9} {'prec':<4} {'fps':>8} {'infer p50':>9} {'p99':>8}")
    for r in results:
        head = f"{r['model']:<24} {r['size']:>9} {r['provider']:<9} {r['precision']:<4}"
        if r.get("skipped"):
            print(f"{head} skipped: {r['skipped'][:110]}")
        else:
            inf = r["stages"]["inference"]
            print(f"{head} {r['fps']:>8.1f} {inf['p50_ms']:>9.2f} {inf['p99_ms']:>8.2f}")
    log(f"wrote {out / 'summary.json'} in {a.budget - (deadline - time.monotonic()):.0f} s")


if __name__ == "__main__":
    main()
