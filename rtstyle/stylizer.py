"""A loaded style: engine + pre/post-processing, applied to one RGB frame at a time.

Mixable models (a card with a style input, see :mod:`rtstyle.mixing`) keep a palette of
named styles and a cross-faded style vector that the controls move; each frame reads the
vector once, so a fade advances with the clock however fast frames arrive.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from rtstyle import frames, guided, memory
from rtstyle.engine import Engine
from rtstyle.errors import ModelError, StyleMixError
from rtstyle.mixing import VECTOR, Crossfade, StyleSpace, lookup, mix, parse_mix
from rtstyle.models import split_style
from rtstyle.style_images import StylePredictor, style_image_files

StyleImages = Sequence[str | Path] | Mapping[str | Path, float]


class Stylizer:
    """Stylize RGB uint8 frames of any size with one model.

    ``strength`` blends with the input (1.0 = full style); a model whose card says
    ``"strength": "identity"`` instead moves its style vector toward the frame's own (Magenta's
    identity interpolation), which weakens the style without a double exposure.
    ``keep_colours`` keeps the input's colours and takes only the style's luminance.

    For mixable models: ``style`` may name an inner style (``multistyle26:7`` or
    ``multistyle26:starry_blue``), ``mix`` blends named styles (``"7=0.6,19=0.4"``) and
    ``style_images`` adds pictures (files or folders; a mapping gives each a weight) as
    styles through the model's predictor. ``fade_seconds`` is the default cross-fade time
    of :meth:`select`, :meth:`step`, :meth:`set_mix` and :meth:`set_vector`.

    ``scale`` < 1 runs the network on a downscaled frame and brings the result back to
    full size with guided upsampling (a speed lever for any model); by default the model card's
    ``internal_scale``, else 1. ``frame_size`` (height, width), when known, lets GPU engines
    be built for exactly that size. Other options (precision, GPU options) go to :class:`Engine`.
    """

    def __init__(self, style: str | Path, providers: str | list[str] = "auto", threads: int | None = None,
                 strength: float = 1.0, keep_colours: bool = False, mix: str | Mapping[str | int, float] | None = None,
                 style_images: StyleImages = (), fade_seconds: float = 0.0,
                 clock: Callable[[], float] = time.monotonic, scale: float | None = None,
                 frame_size: tuple[int, int] | None = None, **engine_options):
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        card, inner = split_style(style)
        self.scale = float(card.info.get("internal_scale", 1.0) if scale is None else scale)
        if not 0 < self.scale <= 1:
            raise ModelError(f"scale must be in (0, 1], got {self.scale}")
        if self.scale < 1:
            memory.keep_freed_buffers()  # guided upsampling's full-size float buffers: see rtstyle.memory
        shape = frames.tensor_shape(*guided.scaled_size(*frame_size, self.scale), card) if frame_size else None
        self.engine = Engine(card.path, providers=providers, threads=threads, shape=shape, **engine_options)
        self.card = self.engine.card
        self.providers, self.threads = providers, threads
        self._engine_options = {"shape": shape, **engine_options}  # for :meth:`use_threads`
        self.strength = strength
        self.keep_colours = keep_colours
        self.fade_seconds = fade_seconds
        self.space = StyleSpace.from_card(self.card)
        self._predictor: StylePredictor | None = None
        self.palette: dict[str, np.ndarray] = dict(self.space.points) if self.space else {}
        if self.space is None:
            if inner is not None or mix is not None or style_images:
                raise StyleMixError(f"{self.name} paints a single style: it takes no inner style, mix or style picture")
            return
        self._fade = Crossfade(self.space.default, clock)
        start = self.add_style_images(style_images) if style_images else None
        if inner is not None:
            start = self.palette[lookup(self.palette, inner)]
        if mix is not None:
            start = self._mix_vector(mix)
        if start is not None:
            self.set_vector(start, 0.0)

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def label(self) -> str:
        """For people: the model, and which of its styles (or a mix) is on."""
        if self.space is None:
            return self.name
        return f"{self.name}:{self.current_style or 'mix'}"

    @property
    def title(self) -> str:
        """Readable name of what is painted now: the named style's title, else the model's."""
        current = self.current_style if self.space else None
        return self.space.titles.get(current, current) if current else self.card.title

    @property
    def identity_strength(self) -> bool:
        return self.space is not None and self.card.info.get("strength") == "identity"

    # --- style controls (mixable models) --------------------------------------------------
    @property
    def styles(self) -> list[str]:
        """Named styles of the palette, in order: what :meth:`step` walks through."""
        return list(self.palette)

    @property
    def vector(self) -> np.ndarray:
        """The style vector in effect now (mid-fade: between the old and the new style)."""
        return self._space()[1].value()

    @property
    def target(self) -> np.ndarray:
        """Where the current fade ends."""
        return self._space()[1].target

    @property
    def current_style(self) -> str | None:
        """Name of the palette style the target equals, if it is one (not a blend)."""
        target = self.target
        return next((n for n, v in self.palette.items() if np.array_equal(v, target)), None)

    def set_vector(self, vector: object, fade_seconds: float | None = None) -> None:
        """Fade to any valid vector for the model's style input (weights are normalised)."""
        space, fade = self._space()
        fade.to(space.check(vector), self.fade_seconds if fade_seconds is None else fade_seconds)

    def select(self, style: str | int, fade_seconds: float | None = None) -> str:
        """Fade to one named style (by name or index in :attr:`styles`); returns its name."""
        self._space()
        name = lookup(self.palette, style)
        self.set_vector(self.palette[name], fade_seconds)
        return name

    def step(self, delta: int = 1, fade_seconds: float | None = None) -> str:
        """Fade to the next (``delta`` = 1) or previous (-1) named style, wrapping around."""
        names = self.styles
        current = self.current_style
        i = names.index(current) + delta if current in names else (0 if delta >= 0 else -1)
        return self.select(i % len(names), fade_seconds)

    def set_mix(self, spec: str | Mapping[str | int, float], fade_seconds: float | None = None) -> None:
        """Fade to a blend of named styles: ``"7=0.6,19=0.4"`` or ``{"starry_blue": 1, "crimson": 1}``."""
        self.set_vector(self._mix_vector(spec), fade_seconds)

    def add_style_images(self, pictures: StyleImages) -> np.ndarray:
        """Add pictures (files, or folders of them) to the palette as styles; returns their blend.

        The blend uses the given weights (equal without them); a folder takes part with its
        first picture, the others wait in the palette for :meth:`step`.
        """
        space, _ = self._space()
        if space.kind != VECTOR or not space.predictor:
            raise StyleMixError(f"{self.name} cannot take a style picture; use a model with a style "
                                f"predictor, e.g. --style arbitrary")
        weights = dict(pictures) if isinstance(pictures, Mapping) else dict.fromkeys(pictures, 1.0)
        predictor = self.predictor
        blend: dict[str, float] = {}
        for arg, weight in weights.items():
            names = []
            for f in style_image_files(arg):
                name = _unique(f.name, self.palette)
                self.palette[name] = space.check(predictor.vector_of_file(f), f"style vector of {f.name}")
                names.append(name)
            blend[names[0]] = blend.get(names[0], 0.0) + float(weight)
        return self._mix_vector(blend)

    @property
    def predictor(self) -> StylePredictor:
        """The model's style predictor, loaded on first use."""
        if self._predictor is None:
            space, _ = self._space()
            if not space.predictor:
                raise StyleMixError(f"{self.name} has no style predictor")
            self._predictor = StylePredictor(space.predictor, providers=self.providers, threads=self.threads)
        return self._predictor

    def _mix_vector(self, spec: str | Mapping[str | int, float]) -> np.ndarray:
        weights = parse_mix(spec) if isinstance(spec, str) else spec
        return self._space()[0].check(mix(self.palette, weights), "mixed style")

    def _space(self) -> tuple[StyleSpace, Crossfade]:
        if self.space is None:
            raise StyleMixError(f"{self.name} paints a single style: it has no styles to mix or select")
        return self.space, self._fade

    # --- per frame -----------------------------------------------------------------------
    def frame_vector(self, rgb: np.ndarray | None = None, strength: float | None = None) -> np.ndarray | None:
        """The style vector for this frame: the faded vector, pulled toward the frame's own
        style by ``1 - strength`` (default: :attr:`strength`) for identity-strength models."""
        if self.space is None:
            return None
        strength = self.strength if strength is None else strength
        vec = self._fade.value()
        if self.identity_strength and strength < 1.0 and rgb is not None:
            vec = strength * vec + (1.0 - strength) * self.predictor.vector(rgb)
        return vec

    def use_threads(self, threads: int) -> None:
        """Paint with ``threads`` from now on: a render that paints one frame at a time where it
        planned two (rtstyle.headroom.render_fit) gives that frame the cores of both. The
        engine is built again; the style and its settings stay."""
        self.engine = Engine(self.card.path, providers=self.providers, threads=threads, **self._engine_options)
        self.threads = threads

    def preprocess(self, rgb: np.ndarray, scale: float | None = None) -> np.ndarray:
        """RGB frame -> the network's input, at ``scale`` (default: the stylizer's own)."""
        scale = self.scale if scale is None else scale
        rgb = frames.as_rgb(rgb)
        if scale < 1:
            rgb = guided.downscale(rgb, *guided.scaled_size(*rgb.shape[:2], scale))
        return frames.to_tensor(rgb, self.card)

    def infer(self, x: np.ndarray, vector: np.ndarray | None = None) -> np.ndarray:
        if self.space is None:
            return self.engine.run(x)
        vector = self.frame_vector() if vector is None else vector
        return self.engine.run(x, **{self.space.input: self.space.feed(vector)})

    def postprocess(self, y: np.ndarray, original: np.ndarray, strength: float | None = None,
                    keep_colours: bool | None = None, scale: float | None = None) -> np.ndarray:
        """Network output -> frame at the original's size: guided upsampling, colours, strength
        (defaults: the stylizer's own settings; ``scale``: the one :meth:`preprocess` painted at)."""
        strength = self.strength if strength is None else strength
        keep_colours = self.keep_colours if keep_colours is None else keep_colours
        scale = self.scale if scale is None else scale
        original = frames.as_rgb(original)
        if scale < 1:
            low = frames.from_tensor(y, self.card, *guided.scaled_size(*original.shape[:2], scale))
            out = guided.guided_upsample(low, original)
        else:
            out = frames.from_tensor(y, self.card, *original.shape[:2])
        if keep_colours:
            out = frames.keep_colours(out, original)
        return out if self.identity_strength else frames.blend(out, original, strength)

    def paint(self, rgb: np.ndarray, strength: float, keep_colours: bool, scale: float | None = None) -> np.ndarray:
        """Stylize one frame with these finishing options instead of the stylizer's own (the live
        controls change them per frame, live's --scale auto the scale; thread-safe on a CPU engine)."""
        if not 0.0 <= strength <= 1.0:
            raise ValueError(f"strength must be in [0, 1], got {strength}")
        if scale is not None and not 0 < scale <= 1:
            raise ValueError(f"scale must be in (0, 1], got {scale}")
        if scale is not None and scale < 1:
            memory.keep_freed_buffers()
        rgb = frames.as_rgb(rgb)
        y = self.infer(self.preprocess(rgb, scale), self.frame_vector(rgb, strength))
        return self.postprocess(y, rgb, strength, keep_colours, scale)

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Stylize one RGB uint8 frame (H x W x 3; grey and RGBA accepted) at its own size."""
        return self.paint(rgb, self.strength, self.keep_colours)


def _unique(name: str, taken: Mapping[str, object]) -> str:
    """``name``, or ``name_2``, ``name_3``... when two pictures share a file name."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}_{n}"
    return candidate
