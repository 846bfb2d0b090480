"""Segmented rendering on Ray against the one-machine render, where its time goes, and a cost model.

One run measures, side by side on the same clip and the same style (a quality model,
``--style``, default starry_night), each configuration ``--repeat`` times in rotation:

- ``one machine``: rtstyle.render, two frames at once with half the cores each;
- ``ray 1 worker``: one actor with every core (the same two frames at once), one segment: Ray's own cost;
- ``ray N workers``: N actors with cores/N each (N = the cores, 2 here), the default plan.

The clip is a real one (``--clip``, the example) re-encoded with a keyframe every
``--keyframe-every`` frames and played ``--minutes`` long: the clip again and again, with
timestamps that go on and its audio repeated (benchmarks.common.with_keyframes). Ray runs on
a local runtime started once (its start-up is reported, not counted: a cluster is started
once for many renders), with its workers at the same priority as the one-machine render (Ray
nices them to 15 by default, which on a shared machine would measure the other work).

Where the time goes, from the segments' own records (rtstyle.segments.SegmentResult) in the
median N-worker run: the driver's plan and the workers' start-up before the first segment
starts, each segment's frames (its own and the context frames painted and encoded around its
seams), what a segment costs outside its frames (opening, seeking, closing the files, Ray's
call) and the join after the last one. The cost model's pieces come from the same run:

- ``t_frame``: one machine's seconds per frame (median run); a worker's, for each worker;
- ``t_start``: from the call to the first segment's start (plan, actor process, imports, model load);
- ``t_segment``: what a segment costs outside its frames (median over segments);
- ``C``: context frames per seam (the smoother's warm-up and the encoder's, rtstyle.segments);
- ``t_join``: what the driver does after the last segment (the join runs while workers render:
  the last segment's packets, the end of the audio mux and the A/V check remain), per frame of
  the video (the check reads the whole output).

For a video of F frames cut into S segments on N workers (machines like this one):

    T(N) = t_start + ceil(S / N) * ((F / S + C) * t_frame + t_segment) + F * t_join
    speed-up(N) = F * t_frame / T(N)

The model predicts the N-worker run here as a check, then N machines on a 10-minute video.

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


def on_ray(clip: Path, out: Path, settings: distributed.Settings, workers: int) -> tuple[float, dict]:
    """Wall seconds of a Ray render, and its segments' records with times from the call's start."""
    out.unlink(missing_ok=True)
    parts: list[segments.SegmentResult] = []
    t0 = time.time()
    [result] = distributed.render_files([(clip, out)], settings, workers=workers,
                                        on_segment=lambda src, part: parts.append(part))
    seconds = time.time() - t0
    assert result.ok, result.error
    return seconds, {"seconds": seconds, "segments": [
        {"index": p.index, "worker": p.worker, "frames": p.frames, "start": p.started - t0, "end": p.finished - t0,
         "pipeline": p.seconds} for p in sorted(parts, key=lambda p: p.index)]}


def context_frames(plan: list[segments.Segment], lead: int) -> list[int]:
    """Frames each segment paints and encodes besides its own: warm-up before it, trailing after."""
    before = [sum(s.frames for s in plan[:i]) for i in range(len(plan))]
    after = [sum(s.frames for s in plan[i + 1:]) for i in range(len(plan))]
    return [min(lead, b) + min(segments.ENCODER_CONTEXT, a) for b, a in zip(before, after)]


def worker_start(settings: distributed.Settings) -> float:
    """From asking for an actor to its first answer: process start, imports, model load."""
    t0 = time.perf_counter()
    actor = ray.remote(distributed.SegmentWorker).options(num_cpus=settings.cpus_per_worker).remote(settings)
    ray.get(actor.pid.remote())
    seconds = time.perf_counter() - t0
    ray.kill(actor)
    return seconds


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


def predict(frames: int, pieces: int, workers: int, context: int, t_frame: float, t_start: float, t_segment: float,
            t_join: float) -> float:
    return t_start + math.ceil(pieces / workers) * ((frames / pieces + context) * t_frame + t_segment) + frames * t_join


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=EXAMPLE)
    ap.add_argument("--minutes", type=float, default=2.0, help="length of the test clip (the clip played again and again)")
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
        loops = max(1, round(args.minutes * 60 / probe(args.clip).video_seconds))
        clip = with_keyframes(args.clip, folder / "clip.mp4", args.keyframe_every, loops)
        info = probe(clip)
        frames, seconds = info.frames, info.video_seconds
        single = distributed.Settings(args.style, {"providers": "cpu"}, crf=args.crf, segment_seconds=seconds + 1,
                                      cpus_per_worker=cores)
        split = distributed.Settings(args.style, {"providers": "cpu"}, crf=args.crf, cpus_per_worker=1)
        index = segments.read_index(clip)
        plan = segments.plan(index, distributed.segment_seconds(index, cores), split.warmup)
        context = context_frames(plan, split.warmup)
        per_seam = split.warmup + segments.ENCODER_CONTEXT
        print(f"clip {args.clip.name} played {loops} times: {frames} frames, {seconds:.1f} s, keyframe every "
              f"{args.keyframe_every} frames; crf {args.crf}; {cores} workers cut it into {len(plan)} segments, "
              f"{per_seam} context frames per seam ({split.warmup} before, {segments.ENCODER_CONTEXT} after); "
              f"local Ray runtime started in {ray_start:.1f} s")
        split_name = f"ray {cores} workers"
        runs: dict[str, list[float]] = {"one machine": [], "ray 1 worker": [], split_name: []}
        records: list[dict] = []
        for i in range(args.repeat):
            runs["one machine"].append(one_machine(clip, folder / "one.mp4", args.style, args.crf))
            runs["ray 1 worker"].append(on_ray(clip, folder / "ray1.mp4", single, 1)[0])
            wall, record = on_ray(clip, folder / "rayN.mp4", split, cores)
            runs[split_name].append(wall)
            records.append(record)
            print(f"round {i + 1}: " + ", ".join(f"{k} {v[-1]:.1f} s" for k, v in runs.items()), flush=True)
        seams = [sum(s.frames for s in plan[:i]) for i in range(1, len(plan))]
        seam_rows = seam_flicker(clip, folder / "one.mp4", folder / "rayN.mp4", seams)
        starts = [worker_start(single) for _ in range(3)]
    ray.shutdown()
    median = {k: statistics.median(v) for k, v in runs.items()}
    t_frame = median["one machine"] / frames
    record = sorted(records, key=lambda r: r["seconds"])[len(records) // 2]
    parts = record["segments"]
    t_start = min(p["start"] for p in parts)
    t_segment = statistics.median(p["end"] - p["start"] - p["pipeline"] for p in parts)
    t_frame_worker = statistics.median(p["pipeline"] / (p["frames"] + c) for p, c in zip(parts, context))
    t_join = (record["seconds"] - max(p["end"] for p in parts)) / frames
    check = predict(frames, len(plan), cores, per_seam, t_frame_worker, t_start, t_segment, t_join)

    print(f"\nmedians of {args.repeat} runs (fps = frames / wall seconds, start-up and join included):")
    for name, value in median.items():
        print(f"  {name:<14} {value:7.1f} s  {frames / value:5.2f} fps  speed vs one machine {median['one machine'] / value:.2f}")
    print(f"\nwhere the median {split_name} run's {record['seconds']:.1f} s went (seconds from the call):")
    print(f"  plan and worker start-up, until the first segment starts: {t_start:.2f} s "
          f"(a worker alone, measured apart: {statistics.median(starts):.2f} s)")
    workers = {w: n for n, w in enumerate(dict.fromkeys(p["worker"] for p in parts))}
    for p, c in zip(parts, context):
        print(f"  segment {p['index'] + 1} on worker {workers[p['worker']] + 1}: {p['start']:6.2f} -> {p['end']:6.2f} s, "
              f"{p['frames']} frames + {c} context frames in {p['pipeline']:.2f} s "
              f"({1000 * p['pipeline'] / (p['frames'] + c):.0f} ms a frame), outside the frames {p['end'] - p['start'] - p['pipeline']:.2f} s")
    print(f"  after the last segment (its packets, the end of the audio, the A/V check): {t_join * frames:.2f} s")
    print(f"\ncost model: t_frame {t_frame * 1000:.1f} ms (one machine), {t_frame_worker * 1000:.1f} ms (a worker with "
          f"{split.cpus_per_worker} core), t_start {t_start:.2f} s, t_segment {t_segment:.2f} s, "
          f"t_join {t_join * 1000:.2f} ms per frame, C {per_seam} frames per seam")
    print(f"model for the {cores}-worker run here: {check:.1f} s, measured {median[split_name]:.1f} s")
    for row in seam_rows:
        print(f"seam at frame {row['seam_frame']}: E_warp over the 6 pairs around it: one machine "
              f"{row['e_warp_one_machine']:.5f}, segmented {row['e_warp_segmented']:.5f} "
              f"({100 * (row['e_warp_segmented'] / row['e_warp_one_machine'] - 1):+.1f} %); "
              f"lowest PSNR between them {row['min_psnr_db']:.1f} dB")
    long_frames = round(600 * frames / seconds)
    one = long_frames * t_frame
    print(f"\n10-minute video ({long_frames} frames at this size), N machines like this one (one worker each, "
          f"t_frame of one machine), {distributed.SEGMENTS_PER_WORKER} segments per worker, at least "
          f"{distributed.MIN_SEGMENT_SECONDS:.0f} s:")
    print(f"  {'N':>4} {'segments':>8} {'predicted s':>11} {'speed-up':>8} {'/ N':>6}")
    table = []
    for n in (1, 2, 4, 8, 16, 32, 64):
        seg_seconds = max(distributed.MIN_SEGMENT_SECONDS, 600 / (distributed.SEGMENTS_PER_WORKER * n))
        pieces = math.ceil(600 / seg_seconds)
        t = predict(long_frames, pieces, n, per_seam, t_frame, t_start, t_segment, t_join)
        table.append({"workers": n, "segments": pieces, "seconds": t, "speedup": one / t})
        print(f"  {n:>4} {pieces:>8} {t:>11.0f} {one / t:>8.2f} {one / t / n:>6.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "cores": cores, "style": args.style, "clip": args.clip.name, "loops": loops, "frames": frames,
            "runs": runs, "medians": median, "ray_start": ray_start, "t_frame": t_frame,
            "t_frame_worker": t_frame_worker, "t_start": t_start, "worker_start": starts, "t_segment": t_segment,
            "t_join_per_frame": t_join, "context_per_seam": per_seam, "median_split_run": record,
            "seams": seam_rows, "model_check": {"predicted": check, "measured": median[split_name]},
            "ten_minutes": table}, indent=2) + "\n")


if __name__ == "__main__":
    main()
