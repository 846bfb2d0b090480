"""Mutation test of `rtstyle render`: real clips with bytes flipped at seeded random places.

Every case must end one of two ways: rendered (exit 0 and an output that decodes to as
many frames as the summary line says) or refused on the clear-error path (exit 1, one
`error: ...` line on stderr, no traceback). Anything else (a traceback, a crash, exit 0
with an unplayable file, or a run past the time limit) is a failure. tests/test_mutation.py
runs a few cases by default and all of them with ``-m slow``; this script prints the table:

    python -m benchmarks.mutation --style starry_night_fast
    python -m benchmarks.mutation --cases 30 --json results/mutation.json
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import av

from benchmarks.common import splice

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
CLIPS = ("walk_tone.mp4", "damaged.avi")
REGIONS = ("anywhere", "head", "tail")  # head and tail: where the container's headers and index sit
REGION_BYTES = 4096
# A hang is caught all the same; an idle 2-core machine renders the slowest case in ~10 s,
# one busy with training in ~60 s.
TIMEOUT = 120.0


@dataclass(frozen=True)
class Case:
    clip: str
    seed: int

    @property
    def name(self) -> str:
        return f"{Path(self.clip).stem}-{self.seed}"


@dataclass
class Outcome:
    case: str
    flips: int
    region: str
    result: str     # "rendered", "clear error" or "FAILED"
    detail: str     # the error line, the frame count, or what went wrong
    seconds: float


def cases(count: int, clips: tuple[str, ...] = CLIPS) -> list[Case]:
    """``count`` cases, the clips taking turns; seeds 0, 1, 2... so every run sees the same files."""
    return [Case(clips[i % len(clips)], i) for i in range(count)]


def mutate(data: bytes, seed: int) -> tuple[bytes, int, str]:
    """Flip 1-64 bytes (XOR with a non-zero value) in a region chosen by the seed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    region = REGIONS[seed % len(REGIONS)]
    flips = int(rng.integers(1, 65))
    lo, hi = {"anywhere": (0, len(data)), "head": (0, min(REGION_BYTES, len(data))),
              "tail": (max(0, len(data) - REGION_BYTES), len(data))}[region]
    out = bytearray(data)
    for pos, mask in zip(rng.integers(lo, hi, flips), rng.integers(1, 256, flips)):
        out[pos] ^= int(mask)
    return bytes(out), flips, region


def frames_in(path: Path) -> int:
    """Frames a player gets from ``path`` (raises if it does not decode)."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def judge(rc: int | None, stderr: str, output: Path) -> tuple[str, str]:
    """(result, detail) of one finished or timed-out run."""
    if rc is None:
        return "FAILED", f"no result within {TIMEOUT:g} s"
    if "Traceback" in stderr:
        return "FAILED", "traceback: " + stderr.strip().splitlines()[-1][:200]
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    if rc == 1:
        return ("clear error", errors[0]) if len(errors) == 1 else ("FAILED", f"exit 1 with {len(errors)} error lines")
    if rc != 0:
        return "FAILED", f"exit {rc}" + (" (killed by a signal)" if rc < 0 else "")
    said = re.search(r"^(\d+) frames in ", stderr, re.MULTILINE)
    try:
        decoded = frames_in(output)
    except (av.error.FFmpegError, OSError, IndexError) as e:  # IndexError: no video stream
        return "FAILED", f"exit 0 but the output does not play: {e!r}"
    if not said or int(said.group(1)) != decoded or decoded == 0:
        return "FAILED", f"exit 0 but the output has {decoded} frames, the summary says {said and said.group(1)}"
    return "rendered", f"{decoded} frames" + ("; damage reported" if "damaged input" in stderr else "")


def run_case(case: Case, style: str | Path, folder: Path, timeout: float = TIMEOUT) -> Outcome:
    """Mutate the clip, render it in a subprocess, judge what came out."""
    src = folder / f"{case.name}{Path(case.clip).suffix}"
    data, flips, region = mutate((DATA / case.clip).read_bytes(), case.seed)
    src.write_bytes(data)
    dst = folder / f"{case.name}-out.mp4"
    cmd = [sys.executable, "-m", "rtstyle", "render", str(src), str(dst), "--style", str(style), "--threads", "1",
           "--overwrite"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout, env=env, cwd=ROOT)
        rc, stderr = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired as e:
        rc, stderr = None, (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
    result, detail = judge(rc, stderr, dst)
    return Outcome(case.name, flips, region, result, detail, round(time.monotonic() - t0, 1))


def table(outcomes: list[Outcome]) -> str:
    """Per clip: cases, rendered, clear errors, failures; then every failure."""
    lines = ["| input | cases | rendered | clear error | failed |", "|---|---|---|---|---|"]
    by_clip: dict[str, Counter] = {}
    for o in outcomes:
        by_clip.setdefault(o.case.rsplit("-", 1)[0], Counter())[o.result] += 1
    for clip, n in by_clip.items():
        lines.append(f"| {clip} with flipped bytes | {sum(n.values())} | {n['rendered']} | {n['clear error']} | "
                     f"{n['FAILED']} |")
    errors = Counter(re.sub(r"\d+", "N", o.detail)[:90] for o in outcomes if o.result == "clear error")
    lines += ["", "Clear errors seen:", ""] + [f"- `{k}` (x{v})" for k, v in errors.most_common()]
    lines += [f"FAILED {o.case} ({o.flips} flips, {o.region}): {o.detail}" for o in outcomes if o.result == "FAILED"]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default="starry_night_fast", help="style name or .onnx path")
    ap.add_argument("--cases", type=int, default=30)
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per case")
    ap.add_argument("--json", type=Path, help="write every outcome here")
    ap.add_argument("--doc", type=Path, help="put the table into this doc's mutation block (raw output: --json)")
    args = ap.parse_args()
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases(args.cases):
            o = run_case(case, args.style, Path(tmp), args.timeout)
            print(f"{o.case:>16} {o.flips:3d} flips {o.region:>8}: {o.result:<11} {o.detail}  ({o.seconds} s)",
                  flush=True)
            outcomes.append(o)
    print()
    print(table(outcomes))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n")
    if args.doc:
        splice(args.doc, "mutation", table(outcomes), args.json)
    sys.exit(1 if any(o.result == "FAILED" for o in outcomes) else 0)


if __name__ == "__main__":
    main()
