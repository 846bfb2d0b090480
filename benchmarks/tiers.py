"""The two tiers of the named styles against their teacher, side by side in one run.

For each style of tools/zoo.py, on held-out photos and frames of a real clip (none used in
training): the int8 teacher (``arbitrary`` fed the style's vector), the baked float32
``quality`` model and the shipped ``fast`` model (``--fast DIR``: fast models from DIR
instead, e.g. students not shipped yet; ``--old DIR`` adds the models the tiers replaced).
Printed per style:

- PSNR of quality against the int8 teacher, and of fast against quality (its teacher), also with
  an 8-pixel border left out (how much of the gap is at the picture's edges);
- style loss (tools/losses, VGG16 Gram matrices against the painting, pictures at 256 px) of each,
  and fast/quality;
- 2-pixel-period amplitude in grey levels (tools/image_scores.grid_amplitude, as the quality
  report measures it), the largest of its checkerboard, column and row components; runs
  before 2026-12-02 measured it over the whole picture instead of in blocks;
- median ms per 640x360 frame (interleaved calls, 2 threads, sessions that do not spin-wait:
  a spinning session's idle threads take the cores from the next one's call);
- for styles with style_weight < 1: how far the baked fixed photo vector is from Magenta's own
  per-frame blend (the frame's vector), and what the predictor costs per frame.

    python -m benchmarks.tiers --styles PAINTINGS --photos P1.jpg P2.jpg ... --video CLIP [--old DIR]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rtstyle.sources import VideoFileSource, read_image
from rtstyle.stylizer import Stylizer
from rtstyle.teacher import Vectors, read_painting, teacher
from tools.image_scores import grid_amplitude, psnr
from tools.zoo import BY_NAME, ZOO

from .common import fit


def clip_frames(path: Path, n: int, start: int = 20, every: int = 30) -> list[np.ndarray]:
    source = VideoFileSource(path)
    try:
        frames = [f.image for f in source.frames() if f.index >= start and (f.index - start) % every == 0]
    finally:
        source.close()
    return frames[:n]


BORDER = 8  # pixels: how much of a student's gap to its teacher is at the picture's edges


def median_ms(fns: dict[str, object], frame: np.ndarray, runs: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for k, fn in fns.items():
        fn(frame)  # warm-up
    for _ in range(runs):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn(frame)
            times[k].append((time.perf_counter() - t0) * 1000)
    return {k: float(np.median(v)) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder with the eight paintings")
    ap.add_argument("--photos", nargs="+", type=Path, required=True, help="held-out photos")
    ap.add_argument("--video", type=Path, required=True, help="held-out clip: a few frames are scored")
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--old", type=Path, default=None, help="folder with the replaced models (NAME.onnx, NAME_fast.onnx)")
    ap.add_argument("--fast", type=Path, default=None, help="folder with other fast models (NAME_fast.onnx) to score")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--runs", type=int, default=10, help="timed frames per model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--loss-side", type=int, default=256, help="long side of pictures for the style loss")
    a = ap.parse_args()

    import torch

    from tools.losses import PerceptualLoss, to_rgb01
    from tools.vgg import VGG16Features

    torch.set_num_threads(a.threads)
    vgg = VGG16Features(("relu1_2", "relu2_2", "relu3_3", "relu4_3"))
    pictures = [fit(read_image(p), 512, 384) if min(read_image(p).shape[:2]) > 384 else read_image(p)
                for p in a.photos]
    pictures = [p[: p.shape[0] // 16 * 16, : p.shape[1] // 16 * 16] for p in pictures]
    pictures += [fit(f, 512, 384) for f in clip_frames(a.video, a.frames)]
    timing_frame = fit(pictures[0], 640, 360)
    vectors = Vectors(a.threads)
    print(f"{len(a.photos)} photos + {len(pictures) - len(a.photos)} frames of {a.video.name}; "
          f"timing at 640x360, {a.threads} threads, {a.runs} interleaved runs, medians")
    for s in [BY_NAME[n] for n in a.only] if a.only else ZOO:
        painting = read_painting(a.styles / s.picture)
        vector = vectors(painting, s.knobs)
        opts = {"providers": "cpu", "threads": a.threads, "spin": False}
        models = {"teacher_int8": teacher(vector, a.threads, spin=False),
                  "quality": Stylizer(s.name, **opts),
                  "fast": Stylizer(a.fast / f"{s.name}_fast.onnx" if a.fast else f"{s.name}_fast", **opts)}
        if a.old:
            models |= {"old_quality": Stylizer(a.old / f"{s.name}.onnx", **opts),
                       "old_fast": Stylizer(a.old / f"{s.name}_fast.onnx", **opts)}
        loss = PerceptualLoss(vgg, to_rgb01(painting, a.loss_side), style_weight=1.0)
        outs = {k: [m(p) for p in pictures] for k, m in models.items()}
        with torch.no_grad():
            style = {k: float(np.mean([loss(to_rgb01(o, a.loss_side), loss.content_target(to_rgb01(p, a.loss_side)))["style"]
                                       for o, p in zip(v, pictures)])) for k, v in outs.items()}
        ms = median_ms(models, timing_frame, a.runs)
        print(f"\n{s.name} (style_size {s.knobs.style_size}, style_weight {s.knobs.style_weight})")
        fq = list(zip(outs["fast"], outs["quality"]))
        inner = np.mean([psnr(f[BORDER:-BORDER, BORDER:-BORDER], q[BORDER:-BORDER, BORDER:-BORDER]) for f, q in fq])
        print(f"  PSNR quality vs int8 teacher {np.mean([psnr(q, t) for q, t in zip(outs['quality'], outs['teacher_int8'])]):.1f} dB; "
              f"fast vs quality {np.mean([psnr(f, q) for f, q in fq]):.1f} dB "
              f"(photos {np.mean([psnr(f, q) for f, q in fq[:len(a.photos)]]):.1f}, "
              f"frames {np.mean([psnr(f, q) for f, q in fq[len(a.photos):]]):.1f}; "
              f"all, an {BORDER}-px border left out {inner:.1f})")
        print("  style loss: " + ", ".join(f"{k} {v:.3g}" for k, v in style.items())
              + f"; fast/quality {style['fast'] / style['quality']:.2f}")
        print("  2-px amplitude (grey levels): " + ", ".join(
            f"{k} {np.mean([max(grid_amplitude(o).values()) for o in v]):.2f}" for k, v in outs.items()))
        print("  ms/frame: " + ", ".join(f"{k} {v:.1f}" for k, v in ms.items()))
        if s.knobs.style_weight < 1:
            predictor = vectors.predictor
            own = [teacher(s.knobs.style_weight * predictor.vector(painting, s.knobs.style_size)
                           + (1 - s.knobs.style_weight) * predictor.vector(p), a.threads)(p) for p in pictures]
            t0 = time.perf_counter()
            for _ in range(a.runs):
                predictor.vector(timing_frame)
            print(f"  fixed photo vector vs the frame's own (Magenta's per-frame blend): "
                  f"{np.mean([psnr(o, t) for o, t in zip(own, outs['teacher_int8'])]):.1f} dB; predictor per "
                  f"640x360 frame {(time.perf_counter() - t0) * 1000 / a.runs:.1f} ms")


if __name__ == "__main__":
    main()
