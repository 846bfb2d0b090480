"""Faces kept by any installed style, counted as the quality report counts them.

The report scores the zoo; a style made with ``rtstyle train`` is checked against the same
target (at least 80 % of the faces MTCNN finds in the report's photos and every 5th frame of
its clip are found again, in place, in the output):

    python -m tools.faces_kept STYLE [STYLE ...]
"""
from __future__ import annotations

import argparse

from rtstyle.sources import read_image
from rtstyle.stylizer import Stylizer

from .faces import FaceDetector, faces_kept
from .losses import fit
from .quality_report import FACE_EVERY, HERE, MIN_FACES_KEPT, PHOTO_SUFFIXES, REFERENCE, read_clip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("styles", nargs="+", help="model names or .onnx paths")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    detector = FaceDetector()
    photos = sorted(p for p in (HERE / "photos").iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)
    images = [fit(read_image(p), REFERENCE.size) for p in photos] + read_clip(HERE / "clip_megamind.mp4")[::FACE_EVERY]
    faces = [detector(x) for x in images]
    for style in a.styles:
        stylizer = Stylizer(style, providers="cpu", threads=a.threads)
        kept = sum(faces_kept(f, detector(stylizer(x))) for f, x in zip(faces, images))
        total = sum(len(f) for f in faces)
        verdict = "pass" if kept / total >= MIN_FACES_KEPT else "FAIL"
        print(f"{style}: faces kept {kept}/{total} = {kept / total:.3f} (target {MIN_FACES_KEPT}) {verdict}")


if __name__ == "__main__":
    main()
