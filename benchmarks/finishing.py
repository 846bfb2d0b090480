"""What finishing an MP4 costs (rtstyle.fragments): a long render's fragmented file copied into
one regular file, beside a plain copy of the same file (the least any rewrite of it costs).

The file: examples/pedestrians.mp4's frames at 1920x1080 painted in candy_fast and encoded as a
render encodes them (H.264, crf 18: a painting's strokes take many more bytes than the photo's
frames), with the clip's AAC sound; those packets repeated, their times moved on, for
``--minutes`` of video, and written in fragments as rtstyle writes an MP4. Both timings read a
file the page cache holds (it was just written) and end without waiting for the disk (no fsync).

    python -m benchmarks.finishing [--minutes 10] [--rounds 5]
Medians are quoted; run it on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import av

from benchmarks.common import EXAMPLE, make_clip
from rtstyle import fragments, load_style
from rtstyle.bench import machine_info


def long_fragmented(clip: Path, dst: Path, minutes: float) -> tuple[int, int]:
    """``clip``'s packets repeated for ``minutes``, written in fragments; returns (loops, packets)."""
    packets = 0
    with av.open(str(clip)) as probe:  # a loop ends after the last packet of any stream (AAC starts early)
        span = max(float((p.pts + p.duration) * p.time_base) for p in probe.demux() if p.pts is not None) + 0.1
    loops = max(1, round(minutes * 60 / span))
    with av.open(str(dst), "w", container_options=fragments.WRITING) as out:
        with av.open(str(clip)) as inp:
            copies = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for loop in range(loops):
            with av.open(str(clip)) as inp:
                for p in inp.demux():
                    if p.dts is None:
                        continue
                    shift = round(loop * span / p.time_base)
                    p.pts, p.dts = p.pts + shift, p.dts + shift
                    p.stream = copies[p.stream.index]
                    out.mux(p)
                    packets += 1
    return loops, packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(machine_info())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        clip = make_clip(work / "clip.mp4", 1920, 1080, paint=load_style("candy_fast", threads=2), crf=18,
                         sound=True)
        fragmented = work / "fragmented.mp4"
        loops, packets = long_fragmented(clip, fragmented, args.minutes)
        size = fragmented.stat().st_size
        times: dict[str, list[float]] = {"finish": [], "copy": []}
        for r in range(args.rounds):
            for name in ("finish", "copy") if r % 2 == 0 else ("copy", "finish"):
                target = work / f"{name}.mp4"
                if name == "finish":
                    shutil.copyfile(fragmented, target)  # not timed: finish rewrites it in place
                    start = time.perf_counter()
                    fragments.finish(target, "mp4")
                else:
                    start = time.perf_counter()
                    shutil.copyfile(fragmented, target)
                times[name].append(time.perf_counter() - start)
        finished = (work / "finish.mp4").stat().st_size
        with av.open(str(work / "finish.mp4")) as check:
            frames = check.streams.video[0].frames
        finish, copy = statistics.median(times["finish"]), statistics.median(times["copy"])
        print(f"file: {args.minutes:g} min of 1920x1080 H.264 + AAC ({loops} loops of {EXAMPLE.name}), "
              f"{packets} packets, {frames} frames; {size / 1e6:.1f} MB fragmented, {finished / 1e6:.1f} MB finished")
        print(f"rounds: {args.rounds}, medians (all: finish {', '.join(f'{t:.2f}' for t in times['finish'])}; "
              f"copy {', '.join(f'{t:.2f}' for t in times['copy'])})")
        print(f"finish  {finish:7.2f} s  {size / 1e6 / finish:7.0f} MB/s")
        print(f"copy    {copy:7.2f} s  {size / 1e6 / copy:7.0f} MB/s")
        print(f"finish / copy: {finish / copy:.2f}x")


if __name__ == "__main__":
    main()
