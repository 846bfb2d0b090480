"""Distil a fast student from the teacher: any picture to a fast style model on a CPU.

The teacher (rtstyle.teacher: Magenta's arbitrary network with the painting's vector) paints
each content picture whole and ``crops_per_picture`` (default 4) random crops of it as well, the
very crops the student will see (teacher_pairs says why); its outputs are cached in the run
folder. The student (tools/student_net.py: the teacher's layout, cut down, starting from the
teacher's weights) then learns to reproduce them with these losses:

- pixel: L1 to the teacher's output;
- squared error (``mse_weight``, default 0: off): beside the L1, it weighs the strong outlines
  where the student misses by most, and which PSNR counts far more than L1 does (candy_fast's
  last 105 minutes ran at 10; it also takes the weakest faces: docs/teacher.md);
- feature: L1 between early VGG16 features (relu1_2, relu2_2) of the student's and the
  teacher's output, each layer divided by the teacher's mean activation. A pixel loss alone
  averages the strokes away into blur; matching early features keeps them sharp. VGG runs on
  the crop downscaled by ``feature_scale`` (default 1/2): its first layers cost more than the
  student itself at full size;
- stability: the same crop with a little noise must give the same output (less flicker);
- Gram (``gram_weight``, default 0.3): relative L1 between the normalised Gram matrices of
  relu1_2 and relu2_2 of the student's and the teacher's output (at full size, on a quarter of
  the crop: 0.6-0.7 s a step on one thread against 1.4 for the whole crop), the statistics
  the report's style loss compares (tools.losses). Students trained without it paint softer
  strokes: feathers' relu2_2 Gram was 4.0x as far from the painting's as the teacher's, its
  relu1_2 Gram 1.9x, relu3_3 1.6x and relu4_3 1.1x (benchmarks.style_layers). Weight 0.3 matched
  the style as well as 1.0 and kept more of the teacher's picture (docs/teacher.md).

Steps run under bfloat16 autocast (oneDNN uses AMX/AVX512-BF16 where the CPU has them), on the
CPU by default or on any torch device (``--device cuda``: the zoo's longer runs).

Training runs for ``minutes`` of step time or ``steps`` steps, whichever ends first, with a
cosine learning rate over that budget. It checkpoints every ``save_every`` steps and on
Ctrl-C, and resumes from the run folder's checkpoint under the same recipe (a larger budget
trains on; other settings are refused by name, see ``Settings.recipe``).

    python -m tools.distil PAINTING --name NAME --run runs/NAME [--content DIR ...] [--minutes 12]
        [--start NAME_fast.onnx]   (train a student on instead of starting from the teacher;
                                    with more --blocks than it has, it is grown: student_net.grow)
        [--device cuda]
"""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np
import onnx
import torch
from torch.nn import functional as F

from rtstyle.content_set import default_content, load_content
from rtstyle.models import read_card
from rtstyle.teacher import ARBITRARY, PREDICTOR, Knobs, Vectors, read_painting, teacher

from .bake import bake
from .magenta_models import ARBITRARY_CREDIT, LICENCE
from .student_net import (PADDINGS, ExportedStudent, Student, StudentConfig, from_file, from_teacher, grow,
                          macs_per_pixel, shape_for)
from .vgg import VGG16Features, gram

FEATURE_LAYERS = ("relu1_2", "relu2_2")
GRAM_LAYERS = ("relu1_2", "relu2_2")
OPSET = 17


@dataclass
class Settings:
    """Everything a run depends on; stored in its checkpoint and the model card."""

    net: dict = field(default_factory=lambda: StudentConfig().to_dict())
    knobs: dict = field(default_factory=lambda: Knobs().to_dict())
    minutes: float = 12.0
    steps: int = 100_000
    batch: int = 4
    crop: int = 256
    side: int = 320          # content pictures are resized to this short side before the crops are cut
    crops_per_picture: int = 4  # the teacher also paints this many crops of each picture (teacher_pairs)
    lr: float = 5e-4        # fine-tuning: the student starts as the teacher
    feature_weight: float = 0.25
    feature_scale: float = 0.5
    gram_weight: float = 0.3
    mse_weight: float = 0.0  # squared error besides the L1: weighs the strong edges PSNR counts most
    stability_weight: float = 10.0
    noise: float = 0.02
    threads: int = 2
    seed: int = 0
    save_every: int = 50

    BUDGET = ("minutes", "steps", "threads", "save_every")  # may change between a run and its resume

    def recipe(self) -> dict:
        """What the weights depend on: a checkpoint resumes only under the same recipe."""
        return {k: v for k, v in asdict(self).items() if k not in self.BUDGET}


