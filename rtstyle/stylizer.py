"""A loaded style: engine + pre/post-processing, applied to one RGB frame at a time."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rtstyle import frames
from rtstyle.engine import Engine
from rtstyle.models import find_model


class Stylizer:
    """Stylize RGB uint8 frames of any size with one model.

    ``strength`` blends with the input (1.0 = full style); ``keep_colours`` keeps the
    input's colours and takes only the style's luminance (texture and strokes).
    """

    def __init__(self, style: str | Path, providers: str | list[str] = "auto", threads: int | None = None,
                 strength: float = 1.0, keep_colours: bool = False):
        self.card = find_model(style)
        self.engine = Engine(self.card.path, providers=providers, threads=threads)
        self.card = self.engine.card
        self.strength = strength
        self.keep_colours = keep_colours

    @property
    def name(self) -> str:
        return self.card.name

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        return frames.to_tensor(frames.as_rgb(rgb), self.card)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.engine.run(x)

    def postprocess(self, y: np.ndarray, original: np.ndarray) -> np.ndarray:
        original = frames.as_rgb(original)
        out = frames.from_tensor(y, self.card, *original.shape[:2])
        if self.keep_colours:
            out = frames.keep_colours(out, original)
        return frames.blend(out, original, self.strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame (H x W x 3; grey and RGBA accepted) at its own size."""
        return self.postprocess(self.infer(self.preprocess(rgb)), rgb)
