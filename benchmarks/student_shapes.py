"""Speed of candidate student shapes (tools/student_net.py) against the fast net they would replace.

Random-weight exports (cost does not depend on the weights), run by ONNX Runtime on the CPU at
640x368 (a multiple of every candidate's stride), calls interleaved so that all see the same
machine load; medians, and the ratio to the replaced fast net given as OLD.

    python -m benchmarks.student_shapes OLD_FAST.onnx [--threads 2] [--runs 12]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from tools.distil import export
from tools.student_net import Student, StudentConfig, macs_per_pixel

SHAPES = {
    "16-32-64, 4 blocks": StudentConfig((16, 32, 64), 4, 8),
    "16-32-64, 3 blocks": StudentConfig((16, 32, 64), 3, 8),
    "16-32-96, 4 blocks": StudentConfig((16, 32, 96), 4, 8),
    "24-48-96, 4 blocks": StudentConfig((24, 48, 96), 4, 8),
    "16-32-64-128, 3 blocks (default)": StudentConfig((16, 32, 64, 128), 3, 8),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path, help="the replaced fast model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=12)
    a = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    sessions, macs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in SHAPES.items():
            path = Path(tmp) / f"{len(sessions)}.onnx"
            export(Student(cfg), path, {})
            sessions[name], macs[name] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]), macs_per_pixel(cfg)
    sessions["replaced fast net"] = ort.InferenceSession(str(a.old), opts, providers=["CPUExecutionProvider"])
    macs["replaced fast net"] = 4950
    x = np.random.default_rng(0).random((1, 3, 368, 640), dtype=np.float32)
    times: dict[str, list[float]] = {k: [] for k in sessions}
    for i in range(a.runs + 2):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"image": x})
            if i >= 2:
                times[k].append((time.perf_counter() - t0) * 1000)
    base = np.median(times["replaced fast net"])
    print(f"640x368, {a.threads} threads, {a.runs} interleaved runs, medians")
    for k, v in times.items():
        print(f"{k:<32} {macs[k]:>6} MAC/px {np.median(v):7.1f} ms  x{np.median(v) / base:.2f}")


if __name__ == "__main__":
    main()
