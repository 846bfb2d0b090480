"""Speed of candidate student shapes (tools/student_net.py) against the fast net they would replace.

Random-weight exports (cost does not depend on the weights; tools.distil.export, the form every
student ships in), run by ONNX Runtime on the CPU at 640x368, calls interleaved so that all see
the same machine load; medians, and the ratio to the replaced fast net given as OLD. ``--files``
times model files as they are beside them (a student exported before the upsampling
convolutions ran at the low size, and the same student exported now). The sessions do not
spin-wait between calls: a spinning pool of one session takes the cores from the next one's call
(it doubled every time).

    python -m benchmarks.student_shapes OLD_FAST.onnx [--files MODEL.onnx ...] [--threads 2] [--runs 12]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtstyle.models import read_card
from tools.distil import export
from tools.student_net import Student, StudentConfig, macs_per_pixel

Z = ("zeros", "zeros")  # padding of the blocks and outside them; the zoo's first students were zero-padded
SHAPES = {
    "teacher's layout uncut: 5 blocks, 9x9 in, 9x9 out": StudentConfig(5, 9, 9, *Z),
    "5 blocks, 9x9 in, 3x3 out": StudentConfig(5, 9, 3, *Z),
    "5 blocks, 7x7 in, 3x3 out": StudentConfig(5, 7, 3, *Z),
    "5 blocks, 5x5 in, 5x5 out": StudentConfig(5, 5, 5, *Z),
    "5 blocks, 5x5 in, 5x5 out, blocks replicate-padded": StudentConfig(5, 5, 5, "replicate", "zeros"),
    "5 blocks, 5x5 in, 5x5 out, all replicate-padded": StudentConfig(5, 5, 5, "replicate", "replicate"),
    "5 blocks, 5x5 in, 3x3 out": StudentConfig(5, 5, 3, *Z),
    "5 blocks, 5x5 in, 3x3 out, blocks replicate-padded": StudentConfig(5, 5, 3, "replicate", "zeros"),
    "5 blocks, 5x5 in, 3x3 out, all replicate-padded (rtstyle train since 2026-12-05)": StudentConfig(5, 5, 3),
    "3 blocks, 9x9 in, 3x3 out": StudentConfig(3, 9, 3, *Z),
    "3 blocks, 5x5 in, 5x5 out": StudentConfig(3, 5, 5, *Z),
    "3 blocks, 5x5 in, 3x3 out": StudentConfig(3, 5, 3, *Z),
    "3 blocks, 5x5 in, 3x3 out, all replicate-padded (rtstyle train before)": StudentConfig(3, 5, 3),
    "2 blocks, 5x5 in, 3x3 out": StudentConfig(2, 5, 3, *Z),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old", type=Path, help="the replaced fast model")
    ap.add_argument("--files", nargs="*", type=Path, default=[], help="model files to time as they are")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=12)
    a = ap.parse_args()
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    sessions, macs = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in SHAPES.items():
            path = Path(tmp) / f"{len(sessions)}.onnx"
            export(Student(cfg), path, {})
            sessions[name], macs[name] = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]), macs_per_pixel(cfg)
    for name, f in [("replaced fast net", a.old)] + [(str(f), f) for f in a.files]:
        sessions[name] = ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"])
        macs[name] = read_card(f).info["macs_per_pixel"]
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
        print(f"{k:<52} {macs[k]:>6} MAC/px {np.median(v):7.1f} ms  x{np.median(v) / base:.2f}")


if __name__ == "__main__":
    main()
