"""What finding black bars costs at the start of a render (VideoFileSource.picture_box).

Eight frames spread over the file are decoded after a seek each, and their edge rows and
columns measured. Shipped: keyframes only (skip_frame NONKEY) with slice threads, so each
comes out as soon as it is decoded, measured with OpenCV's reductions; before: the render's
frame threads, which hold a frame back until several are in flight, every frame after the
seek, and numpy's reductions (5x as long on a 4K frame: a max over the last, 3-wide axis). Clips made here from a real photo panned: 10 s of 4K HEVC (x265's
default keyframe interval, 250) and of 1080p H.264. Median of alternating runs, one process.

    python -m benchmarks.picture_box          # raw output: docs/picture_box.txt
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2  # isort: skip  (before PyAV, as rtstyle/__init__.py explains)
import av
import numpy as np

from rtstyle.frames import BAR_MAX, BAR_MEAN
from rtstyle.sources import VideoFileSource

PHOTO = Path(__file__).resolve().parent.parent / "tests" / "data" / "messi5.jpg"
RUNS = 5


def panned_clip(path: Path, codec: str, size: tuple[int, int], seconds: int = 10, fps: int = 30) -> Path:
    width, height = size
    photo = cv2.cvtColor(cv2.imread(str(PHOTO)), cv2.COLOR_BGR2RGB)
    big = cv2.resize(photo, (width + seconds * fps, height))
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps, options={"preset": "ultrafast", "x265-params": "log-level=error"}
                                if codec == "libx265" else {"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(seconds * fps):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(big[:, i:i + width]), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def before(path: Path, samples: int = 8) -> bool:
    """The way it was: the render's own decoder settings and numpy's reductions; whether any
    edge row or column is a bar in every frame (rtstyle.frames.picture_box's rule)."""
    with VideoFileSource(path, reference=False) as probe:
        seconds = float(probe.container.duration) / av.time_base
        frames = []
        for k in range(samples):
            probe._seek_to(round((probe.start_time + seconds * (k + 0.5) / samples) / probe.time_base))
            frames.append(next(probe._timed_frames()).image)
    bar_rows = bar_cols = True
    for frame in frames:
        grey = frame.max(axis=2)
        bar_rows = bar_rows & (grey.mean(axis=1) <= BAR_MEAN) & (grey.max(axis=1) <= BAR_MAX)
        bar_cols = bar_cols & (grey.mean(axis=0) <= BAR_MEAN) & (grey.max(axis=0) <= BAR_MAX)
    return bool(bar_rows[[0, -1]].any() or bar_cols[[0, -1]].any())


def shipped(source: VideoFileSource) -> bool:
    return source.picture_box() is not None  # it opens the file again, as before() does


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clips = {"4K HEVC": panned_clip(Path(tmp) / "uhd.mp4", "libx265", (3840, 2160)),
                 "1080p H.264": panned_clip(Path(tmp) / "hd.mp4", "libx264", (1920, 1080))}
        print(f"{'clip':<12} {'shipped s':>10} {'before s':>9} {'before/shipped':>15}   (median of {RUNS})")
        for name, clip in clips.items():
            times: dict[str, list[float]] = {"shipped": [], "before": []}
            with VideoFileSource(clip, reference=False) as source:
                for _ in range(RUNS):
                    for label, run in (("shipped", lambda: shipped(source)), ("before", lambda: before(clip))):
                        t0 = time.perf_counter()
                        box = run()
                        times[label].append(time.perf_counter() - t0)
                        assert not box  # no bars in these clips: both judge alike
            a, b = statistics.median(times["shipped"]), statistics.median(times["before"])
            print(f"{name:<12} {a:>10.2f} {b:>9.2f} {b / a:>15.2f}")


if __name__ == "__main__":
    main()
