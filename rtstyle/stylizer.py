"""A loaded style: engine + pre/post-processing, applied to one RGB frame at a time."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rtstyle import frames, guided
from rtstyle.engine import Engine
from rtstyle.errors import ModelError
from rtstyle.models import find_model


class Stylizer:
    """Stylize RGB uint8 frames of any size with one model.

    ``strength`` blends with the input (1.0 = full style); ``keep_colours`` keeps the
    input's colours and takes only the style's luminance (texture and strokes).
    ``scale`` < 1 runs the network on a downscaled frame and brings the result back to
    full size with guided upsampling (the CPU fast path); by default the model card's
    ``internal_scale``, else 1. ``frame_size`` (height, width), when known, lets GPU engines
    be built for exactly that size. Other options (precision, GPU options) go to :class:`Engine`.
    """

    def __init__(self, style: str | Path, providers: str | list[str] = "auto", threads: int | None = None,
                 strength: float = 1.0, keep_colours: bool = False, scale: float | None = None,
                 frame_size: tuple[int, int] | None = None, **engine_options):
        card = find_model(style)
        self.scale = float(card.info.get("internal_scale", 1.0) if scale is None else scale)
        if not 0 < self.scale <= 1:
            raise ModelError(f"scale must be in (0, 1], got {self.scale}")
        shape = frames.tensor_shape(*guided.scaled_size(*frame_size, self.scale), card) if frame_size else None
        self.engine = Engine(card.path, providers=providers, threads=threads, shape=shape, **engine_options)
        self.card = self.engine.card
        self.strength = strength
        self.keep_colours = keep_colours

    @property
    def name(self) -> str:
        return self.card.name

    def preprocess(self, rgb: np.ndarray) -> np.ndarray:
        rgb = frames.as_rgb(rgb)
        if self.scale < 1:
            rgb = guided.downscale(rgb, *guided.scaled_size(*rgb.shape[:2], self.scale))
        return frames.to_tensor(rgb, self.card)

    def infer(self, x: np.ndarray) -> np.ndarray:
        return self.engine.run(x)

    def postprocess(self, y: np.ndarray, original: np.ndarray) -> np.ndarray:
        original = frames.as_rgb(original)
        if self.scale < 1:
            low = frames.from_tensor(y, self.card, *guided.scaled_size(*original.shape[:2], self.scale))
            out = guided.guided_upsample(low, original)
        else:
            out = frames.from_tensor(y, self.card, *original.shape[:2])
        if self.keep_colours:
            out = frames.keep_colours(out, original)
        return frames.blend(out, original, self.strength)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame (H x W x 3; grey and RGBA accepted) at its own size."""
        return self.postprocess(self.infer(self.preprocess(rgb)), rgb)
