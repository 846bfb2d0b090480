"""How a segmented render's seams flicker at a given crf, against three one-machine encodes.

The clip (``--clip``, re-encoded with a keyframe every ``--keyframe-every`` frames) is rendered
in ``--style`` on one machine (rtstyle.render) and on a local Ray runtime by 2 workers cut at
``--segment-seconds``. The seams are where the segments meet. Two more encodes of the same
painted frames (the one-machine render made losslessly, decoded) are made here with PyAV
directly, with the render's x264 settings: one continuous, one with a keyframe (an IDR) forced
at each seam, which is what any cut that decodes on its own needs. E_warp over the frame
pairs around each seam (``--window`` frames on each side: 5 pairs by default) is printed for
all four, so the seams can be compared with what a keyframe costs inside a continuous encode.

``--x264 PARAMS`` (repeatable) adds re-encodes with keyframes at the seams and more x264
parameters, to try knobs that might make a keyframe cost less: ``ipratio=4``, or zones given
relative to each seam, ``zones=-4..-1,b=2`` (frames seam-4 to seam-1 at twice the bitrate).

    python -m benchmarks.seams | tee docs/scale_out/seams.txt

It uses only the library's public calls, so the same script measures an older version of
rtstyle (PYTHONPATH pointing at its tree) for a before/after.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import av
import ray

import rtstyle
from benchmarks.common import EXAMPLE, with_keyframes
from rtstyle import distributed, metrics
from rtstyle.sources import VideoFileSource


def decoded(path: Path) -> tuple[list, list[int]]:
    source = VideoFileSource(path)
    try:
        frames = list(source.frames())
        return [f.image for f in frames], [f.pts for f in frames]
    finally:
        source.close()


def encode(frames: list, pts: list[int], like: Path, dst: Path, crf: int, keyframes: set[int], params: str = "") -> list:
    """The frames as one x264 stream with the render's settings; IDRs forced at ``keyframes``."""
    with av.open(str(like)) as c:
        time_base, rate = c.streams.video[0].time_base, c.streams.video[0].average_rate
    with av.open(str(dst), "w") as out:
        options = {"crf": str(crf), "preset": "veryfast", "forced-idr": "1", **({"x264-params": params} if params else {})}
        stream = out.add_stream("libx264", rate=rate, options=options)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = time_base
        for i, (rgb, t) in enumerate(zip(frames, pts)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts, frame.time_base = t, time_base
            if i in keyframes:
                frame.pict_type = av.video.frame.PictureType.I
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return decoded(dst)[0]


def x264_params(spec: str, seams: list[int]) -> str:
    """``zones=A..B,OPT`` (frames relative to each seam) written out for every seam; other specs as given."""
    if not spec.startswith("zones=") or ".." not in spec:
        return spec
    span, option = spec.removeprefix("zones=").split(",", 1)
    first, last = (int(v) for v in span.split(".."))
    return "zones=" + "/".join(f"{s + first},{s + last},{option}" for s in seams)


def cuts(pts: list[int], time_base, every: int, seconds: float) -> list[int]:
    """Where the plan cuts (rtstyle.segments.plan): the first keyframe ``seconds`` after the last cut."""
    found = [0]
    for i in range(every, len(pts), every):
        if (pts[i] - pts[found[-1]]) * time_base >= seconds:
            found.append(i)
    return found[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path, default=EXAMPLE)
    ap.add_argument("--style", default="starry_night")
    ap.add_argument("--keyframe-every", type=int, default=10)
    ap.add_argument("--segment-seconds", type=float, default=5.0)
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--window", type=int, default=3, help="frames on each side of a seam")
    ap.add_argument("--x264", action="append", default=[], help="x264 parameters of one more keyed re-encode")
    args = ap.parse_args()
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    print(f"style {args.style}, crf {args.crf}, "
          f"clip {args.clip.name} with a keyframe every {args.keyframe_every} frames, segments of {args.segment_seconds} s on 2 workers")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip = with_keyframes(args.clip, folder / "clip.mp4", args.keyframe_every)
        rtstyle.render(clip, folder / "one.mp4", args.style, crf=args.crf)
        rtstyle.render(clip, folder / "lossless.mp4", args.style, crf=0)
        settings = distributed.Settings(args.style, {"providers": "cpu"}, crf=args.crf,
                                        segment_seconds=args.segment_seconds, cpus_per_worker=1)
        [result] = distributed.render_files([(clip, folder / "split.mp4")], settings, workers=2)
        assert result.ok, result.error
        original, pts = decoded(clip)
        one, split = decoded(folder / "one.mp4")[0], decoded(folder / "split.mp4")[0]
        painted = decoded(folder / "lossless.mp4")[0]
        with av.open(str(clip)) as c:
            seams = cuts(pts, c.streams.video[0].time_base, args.keyframe_every, args.segment_seconds)
        assert len(seams) + 1 == result.segments, (seams, result.segments)
        plain = encode(painted, pts, clip, folder / "plain.mp4", args.crf, set())
        keyed = encode(painted, pts, clip, folder / "keyed.mp4", args.crf, set(seams))
        sizes = {name: (folder / f"{name}.mp4").stat().st_size for name in ("one", "split", "plain", "keyed")}
        tried = []
        for i, spec in enumerate(args.x264):
            tried.append(encode(painted, pts, clip, folder / f"x{i}.mp4", args.crf, set(seams), x264_params(spec, seams)))
            sizes[spec] = (folder / f"x{i}.mp4").stat().st_size
    ray.shutdown()
    print(f"{result.segments} segments, seams at frames {seams}; file sizes: " + ", ".join(f"{k} {v / 1000:.0f} kB" for k, v in sizes.items()))
    print(f"E_warp over the {2 * args.window - 1} frame pairs around each seam (lower: steadier):")
    print(f"  {'seam':>5} {'one machine':>12} {'segmented':>18} {'re-encoded':>11} {'+ keyframe at seam':>26} {'segmented vs that':>18}"
          + "".join(f"  keyed, {spec} (vs re-encoded)" for spec in args.x264))
    for seam in seams:
        meter = metrics.WarpError(4 + len(tried))
        for i in range(seam - args.window, seam + args.window):
            meter.add(original[i], [one[i], split[i], plain[i], keyed[i], *(t[i] for t in tried)])
        e_one, e_split, e_plain, e_keyed, *e_tried = meter.values
        print(f"  {seam:>5} {e_one:>12.5f} {e_split:>9.5f} ({100 * (e_split / e_one - 1):+5.1f} %) {e_plain:>11.5f} "
              f"{e_keyed:>15.5f} ({100 * (e_keyed / e_plain - 1):+5.1f} %) {100 * (e_split / e_keyed - 1):>+16.1f} %"
              + "".join(f"  {e:.5f} ({100 * (e / e_plain - 1):+5.1f} %)" for e in e_tried))


if __name__ == "__main__":
    main()
