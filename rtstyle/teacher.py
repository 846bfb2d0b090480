"""The teacher behind the named styles: Magenta's arbitrary network, a painting and two knobs.

The arbitrary transformer paints any content picture in the style given by a 100-d vector
that its predictor reads off a painting. Magenta's users tune two things, and so do we:

- ``style_size``: the painting's short side, in pixels, when the predictor reads it
  (Magenta's ``style_image_size``). Larger reads finer brushwork, smaller bolder strokes.
- ``style_weight``: Magenta's interpolation weight. The vector is
  ``style_weight * painting + (1 - style_weight) * photo``, where ``photo`` is the mean
  vector of ordinary photos: below 1 the painting lets more of the photo's own look
  (colours, faces) through. It is a fixed vector, not the frame's own, so a baked model
  needs no predictor per frame and cannot flicker with it (docs/teacher.md measures both).

``PHOTO_VECTOR`` (rtstyle/photo_vector.npy) is that mean: the predictor's vector (at the
photo's own size) averaged over the 30 content pictures the package shipped until 2026-12-06
(``git show 3d39c79:rtstyle/content``), the vector every shipped model was made with. It is stored
rather than recomputed so that the teachers stay what the students learnt from when the
training content changes (it did: rtstyle/content_set.py).

The quality tier bakes this vector into the transformer (tools/bake.py); the fast tier is a
student trained on the teacher's output (tools/distil.py).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from rtstyle.errors import SourceError
from rtstyle.sources import read_image
from rtstyle.style_images import StylePredictor
from rtstyle.stylizer import Stylizer

ARBITRARY, PREDICTOR = "arbitrary", "arbitrary_predict"
MIN_STYLE_SIDE = 32  # a smaller picture holds no brushwork for the predictor to read
PHOTO_VECTOR = Path(__file__).parent / "photo_vector.npy"


@dataclass(frozen=True)
class Knobs:
    """How the painting becomes a style vector; recorded in every model card built from it."""

    style_size: int = 256
    style_weight: float = 1.0

    def __post_init__(self) -> None:
        if not 32 <= self.style_size <= 2048:
            raise ValueError(f"style_size must be 32-2048 pixels, got {self.style_size}")
        if not 0.0 <= self.style_weight <= 1.0:
            raise ValueError(f"style_weight must be in [0, 1], got {self.style_weight}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def read_painting(path: str | Path) -> np.ndarray:
    """The style picture as RGB uint8, or a one-line :class:`SourceError` saying what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"style picture not found: {path}")
    rgb = read_image(path)
    if min(rgb.shape[:2]) < MIN_STYLE_SIDE:
        raise SourceError(f"style picture {path.name} is {rgb.shape[1]}x{rgb.shape[0]}: "
                          f"at least {MIN_STYLE_SIDE} pixels a side are needed")
    return rgb


def style_vector(predictor: StylePredictor, painting: np.ndarray, knobs: Knobs,
                 photo: np.ndarray | None = None) -> np.ndarray:
    """The teacher's vector for a painting (RGB uint8) under ``knobs``."""
    vec = predictor.vector(painting, knobs.style_size)
    if knobs.style_weight < 1.0:
        if photo is None:
            raise ValueError("style_weight below 1 needs the photo vector")
        vec = knobs.style_weight * vec + (1.0 - knobs.style_weight) * photo
    return vec.astype(np.float32)


class Vectors:
    """Paintings to teacher vectors under their knobs, with one predictor.

    ``photo`` is the vector a ``style_weight`` below 1 blends toward: the stored
    ``PHOTO_VECTOR`` unless given.
    """

    def __init__(self, threads: int | None = None, photo: np.ndarray | None = None):
        self.predictor = StylePredictor(PREDICTOR, providers="cpu", threads=threads, cache=False)
        self.photo = np.load(PHOTO_VECTOR) if photo is None else photo

    def __call__(self, painting: np.ndarray, knobs: Knobs) -> np.ndarray:
        return style_vector(self.predictor, painting, knobs, self.photo if knobs.style_weight < 1 else None)


def teacher(vector: np.ndarray, threads: int | None = None, spin: bool = True) -> Stylizer:
    """The arbitrary network set to paint ``vector``: call it on RGB uint8 frames (``spin``: see
    :class:`rtstyle.engine.Engine`; off where it is timed beside other sessions)."""
    style = Stylizer(ARBITRARY, providers="cpu", threads=threads, spin=spin)
    style.set_vector(vector, 0.0)
    return style
