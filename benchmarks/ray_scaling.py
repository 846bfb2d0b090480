"""Segmented rendering on Ray against the one-machine render, and a cost model for N workers.

One run measures, side by side on the same clip (a real clip re-encoded with a keyframe
every ``--keyframe-every`` frames, its audio copied) and the same style (a quality model,
``--style``, default starry_night), each configuration ``--repeat`` times in rotation:

- ``one machine``: rtstyle.render, two frames at once with half the cores each;
- ``ray 1 worker``: one actor with every core (the same two frames at once): Ray's own cost;
- ``ray N workers``: N actors with cores/N each (N = the cores, 2 here).

Ray runs on a local runtime started once (its start-up is reported, not counted: a cluster
is started once for many renders), with its workers at the same priority as the one-machine
render: Ray nices them to 15 by default, which on a machine shared with other work would
measure the other work, not Ray. Then the pieces of the cost model, in the same run:

- ``t_frame``: one machine's seconds per frame (median run);
- ``t_start``: a worker's start-up: new actor process, imports, model load, first answer;
- ``t_segment``: what each segment adds beyond its frames (seek, decoding up to the warm-up,
  encoder start, Ray's call), from the 1-worker run once start-up, frames and join are taken out;
- ``t_join`` per frame: the join (packet copy and audio mux) of the rendered file, timed again;
- ``W``: warm-up frames per seam (from the smoothing strength).

For a video of F frames cut into S segments on N workers (machines like this one):

    T(N) = t_start + ceil(S / N) * ((F / S + W) * t_frame + t_segment) + F * t_join
    speed-up(N) = F * t_frame / T(N)

The model predicts the 2-worker run here (each worker has half the cores, so its
t_frame is twice the machine's) as a check, then N machines on a 10-minute video.

    python -m benchmarks.ray_scaling --json docs/scale_out/ray_scaling.json | tee docs/scale_out/ray_scaling.txt
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import ray

import rtstyle
from benchmarks.common import EXAMPLE, with_keyframes
from rtstyle import distributed, metrics, segments
from rtstyle.avcheck import probe
from rtstyle.sources import VideoFileSource


def one_machine(clip: Path, out: Path, style: str, crf: int) -> float:
    t0 = time.perf_counter()
    report = rtstyle.render(clip, out, style, overwrite=True, crf=crf)  # loads the style as a CLI render does
    assert report.check.ok, report.check.summary()
    return time.perf_counter() - t0


def on_ray(clip: Path, out: Path, settings: distributed.Settings, workers: int) -> float:
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    [result] = distributed.render_files([(clip, out)], settings, workers=workers)
    assert result.ok, result.error
    return time.perf_counter() - t0


def worker_start(settings: distributed.Settings) -> float:
    """From asking for an actor to its first answer: process start, imports, model load."""
    t0 = time.perf_counter()
    actor = ray.remote(distributed.SegmentWorker).options(num_cpus=settings.cpus_per_worker).remote(settings)
    ray.get(actor.pid.remote())
    seconds = time.perf_counter() - t0
    ray.kill(actor)
    return seconds


def join_seconds(clip: Path, rendered: Path, folder: Path) -> float:
    t0 = time.perf_counter()
    segments.join([rendered], segments.plan(clip, math.inf), clip, folder / "joined.mp4")
    return time.perf_counter() - t0


def decoded(path: Path) -> list:
    source = VideoFileSource(path)
    try:
        return [frame.image for frame in source.frames()]
    finally:
        source.close()


def seam_flicker(clip: Path, one: Path, split: Path, seams: list[int], radius: int = 3) -> list[dict]:
    """E_warp of both renders over the frame pairs around each seam, and their lowest PSNR there."""
    original, a, b = decoded(clip), decoded(one), decoded(split)
    rows = []
    for seam in seams:
        meter = metrics.WarpError(2)
        for i in range(seam - radius, seam + radius):
            meter.add(original[i], [a[i], b[i]])
        psnr = min(cv2.PSNR(a[i], b[i]) for i in range(seam - radius, seam + radius))
        rows.append({"seam_frame": seam, "e_warp_one_machine": meter.values[0], "e_warp_segmented": meter.values[1],
                     "min_psnr_db": psnr})
    return rows


def predict(frames: int, pieces: int, workers: int, warmup: int, t_frame: float, t_start: float, t_segment: float,
            t_join: float) -> float:
    return t_start + math.ceil(pieces / workers) * ((frames / pieces + warmup) * t_frame + t_segment) + frames * t_join


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=EXAMPLE)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--keyframe-every", type=int, default=10, help="frames between keyframes of the test clip")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--crf", type=int, default=18, help="H.264 quality of every render (0: lossless, no encoder noise)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    card = next(c for c in rtstyle.list_models() if c.name == args.style)
    print(f"{platform.processor() or platform.machine()}, {cores} cores, load average before: {os.getloadavg()[0]:.1f}")
    print(f"style {args.style} ({card.path.name}, {card.path.stat().st_size / 1e6:.1f} MB, {card.title})")
    os.environ.setdefault("RAY_worker_niceness", "0")
    t0 = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    ray_start = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = with_keyframes(args.clip, folder / "clip.mp4", args.keyframe_every)
        info = probe(clip)
        frames, seconds = info.frames, info.video_seconds
        single = distributed.Settings(args.style, {"providers": "cpu"}, crf=args.crf, segment_seconds=seconds + 1,
                                      cpus_per_worker=cores)
        split = distributed.Settings(args.style, {"providers": "cpu"}, crf=args.crf, cpus_per_worker=1)
        plan = segments.plan(clip, distributed.segment_seconds(clip, cores), split.warmup)
        pieces_split = len(plan)
        print(f"clip {args.clip.name}: {frames} frames, {seconds:.1f} s, keyframe every {args.keyframe_every} frames; "
              f"crf {args.crf}; {cores} workers cut it into {pieces_split} segments, warm-up {split.warmup} frames per seam; "
              f"local Ray runtime started in {ray_start:.1f} s")
        runs: dict[str, list[float]] = {"one machine": [], "ray 1 worker": [], f"ray {cores} workers": []}
        for i in range(args.repeat):
            runs["one machine"].append(one_machine(clip, folder / "one.mp4", args.style, args.crf))
            runs["ray 1 worker"].append(on_ray(clip, folder / "ray1.mp4", single, 1))
            runs[f"ray {cores} workers"].append(on_ray(clip, folder / "rayN.mp4", split, cores))
            print(f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in runs.items()), flush=True)
        seams = [sum(s.frames for s in plan[:i]) for i in range(1, len(plan))]
        seam_rows = seam_flicker(clip, folder / "one.mp4", folder / "rayN.mp4", seams)
        starts = [worker_start(single) for _ in range(3)]
        joins = [join_seconds(clip, folder / "one.mp4", folder) for _ in range(3)]
    ray.shutdown()
    median = {k: statistics.median(v) for k, v in runs.items()}
    t_frame = median["one machine"] / frames
    t_start, t_join = statistics.median(starts), statistics.median(joins) / frames
    t_segment = max(0.0, median["ray 1 worker"] - t_start - frames * t_frame - frames * t_join)
    check = predict(frames, pieces_split, cores, split.warmup, cores * t_frame, t_start, t_segment, t_join)
    print(f"\nmedians of {args.repeat} runs (fps = frames / wall seconds, start-up and join included):")
    for name, value in median.items():
        ratio = median["one machine"] / value
        print(f"  {name:<14} {value:7.1f} s  {frames / value:5.2f} fps  speed vs one machine {ratio:.2f}")
    print(f"\ncost model: t_frame {t_frame * 1000:.0f} ms, t_start {t_start:.2f} s, t_segment {t_segment:.2f} s, "
          f"t_join {t_join * 1000:.2f} ms per frame, W {split.warmup} frames")
    for row in seam_rows:
        print(f"seam at frame {row['seam_frame']}: E_warp over the 6 pairs around it: one machine "
              f"{row['e_warp_one_machine']:.5f}, segmented {row['e_warp_segmented']:.5f} "
              f"({100 * (row['e_warp_segmented'] / row['e_warp_one_machine'] - 1):+.1f} %); "
              f"lowest PSNR between them {row['min_psnr_db']:.1f} dB")
    print(f"model for the {cores}-worker run here: {check:.1f} s, measured {median[f'ray {cores} workers']:.1f} s")
    fps = frames / seconds
    long_frames = round(600 * fps)
    one = long_frames * t_frame
    print(f"\n10-minute video ({long_frames} frames at this size), N machines like this one, "
          f"{distributed.SEGMENTS_PER_WORKER} segments per worker:")
    print(f"  {'N':>4} {'segments':>8} {'predicted s':>11} {'speed-up':>8} {'/ N':>6}")
    table = []
    for n in (1, 2, 4, 8, 16, 32, 64):
        seg_seconds = max(distributed.MIN_SEGMENT_SECONDS, 600 / (distributed.SEGMENTS_PER_WORKER * n))
        pieces = math.ceil(600 / seg_seconds)
        t = predict(long_frames, pieces, n, split.warmup, t_frame, t_start, t_segment, t_join)
        table.append({"workers": n, "segments": pieces, "seconds": t, "speedup": one / t})
        print(f"  {n:>4} {pieces:>8} {t:>11.0f} {one / t:>8.2f} {one / t / n:>6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "cores": cores, "style": args.style, "clip": args.clip.name, "frames": frames, "runs": runs,
            "medians": median, "ray_start": ray_start, "t_frame": t_frame, "t_start": t_start,
            "t_segment": t_segment, "t_join_per_frame": t_join, "warmup": split.warmup,
            "seams": seam_rows, "model_check": {"predicted": check, "measured": median[f"ray {cores} workers"]},
            "ten_minutes": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
