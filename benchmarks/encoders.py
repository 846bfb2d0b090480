"""What the output encoders and the input colour conversion cost, side by side in one run.

1. The sample clip painted once by a fast style, then encoded through the render's own sink
   (rtstyle.sinks.VideoFileSink) as H.264 (.mp4), as VP9 (.webm, libvpx's realtime mode),
   and, for comparison, VP9 at libvpx's default speed (what the sink would get without its
   settings); as render --codec writes HEVC (.mp4; also at the crf that comes nearest H.264's
   PSNR) and ProRes 422 HQ (.mov): ms a frame, PSNR of the decoded file against the painted
   frames, size.
2. A 1280x720 frame to RGB (rtstyle.yuv.to_rgb): untagged HD, read as BT.709 through swscale
   with accurate rounding; the same through swscale's default rounding; an SD-style BT.601
   frame through OpenCV; and the fast style painting that frame, for scale.

Calls take turns (benchmarks.common.time_rounds); medians:

    python -m benchmarks.encoders [--style candy_fast] [--rounds 3] > docs/encoders.txt
"""
from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

import rtstyle
from rtstyle import yuv
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource, read_image
from tools.image_scores import psnr

from .common import EXAMPLE, time_rounds

PICTURE = Path(__file__).resolve().parent.parent / "docs" / "quality" / "photos" / "building.jpg"


def encode(frames: list[np.ndarray], path: Path, source: VideoFileSource,
           options: dict[str, str] | None = None, codec: str | None = None) -> None:
    with VideoFileSink(path, source.width, source.height, source.time_base, source.fps, options=options,
                       codec=codec) as sink:
        for i, rgb in enumerate(frames):
            sink.write(rgb, round(i / (source.fps * source.time_base)))


def decoded_psnr(path: Path, frames: list[np.ndarray]) -> float:
    """PSNR of the written file, decoded, against the frames it was given (over all of them)."""
    with av.open(str(path)) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    return psnr(np.stack(decoded), np.stack(frames[:len(decoded)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", default="candy_fast")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    style = rtstyle.load_style(a.style, providers="cpu", threads=a.threads)
    with VideoFileSource(EXAMPLE) as source, tempfile.TemporaryDirectory() as tmp:
        frames = [style(f.image) for f in source.frames()]
        files = {"H.264 (sink, .mp4)": (Path(tmp) / "h264.mp4", None, None),
                 "VP9 realtime (sink, .webm)": (Path(tmp) / "vp9.webm", None, None),
                 "VP9 libvpx default speed": (Path(tmp) / "vp9_good.webm", {"deadline": "good", "cpu-used": "1"},
                                              None),
                 "HEVC (--codec hevc, .mp4)": (Path(tmp) / "hevc.mp4", None, "libx265"),
                 "HEVC at crf 21": (Path(tmp) / "hevc21.mp4", {"crf": "21"}, "libx265"),
                 "ProRes 422 HQ (--codec prores)": (Path(tmp) / "prores.mov", None, "prores_ks")}
        calls: dict[str, Callable[[], object]] = {
            name: (lambda path=path, options=options, codec=codec: encode(frames, path, source, options, codec))
            for name, (path, options, codec) in files.items()}
        print(f"{EXAMPLE.name}: {len(frames)} frames at {source.width}x{source.height} painted by {a.style}, "
              f"encoded at crf 18; medians of {a.rounds} rounds of 3 turns")
        for name, stats in time_rounds(calls, a.rounds).items():
            path = files[name][0]
            print(f"  {name:30} {stats.p50_ms / len(frames):6.2f} ms a frame  PSNR {decoded_psnr(path, frames):5.2f} dB  "
                  f"{path.stat().st_size / 1024:6.0f} KiB")
    rgb = cv2.resize(read_image(PICTURE), (1280, 720), interpolation=cv2.INTER_AREA)
    untagged = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p", dst_colorspace="ITU709")
    bt601 = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
    untagged.colorspace, bt601.colorspace = yuv.UNSPECIFIED, 6  # made in BT.709 and not said; said
    steps: dict[str, Callable[[], object]] = {
        "untagged HD, accurate swscale (to_rgb)": lambda: yuv.to_rgb(untagged),
        "untagged HD, default swscale": lambda: untagged.to_ndarray(format="rgb24", src_colorspace="ITU709"),
        "BT.601 frame, OpenCV (to_rgb)": lambda: yuv.to_rgb(bt601),
        a.style: lambda: style(rgb)}
    med = {k: s.p50_ms for k, s in time_rounds(steps, a.rounds).items()}
    print(f"1280x720 frame to RGB, {a.threads} threads for the style; medians (ms):")
    for k, v in med.items():
        print(f"  {k:40} {v:7.2f}")
    print(f"accurate swscale / {a.style}: {med['untagged HD, accurate swscale (to_rgb)'] / med[a.style]:.3f}")


if __name__ == "__main__":
    main()
