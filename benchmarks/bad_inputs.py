"""Issue #8's table of bad inputs: every case of tools.bad_inputs through the real command.

Each case runs `python -m rtstyle render SRC DST --style tests/data/fast_random.onnx` in
its own process and is judged from the outside: exit code, stderr, the output file.

    python -m benchmarks.bad_inputs [--work DIR] [--threads 2] [--verbose]

A case passes when it does what ``Case.expect`` says: "render" exits 0 with the renderer's
A/V check passed; "error" exits 1 with a single `error: ...` line, no traceback, and
leaves no output behind (an existing output is left as it was; after a full disk, only a
partial file that plays).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2

from rtstyle import sequences
from rtstyle.avcheck import playable_frames
from tools.bad_inputs import Case, cases, limit_file_size

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
MODEL = DATA / "fast_random.onnx"


def run_case(case: Case, work: Path, threads: int, timeout: float = 300) -> tuple[bool, str, str]:
    """(passed, outcome in a few words, stderr) of one case."""
    p = case.make(DATA, work)
    before = p.dst.read_bytes() if p.dst.is_file() else None
    cmd = [sys.executable, "-m", "rtstyle", "render", str(p.src), str(p.dst), "--style", str(MODEL),
           "--threads", str(threads), *p.args]
    try:
        limit = case.file_size_limit
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                           preexec_fn=(lambda: limit_file_size(limit)) if limit else None)
    except subprocess.TimeoutExpired:
        return False, f"hung (> {timeout:.0f} s)", ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if "Traceback" in r.stderr:
        return False, "traceback", r.stderr
    if r.returncode == 0:
        checked = any(line.startswith("A/V check: ok") for line in lines)
        return case.expect == "render" and checked, "rendered, A/V check ok" if checked else "rendered, unchecked", r.stderr
    if r.returncode == 1 and len(errors) == 1:
        pictures = sequences.is_pattern(p.dst)  # numbered pictures: those kept must all be whole
        kept = [p.dst.with_name(p.dst.name % n) for n in sequences.numbers(p.dst)] if pictures else []
        if case.file_size_limit:  # a partial file may stay only if it plays
            untouched = all(cv2.imread(str(f)) is not None for f in kept) if pictures else \
                not p.dst.exists() or playable_frames(p.dst) > 0
        elif before is not None:
            untouched = p.dst.is_file() and p.dst.read_bytes() == before
        else:  # nothing new: no file where there was none (a folder stays a folder)
            untouched = not p.dst.is_file() or p.dst == p.src
        ok = case.expect == "error" and untouched and case.message.lower() in errors[0].lower()
        outcome = "one-line error" + ("" if untouched else ", output changed")
        if case.file_size_limit and pictures:
            outcome += f", {len(kept)} whole pictures kept, none cut short"
        elif case.file_size_limit:
            outcome += (f", the partial file plays ({playable_frames(p.dst)} frames)" if p.dst.exists()
                        else ", the unplayable partial file removed")
        return ok, outcome, r.stderr
    return False, f"exit {r.returncode}", r.stderr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=None, help="keep the cases here (default: a temporary folder)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--verbose", action="store_true", help="print each case's stderr")
    a = ap.parse_args()
    rows: dict[str, list[tuple[Case, bool, str]]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        base = a.work or Path(tmp)
        for case in cases():
            work = base / case.id.replace(" ", "_")
            work.mkdir(parents=True, exist_ok=True)
            t0 = time.perf_counter()
            ok, outcome, stderr = run_case(case, work, a.threads)
            rows[case.kind].append((case, ok, outcome))
            last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
            print(f"{'pass' if ok else 'FAIL'}  {case.id}: {outcome} ({time.perf_counter() - t0:.1f} s)  | {last}",
                  file=sys.stderr)
            if a.verbose or not ok:
                print(stderr, file=sys.stderr)
    print("| class | cases | outcome |\n|---|---|---|")
    for kind, results in rows.items():
        outcomes = defaultdict(list)
        for case, ok, outcome in results:
            outcomes[outcome if ok else f"FAILED: {outcome}"].append(case.name)
        text = "; ".join(f"{o} ({', '.join(names)})" for o, names in outcomes.items())
        print(f"| {kind} | {len(results)} | {text} |")
    failed = sum(not ok for results in rows.values() for _, ok, _ in results)
    print(f"\n{sum(map(len, rows.values()))} cases, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
