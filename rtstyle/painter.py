"""One way to finish a frame, for render and live alike: paint, then settle.

:meth:`Painter.paint` stylizes one RGB frame with a :class:`Look` (style, strength, colour
keeping): inference, guided upsampling, colours, strength, all in :class:`Stylizer`. It is
thread-safe, so render's parallel workers share it. :meth:`Painter.settle` smooths the
painted frame against the previous output and must see frames in order. The two schedulers
differ only in which frames they hand over (render: every frame in order; live: the newest),
so a frame rendered and a frame shown live with the same look are the same picture.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rtstyle.mixing import StyleSpace, lookup
from rtstyle.models import split_style
from rtstyle.stylizer import Stylizer
from rtstyle.temporal import Smoother

# What a painter takes for a style: a name, MODEL:STYLE or a path; a ready Stylizer; or a ready
# mixable Stylizer and one of its styles (a style picture added to it).
Spec = str | Path | Stylizer | tuple[Stylizer, str]


@dataclass(frozen=True)
class Look:
    """How one frame is painted: the style's name in the painter, and the finishing options."""

    style: str
    strength: float = 1.0
    keep_colours: bool = False
    smoothing: bool = True
    # The picture inside black bars (rtstyle.frames.picture_box): only it is painted, the bars stay.
    picture: tuple[int, int, int, int] | None = None
    # The internal scale (live's --scale auto), at most the stylizer's own; None: the stylizer's own.
    scale: float | None = None


def style_names(specs: Iterable[str | Path], every_style: bool = False) -> dict[str, Spec]:
    """Style names, ``MODEL:STYLE`` of a mixable model, bare inner style names or .onnx paths ->
    {display name: spec}, resolved as render and image resolve them; unknown names fail here,
    before anything is loaded. With ``every_style``, a mixable model named alone stands for each
    of its styles (multistyle26's 26), as live walks through them."""
    named: dict[str, Spec] = {}
    for spec in specs:
        card, inner = split_style(spec)
        space = StyleSpace.from_card(card) if every_style and inner is None else None
        if space is not None and space.points:
            named.update({f"{card.name}:{point}": f"{card.name}:{point}" for point in space.points})
            continue
        named[card.name if inner is None else f"{card.name}:{inner}"] = spec
    return named


class Painter:
    """Stylizers by name, loaded on first use with the same options, and one smoother.

    ``styles`` maps names to a :data:`Spec`; ``options`` go to every Stylizer loaded here. The
    styles of one mixable model share one Stylizer, loaded once, and a change from one of them
    to another fades over its ``fade_seconds`` (an option) instead of jumping.
    """

    def __init__(self, styles: Mapping[str, Spec], smoother: Smoother | None = None, **options: object):
        if not styles:
            raise ValueError("a painter needs at least one style")
        self.specs = dict(styles)
        self.options = options
        self.smoother = smoother
        self._loaded: dict[str, tuple[Stylizer, str | None]] = {
            n: (s, None) if isinstance(s, Stylizer) else s for n, s in self.specs.items()
            if not isinstance(s, (str, Path))}
        self._models: dict[Path, Stylizer] = {}  # the mixable models loaded, by file
        self._last: Stylizer | None = None  # the stylizer of the style asked for last
        self._lock = threading.Lock()
        self._history: str | None = None  # the style the smoother's history belongs to

    @classmethod
    def of(cls, stylizer: Stylizer, smoother: Smoother | None = None) -> tuple[Painter, Look]:
        """A painter around one loaded stylizer, and the look its own settings describe."""
        return cls({stylizer.label: stylizer}, smoother), Look(stylizer.label, stylizer.strength,
                                                                stylizer.keep_colours)

    @property
    def names(self) -> list[str]:
        return list(self.specs)

    def stylizer(self, name: str) -> Stylizer:
        """The stylizer of a style, loaded the first time it is asked for; a mixable model's
        style is selected in it: faded to from the model's style before, at once after another
        model's."""
        with self._lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(self.specs[name])  # type: ignore[arg-type]
            stylizer, inner = self._loaded[name]
            if inner is not None and not np.array_equal(stylizer.target, stylizer.palette[inner]):
                stylizer.select(inner, None if stylizer is self._last else 0.0)
            self._last = stylizer
            return stylizer

    def _load(self, spec: str | Path) -> tuple[Stylizer, str | None]:
        card, inner = split_style(spec)
        if inner is None:
            return Stylizer(spec, **self.options), None  # type: ignore[arg-type]
        if card.path not in self._models:
            self._models[card.path] = Stylizer(card.path, **self.options)  # type: ignore[arg-type]
        model = self._models[card.path]
        return model, lookup(model.palette, inner)

    def paint(self, rgb: np.ndarray, look: Look) -> np.ndarray:
        """The frame in the look's style, strength and colours (thread-safe); of a letterboxed
        frame, only the picture: a network paints black bars as coloured bands."""
        stylizer = self.stylizer(look.style)
        scale = None if look.scale is None else min(look.scale, stylizer.scale)  # (a model made to run at half size)
        if look.picture is None:
            return stylizer.paint(rgb, look.strength, look.keep_colours, scale)
        left, top, right, bottom = look.picture
        framed = rgb.copy()
        framed[top:bottom, left:right] = stylizer.paint(rgb[top:bottom, left:right], look.strength, look.keep_colours,
                                                        scale)
        return framed

    def settle(self, rgb: np.ndarray, painted: np.ndarray, look: Look) -> np.ndarray:
        """The frame to show: ``painted`` smoothed against the previous output (frames in order).

        A new style, or smoothing switched back on, starts without history."""
        if self.smoother is None or not look.smoothing:
            self._history = None
            return painted
        if self._history != look.style:
            self.smoother.reset()
            self._history = look.style
        return self.smoother(rgb, painted)

    def reset(self) -> None:
        """Forget the smoothing history (a new source)."""
        self._history = None