def fit_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """Resize so the short side is ``side``, sides cut to multiples of 4 (the teacher's stride)."""
    s = side / min(rgb.shape[:2])
    w, h = max(4, round(rgb.shape[1] * s) // 4 * 4), max(4, round(rgb.shape[0] * s) // 4 * 4)
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def teacher_pairs(vector: np.ndarray, pictures: list[np.ndarray], side: int, threads: int,
                  cache: Path | None = None, crop: int = 0, per_picture: int = 0,
                  seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(content, teacher output) pairs, RGB uint8; read from ``cache`` when it holds them.

    With ``per_picture`` > 0, the teacher also paints that many random ``crop`` x ``crop`` pieces of
    each picture as they are: in those it sees exactly what the student sees. Cut from a painted
    whole picture, a crop's edges and its norms' statistics are the picture's, which the student,
    given only the crop, cannot know; crops alone, though, taught the students less about faces
    (docs/teacher.md), and at run time both see the same whole frame, so the whole stays too."""
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            n = len(z.files) // 2
            return [(z[f"x{i}"], z[f"y{i}"]) for i in range(n)]
    rng = np.random.default_rng(seed)

    def pieces(p: np.ndarray) -> list[np.ndarray]:
        if not per_picture or min(p.shape[:2]) < crop:
            return [p]
        return [p] + [p[t:t + crop, left:left + crop] for t, left in
                ((rng.integers(0, p.shape[0] - crop + 1), rng.integers(0, p.shape[1] - crop + 1))
                 for _ in range(per_picture))]

    paint = teacher(vector, threads)
    pairs = [(x, paint(x)) for p in pictures for x in pieces(fit_side(p, side))]
    if cache is not None:
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, **{f"{k}{i}": v for i, pair in enumerate(pairs) for k, v in zip("xy", pair)})
        tmp.replace(cache)
    return pairs


class Batches:
    """Random aligned crops (with horizontal flips) of content and teacher output."""

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], crop: int, seed: int):
        self.pairs = [(x, y) for x, y in pairs if min(x.shape[:2]) >= crop]
        if not self.pairs:
            raise ValueError(f"no content picture is at least {crop} px on its short side")
        self.crop, self.rng = crop, np.random.default_rng(seed)

    def __call__(self, n: int, device: str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        xs, ys = [], []
        for i in self.rng.integers(0, len(self.pairs), n):
            x, y = self.pairs[i]
            top = self.rng.integers(0, x.shape[0] - self.crop + 1)
            left = self.rng.integers(0, x.shape[1] - self.crop + 1)
            flip = slice(None, None, -1 if self.rng.random() < 0.5 else 1)
            xs.append(x[top:top + self.crop, left:left + self.crop][:, flip])
            ys.append(y[top:top + self.crop, left:left + self.crop][:, flip])
        def as_tensor(a: list[np.ndarray]) -> torch.Tensor:
            return torch.from_numpy(np.stack(a).copy()).to(device).permute(0, 3, 1, 2).float() / 255.0

        return as_tensor(xs), as_tensor(ys)


class FeatureLoss(torch.nn.Module):
    """``feature_weight`` x L1 between early VGG16 features of output and target at ``scale``, each
    layer scaled by the target's mean, and ``gram_weight`` x the same between their Gram matrices
    at full size on the crop's top left quarter; a term whose weight is 0 is not computed."""

    def __init__(self, scale: float, vgg: str | Path | None = None, feature_weight: float = 1.0,
                 gram_weight: float = 0.0):
        super().__init__()
        layers = (FEATURE_LAYERS if feature_weight else ()) + (GRAM_LAYERS if gram_weight else ())
        self.vgg = VGG16Features(tuple(dict.fromkeys(layers)), vgg)
        self.scale, self.feature_weight, self.gram_weight = scale, feature_weight, gram_weight

    def forward(self, y: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = {}
        if self.feature_weight:
            fy, ft = self._features(y, target, self.scale)
            parts["feature"] = self.feature_weight * sum(_relative_l1(fy[k], ft[k]) for k in FEATURE_LAYERS)
        if self.gram_weight:
            # at full size, where the report measures strokes, on the crop's top left quarter: the
            # same statistics as anywhere in the (random) crop, at a quarter of the cost
            h, w = y.shape[2] // 2, y.shape[3] // 2
            fy, ft = self._features(y[:, :, :h, :w], target[:, :, :h, :w], 1.0)
            parts["gram"] = self.gram_weight * sum(_relative_l1(gram(fy[k]), gram(ft[k])) for k in GRAM_LAYERS)
        return parts

    def _features(self, y: torch.Tensor, target: torch.Tensor,
                  scale: float) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        if scale != 1.0:
            y, target = (F.interpolate(a, scale_factor=scale, mode="bilinear", align_corners=False, antialias=True)
                         for a in (y, target))
        with torch.no_grad():
            ft = self.vgg(target)
        return self.vgg(y), ft


def _relative_l1(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (y - target).abs().mean() / (target.abs().mean() + 1e-6)


def train(net: Student, pairs: list[tuple[np.ndarray, np.ndarray]], run: Path, s: Settings,
          vgg: str | Path | None = None, progress: bool = True, device: str = "cpu") -> tuple[Student, dict]:
    """Train ``net`` (or resume the run's checkpoint) in ``run`` on ``device``; returns it (on the
    CPU) and its training record."""
    torch.set_num_threads(s.threads)
    torch.manual_seed(s.seed)
    run.mkdir(parents=True, exist_ok=True)
    torch.backends.cudnn.benchmark = True  # every step has the same shapes
    net = net.to(device)
    opt = torch.optim.Adam(net.parameters(), s.lr)
    ckpt = run / "checkpoint.pt"
    step, elapsed, devices = 0, 0.0, []
    if ckpt.is_file():
        ck = torch.load(ckpt, map_location=device, weights_only=False)
        was, now = {**Settings().recipe(), **ck["settings"]}, s.recipe()  # a field added later: its default
        changed = sorted(k for k in set(was) | set(now) if k not in s.BUDGET and was.get(k) != now.get(k))
        if changed:
            raise ValueError(f"{ckpt} was trained with " + ", ".join(f"{k}={was.get(k)}" for k in changed)
                             + ", not " + ", ".join(f"{k}={now.get(k)}" for k in changed)
                             + ": use a new run folder, or the same settings to train on")
        net.load_state_dict(ck["net"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, devices = ck["step"], ck["elapsed"], ck.get("devices", [])
    budget = s.minutes * 60.0
    batches = Batches(pairs, s.crop, s.seed + step)
    features = FeatureLoss(s.feature_scale, vgg, s.feature_weight, s.gram_weight).to(device) \
        if s.feature_weight or s.gram_weight else None

    def save() -> None:
        tmp = ckpt.with_suffix(".tmp")
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed,
                    "devices": devices, "settings": asdict(s)}, tmp)
        tmp.replace(ckpt)

    stop: list[int] = []

    def on_sigint(signum: int, frame: object) -> None:  # finish the step, save, then stop
        stop.append(signum)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C stops at once

    previous = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    log = open(run / "log.jsonl", "a")
    losses: dict[str, float] = {}
    kind = torch.device(device).type  # the record names each kind of device a run's steps ran on
    try:
        net.train()
        while step < s.steps and elapsed < budget and not stop:
            t0 = time.perf_counter()
            done = max(step / s.steps, elapsed / budget)
            for g in opt.param_groups:
                g["lr"] = s.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))
            x, t = batches(s.batch, device)
            with torch.autocast(kind, dtype=torch.bfloat16):  # oneDNN runs bf16 on AMX/AVX512 CPUs
                y = net(x).float()
                parts = {"pixel": (y - t).abs().mean()}
                if s.mse_weight:
                    parts["mse"] = s.mse_weight * F.mse_loss(y, t)
                if features is not None:
                    parts.update({k: v.float() for k, v in features(y, t).items()})
                if s.stability_weight:
                    noisy = net((x + s.noise * torch.randn_like(x)).clamp(0, 1)).float()
                    parts["stability"] = s.stability_weight * F.mse_loss(noisy, y.detach())
            total = sum(parts.values())
            opt.zero_grad(set_to_none=True)
            total.backward()
            opt.step()
            step += 1
            elapsed += time.perf_counter() - t0
            if kind not in devices:
                devices.append(kind)
            losses = {k: round(float(v.detach()), 5) for k, v in parts.items()}
            if step % 10 == 0:
                log.write(json.dumps({"step": step, "elapsed_s": round(elapsed, 1), **losses}) + "\n")
                log.flush()
            if step % s.save_every == 0:
                save()
            if progress:
                _bar(max(step / s.steps, elapsed / budget), step, elapsed, losses)
        save()
    finally:
        log.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    if stop:
        if progress:
            print(f"\nstopped at step {step}, checkpoint saved in {run}: the same command resumes", file=sys.stderr)
        raise KeyboardInterrupt(stop[0])
    if progress:
        print(file=sys.stderr)
    record = {"steps_done": step, "train_seconds": round(elapsed), "devices": devices,
              "final_losses": losses,
              **{k: v for k, v in asdict(s).items() if k not in ("threads", "save_every")}}
    return net.cpu().eval(), record


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _bar(frac: float, step: int, elapsed: float, losses: dict[str, float], width: int = 30) -> None:
    frac = min(frac, 1.0)
    fill = int(frac * width)
    left = elapsed / frac - elapsed if frac > 0 else 0.0
    text = " ".join(f"{k} {v:.3f}" for k, v in losses.items())
    print(f"\r[{'#' * fill}{'.' * (width - fill)}] {frac * 100:3.0f}% step {step}, "
          f"{elapsed / 60:.1f} min, ~{left / 60:.1f} min left  {text}   ", end="", file=sys.stderr, flush=True)


def export(net: Student, out: Path, card: dict) -> dict:
    """Write the student as ONNX (``image`` [1,3,H,W] -> ``stylized``) with its model card; its two
    upsampling convolutions run at the low size (student_net.ExportedStudent: the same function, with
    their Pads, where the student has them, a quarter of the size)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cfg = net.cfg
    tmp = out.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(ExportedStudent(net.eval()).eval(), torch.rand(1, 3, 64, 64), str(tmp),
                          input_names=["image"], output_names=["stylized"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}})
    card = {"name": out.stem, "layout": "NCHW", "value_range": 1.0, "stride": cfg.stride, "min_size": 16,
            "size_class": "fast",
            "io": "image [1,3,H,W] float32 RGB 0-1 -> stylized [1,3,H,W] float32 RGB 0-1; "
                  f"H, W multiples of {cfg.stride}",
            "architecture": cfg.describe(), "net": cfg.to_dict(),
            "params": sum(p.numel() for p in net.parameters()), "macs_per_pixel": macs_per_pixel(cfg), **card}
    model = onnx.load(str(tmp))
    model.metadata_props.add(key="rtstyle", value=json.dumps(card))
    model.producer_name = "rtstyle"
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return card


def student_card(title: str, painting: Path, knobs: Knobs, record: dict, content_note: str, **extra: object) -> dict:
    """The card fields a distilled student carries besides its architecture."""
    return {"title": title, "style_image": painting.name, "training": record, "data": content_note,
            "teacher": {"transformer": ARBITRARY, "predictor": PREDICTOR, **knobs.to_dict()},
            "license": f"derived from the Magenta arbitrary stylization network: {LICENCE}",
            "credit": "distilled by rtstyle from " + ARBITRARY_CREDIT, **extra}


def distil(painting: Path, out: Path, run: Path, settings: Settings, content: list[np.ndarray] | None = None,
           content_note: str = "rtstyle's default content set (rtstyle/content)", title: str | None = None,
           vgg: str | Path | None = None, progress: bool = True, start: Path | None = None,
           device: str = "cpu", **card_extra: object) -> dict:
    """Painting -> fast student model at ``out``; resumable through ``run``. Returns the card.

    ``start``: a student file of this painting to train on (a new cosine over ``settings``'
    budget) instead of the cut teacher; its card's training record is kept in the new one. With
    fewer blocks than ``settings.net`` it is grown by the teacher's (student_net.grow)."""
    rgb = read_painting(painting)
    knobs = Knobs(**settings.knobs)
    pictures = default_content() if content is None else content
    vector = Vectors(settings.threads)(rgb, knobs)
    if start is None:  # the student first: a start file that cannot be grown fails before the teacher paints
        net = from_teacher(StudentConfig.from_dict(settings.net), bake(vector))
    else:
        net = from_file(start)
        if net.cfg.to_dict() != settings.net:
            try:
                net = grow(net, StudentConfig.from_dict(settings.net), bake(vector))
            except ValueError as e:
                raise ValueError(f"{start}: {e}") from None
    n = settings.crops_per_picture
    cache = run / (f"teacher_and_{n}_crops.npz" if n else "teacher.npz")
    run.mkdir(parents=True, exist_ok=True)
    if progress and not cache.is_file():
        crops = f" and {n} crops of each" if n else ""
        print(f"teacher paints {len(pictures)} content pictures{crops}...", file=sys.stderr)
    pairs = teacher_pairs(vector, pictures, settings.side, settings.threads, cache, settings.crop, n, settings.seed)
    net, record = train(net, pairs, run, settings, vgg, progress, device)
    if start is not None:
        record["continued_from"] = {"model": start.name, **read_card(start).info["training"]}
    return export(net, out, student_card(title or out.stem.replace("_", " "), Path(painting), knobs, record,
                                         content_note, **card_extra))


SETTINGS_HELP = {
    "batch": "crops a step (a GPU takes 16)",
    "crops_per_picture": "the teacher also paints this many crops of each picture",
    "lr": "Adam's learning rate at the start of the cosine",
    "gram_weight": "weight of the Gram loss to the teacher's output",
    "mse_weight": "weight of the squared error to the teacher's output, besides the L1",
    "stability_weight": "weight of the noise-stability term",
}


def add_student_arguments(ap: argparse.ArgumentParser) -> None:
    """The student's shape (StudentConfig), for this tool and tools.distil_zoo alike."""
    ap.add_argument("--blocks", type=int, default=None,
                    help=f"teacher's residual blocks kept, of 5 (default: the start file's, else {StudentConfig.blocks})")
    ap.add_argument("--k-in", type=int, default=None,
                    help=f"first convolution's kernel, teacher's 9 (default: the start file's, else {StudentConfig.k_in})")
    ap.add_argument("--k-out", type=int, default=None,
                    help=f"last convolution's kernel, teacher's 9 (default: the start file's, else {StudentConfig.k_out})")
    ap.add_argument("--block-padding", choices=PADDINGS, default=None,
                    help="the residual blocks' padding (replicate: no blot in the top left corner; "
                         "default: the start file's, else replicate)")
    ap.add_argument("--outer-padding", choices=PADDINGS, default=None,
                    help="the padding of the convolutions outside the blocks (replicate: no lines along the top "
                         "and left edges; default: the start file's, else replicate)")


def numeric_settings() -> dict[str, int | float]:
    """The numeric fields of Settings and their defaults: what a command line sets (net and knobs it builds)."""
    return {f: v for f, v in asdict(Settings()).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def add_settings_arguments(ap: argparse.ArgumentParser, **defaults: float) -> None:
    """An option for every numeric field of Settings, so that a knob added there reaches every command line."""
    for f, v in numeric_settings().items():
        ap.add_argument("--" + f.replace("_", "-"), type=type(v), default=defaults.get(f, v), help=SETTINGS_HELP.get(f))


def settings_from(a: argparse.Namespace, start: Path | None, knobs: Knobs) -> Settings:
    """Settings from the options of add_student_arguments and add_settings_arguments."""
    net = shape_for(start, **{f.name: getattr(a, f.name) for f in fields(StudentConfig)}).to_dict()
    return Settings(net=net, knobs=knobs.to_dict(), **{f: getattr(a, f) for f in numeric_settings()})


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("painting", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--run", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None, help="model file (default RUN/NAME.onnx)")
    ap.add_argument("--content", nargs="*", type=Path, default=None, help="folders, pictures or videos")
    add_student_arguments(ap)
    ap.add_argument("--style-size", type=int, default=256)
    ap.add_argument("--style-weight", type=float, default=1.0)
    ap.add_argument("--vgg", type=Path, default=None)
    ap.add_argument("--start", type=Path, default=None, help="a student of this painting to train on")
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda, ...)")
    add_settings_arguments(ap)
    return ap


def main() -> None:
    a = parser().parse_args()
    s = settings_from(a, a.start, Knobs(a.style_size, a.style_weight))
    content = load_content(a.content) if a.content else None
    try:
        card = distil(a.painting, a.out or a.run / f"{a.name}.onnx", a.run, s, content,
                      "the user's content: " + ", ".join(p.name for p in a.content) if a.content else
                      "rtstyle's default content set (rtstyle/content)", vgg=a.vgg, start=a.start, device=a.device)
    except ValueError as e:
        raise SystemExit(f"distil: {e}") from None
    print(json.dumps({k: card[k] for k in ("name", "params", "macs_per_pixel")}))


if __name__ == "__main__":
    main()
