"""How rtstyle.gif makes a GIF's 256 colours, against the ways it does not, in one run:
the sample clip painted in the Quick start's style (no smoothing), written as a GIF four
ways, each decoded back by OpenCV's own GIF decoder.

- one palette from all frames, ordered (Bayer) dithering: what rtstyle.gif writes (the palette
  counts every other pixel each way), and the same counting every pixel;
- one palette from all frames, error-diffusion dithering (sierra2_4a, FFmpeg's default);
- a palette per frame (palettegen stats_mode=single, paletteuse new=1), ordered dithering.

Figures: file size, ms a frame to write (median of 3 runs, after painting), the mean
difference from the painted frames, and flicker: the mean difference between consecutive
frames, against the painted frames' own (the sample clip's camera stands still).

    python -m benchmarks.gif > docs/gif.txt
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from unittest import mock

import av
import av.filter
import cv2
import numpy as np

import rtstyle
from rtstyle import gif
from rtstyle.bench import machine_info

ROOT = Path(__file__).resolve().parent.parent
CLIP, STYLE = ROOT / "examples" / "pedestrians.mp4", "starry_night"


def shipped(frames: list[np.ndarray], path: Path, rate: Fraction) -> None:
    h, w = frames[0].shape[:2]
    with gif.GifSink(path, w, h, 1 / rate, rate) as sink:
        for i, frame in enumerate(frames):
            sink.write(frame, i)


def error_diffusion(frames: list[np.ndarray], path: Path, rate: Fraction) -> None:
    with mock.patch.object(gif, "DITHER", "dither=sierra2_4a"):
        shipped(frames, path, rate)


def every_pixel_counted(frames: list[np.ndarray], path: Path, rate: Fraction) -> None:
    with mock.patch.object(gif, "SAMPLE", "w=iw:h=ih"):
        shipped(frames, path, rate)


def palette_per_frame(frames: list[np.ndarray], path: Path, rate: Fraction) -> None:
    h, w = frames[0].shape[:2]
    graph = av.filter.Graph()
    source = graph.add_buffer(width=w, height=h, format="rgb24", time_base=gif.TICK)
    split, use = graph.add("split"), graph.add("paletteuse", f"new=1:{gif.DITHER}")
    make = graph.add("palettegen", "stats_mode=single")
    source.link_to(split)
    split.link_to(make, 0, 0)
    split.link_to(use, 1, 0)
    make.link_to(use, 0, 1)
    use.link_to(graph.add("buffersink"))
    graph.configure()
    ticks = round(1 / (rate * gif.TICK))
    with av.open(str(path), "w", format="gif") as out:
        stream = out.add_stream("gif", rate=1 / gif.TICK)
        stream.width, stream.height, stream.pix_fmt = w, h, "pal8"
        stream.codec_context.time_base = stream.time_base = gif.TICK
        for i, rgb in enumerate(frames + [None]):
            if rgb is None:
                source.push(None)
            else:
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = i * ticks, gif.TICK
                source.push(frame)
            while True:
                try:
                    paletted = graph.pull()
                except (av.BlockingIOError, av.EOFError):
                    break
                out.mux(gif._timed(stream.encode(paletted), ticks))
        out.mux(gif._timed(stream.encode(None), ticks))


def flicker(frames: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(frames, frames[1:])]))


def main() -> None:
    painter = rtstyle.load_style(STYLE)
    with av.open(str(CLIP)) as c:
        rate = c.streams.video[0].average_rate
        painted = [painter(rtstyle.yuv.to_rgb(f)) for f in c.decode(video=0)]
    h, w = painted[0].shape[:2]
    info = machine_info()
    print(f"{CLIP.name}: {len(painted)} frames {w}x{h} at {rate} fps, painted in {STYLE} (no smoothing); "
          f"{info['cpu']}, {info['cores_usable']} cores, PyAV {av.__version__}, OpenCV {info['opencv']}")
    print(f"painted frames' own flicker (mean |frame - previous|): {flicker(painted):.2f} grey levels")
    print(f"{'palette, dithering':44} {'size kB':>8} {'ms/frame':>9} {'error':>6} {'flicker':>8}")
    ways: dict[str, Callable] = {"one from all frames, ordered (rtstyle.gif)": shipped,
                                 "the same, every pixel counted": every_pixel_counted,
                                 "one from all frames, error diffusion": error_diffusion,
                                 "one per frame, ordered": palette_per_frame}
    with tempfile.TemporaryDirectory() as tmp:
        for name, write in ways.items():
            path = Path(tmp) / "out.gif"
            times = []
            for _ in range(3):
                path.unlink(missing_ok=True)
                t0 = time.perf_counter()
                write(painted, path, rate)
                times.append((time.perf_counter() - t0) / len(painted) * 1000)
            ok, animation = cv2.imreadanimation(str(path))
            decoded = [cv2.cvtColor(f, cv2.COLOR_BGRA2RGB) for f in animation.frames]
            assert ok and len(decoded) == len(painted), name
            error = np.mean([np.abs(d.astype(np.int16) - p).mean() for d, p in zip(decoded, painted)])
            print(f"{name:44} {path.stat().st_size / 1000:8.0f} {statistics.median(times):9.1f} {error:6.2f} "
                  f"{flicker(decoded):8.2f}")


if __name__ == "__main__":
    sys.exit(main())
