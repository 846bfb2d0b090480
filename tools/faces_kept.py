"""Faces kept and edge structure of any installed style, measured as the quality report does.

The report scores the zoo; a style made with ``rtstyle train`` is checked against the same
target (at least 80 % of the faces MTCNN finds in the report's photos and every 5th frame of
its clip are found again, in place, in the output), and benchmarks.teacher_knobs scores knob
settings with it:

    python -m tools.faces_kept STYLE [STYLE ...]
"""
from __future__ import annotations

import argparse
from typing import Callable

import numpy as np

from rtstyle.stylizer import Stylizer

from .faces import FaceDetector, faces_kept
from .image_scores import edge_correlation
from .quality_report import FACE_EVERY, HERE, MIN_FACES_KEPT, REFERENCE, pictures_in, read_inputs


class ContentKept:
    """The report's photos and clip frames with their faces, found once; scores any painter."""

    def __init__(self) -> None:
        self.detector = FaceDetector()
        inputs = read_inputs(pictures_in(HERE / "photos"), HERE / "clip_megamind.mp4", REFERENCE.size, self.detector)
        self.photos, self.faces = inputs.images, inputs.faces
        self.images = self.photos + inputs.clip[::FACE_EVERY]
        self.total = sum(len(f) for f in self.faces)

    def __call__(self, paint: Callable[[np.ndarray], np.ndarray]) -> tuple[int, float]:
        """(faces kept, mean edge structure over the photos), as the report counts them."""
        outputs = [paint(x) for x in self.images]
        kept = sum(faces_kept(f, self.detector(y)) for f, y in zip(self.faces, outputs))
        edges = float(np.mean([edge_correlation(x, y) for x, y in zip(self.photos, outputs)]))
        return kept, edges

    def describe(self, kept: int, edges: float) -> str:
        verdict = "pass" if kept / self.total >= MIN_FACES_KEPT else "FAIL"
        return (f"faces kept {kept}/{self.total} = {kept / self.total:.3f} (target {MIN_FACES_KEPT}) {verdict}; "
                f"edge structure {edges:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("styles", nargs="+", help="model names or .onnx paths")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    score = ContentKept()
    for style in a.styles:
        print(f"{style}: {score.describe(*score(Stylizer(style, providers='cpu', threads=a.threads)))}")


if __name__ == "__main__":
    main()
