"""Style spaces: the extra input through which one network paints many styles.

A model card may declare one extra input that selects the style (``"inputs"`` in the
card, see models/README.md):

- ``kind: "weights"``: one non-negative weight per trained style (Dumoulin et al.'s
  conditional instance norm); any convex mix of the styles is a style. Its ``labels``
  name the trained styles, so a one-hot vector is a named point.
- ``kind: "vector"``: a free style embedding (Ghiasi et al.'s arbitrary stylization),
  produced from any picture by the ``predictor`` model; ``presets`` are named vectors.

Mixing and cross-fading happen here, on these vectors, never on output images: a blend
of two weight vectors is a new style, a blend of two pictures is a double exposure.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from rtstyle.errors import ModelError, StyleMixError, StyleNotFoundError
from rtstyle.models import ModelCard

WEIGHTS, VECTOR = "weights", "vector"


@dataclass(frozen=True)
class StyleSpace:
    """One model's style input: its name, kind, shape, default and named points."""

    input: str
    kind: str
    shape: tuple[int, ...]
    default: np.ndarray
    points: dict[str, np.ndarray] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    predictor: str | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def what(self) -> str:
        return "style weights" if self.kind == WEIGHTS else "style vector"

    @classmethod
    def from_card(cls, card: ModelCard) -> StyleSpace | None:
        """The card's style input, or None for a single-style model."""
        for name, spec in card.info.get("inputs", {}).items():
            kind = spec.get("kind")
            if kind not in (WEIGHTS, VECTOR):
                continue
            shape = tuple(int(s) for s in spec.get("shape", [len(spec["default"])]))
            size = int(np.prod(shape))
            try:
                default = check_vector(spec["default"], size, kind, f"{card.path.name}: default {name}")
                if kind == WEIGHTS:
                    labels = spec.get("labels") or [{"name": str(i)} for i in range(size)]
                    points = {lab["name"]: np.eye(size, dtype=np.float32)[i] for i, lab in enumerate(labels)}
                    titles = {lab["name"]: lab.get("title", lab["name"]) for lab in labels}
                else:
                    points = {k: check_vector(v, size, kind, f"{card.path.name}: preset {k}")
                              for k, v in spec.get("presets", {}).items()}
                    titles = {k: k.replace("_", " ") for k in points}
            except StyleMixError as e:
                raise ModelError(str(e)) from None
            return cls(name, kind, shape, default, points, titles, spec.get("predictor"))
        return None

    def check(self, values: object, what: str | None = None) -> np.ndarray:
        """Validate a vector for this input; weights come back normalised to sum 1."""
        return check_vector(values, self.size, self.kind, what or self.what)

    def feed(self, vector: np.ndarray) -> np.ndarray:
        """The vector in the shape the network's input wants."""
        return vector.reshape(self.shape)


def check_vector(values: object, size: int, kind: str, what: str) -> np.ndarray:
    """Length, finiteness and (for weights) sign and sum, with a one-line reason when wrong."""
    try:
        v = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise StyleMixError(f"{what} must be numbers, got {values!r:.60}") from None
    if v.size != size:
        raise StyleMixError(f"{what} must have {size} values, got {v.size}")
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise StyleMixError(f"{what} must be finite numbers, value {bad[0]} is {v[bad[0]]}")
    if kind == WEIGHTS:
        neg = np.flatnonzero(v < 0)
        if neg.size:
            raise StyleMixError(f"{what} must not be negative, value {neg[0]} is {v[neg[0]]:g}")
        if v.sum() <= 0:
            raise StyleMixError(f"{what} must not all be zero")
        v = v / v.sum()
    return v.astype(np.float32)


def parse_mix(spec: str) -> dict[str, float]:
    """``"7=0.6,19=0.4"`` or ``"starry_blue=1,crimson=1"`` -> {key: weight}; weights default to 1."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        key, _, weight = part.partition("=")
        try:
            w = float(weight) if weight.strip() else 1.0
        except ValueError:
            raise StyleMixError(f"bad weight '{weight}' in mix '{spec}' (use e.g. 7=0.6,19=0.4)") from None
        if not np.isfinite(w) or w < 0:
            raise StyleMixError(f"mix weights must be non-negative numbers, got {key.strip()}={weight}")
        out[key.strip()] = out.get(key.strip(), 0.0) + w
    if not out:
        raise StyleMixError(f"empty mix '{spec}' (use e.g. 7=0.6,19=0.4)")
    return out


def lookup(points: Mapping[str, np.ndarray], key: str | int) -> str:
    """Name of a point given by name or 0-based index (a name wins over an index)."""
    names = list(points)
    if key in points:
        return str(key)
    if isinstance(key, int) or str(key).isdigit():
        i = int(key)
        if not 0 <= i < len(names):
            raise StyleNotFoundError(f"style index {i} is out of range 0-{len(names) - 1}")
        return names[i]
    raise StyleNotFoundError(f"unknown style '{key}' (choose from {', '.join(names) or 'none'})")


def mix(points: Mapping[str, np.ndarray], weights: Mapping[str | int, float]) -> np.ndarray:
    """Weighted mean of named points: a blend of styles."""
    total = sum(weights.values())
    if total <= 0:
        raise StyleMixError("mix weights must not all be zero")
    return sum(points[lookup(points, k)] * (w / total) for k, w in weights.items())


def smoothstep(t: float) -> float:
    """Ease in and out, so a cross-fade neither jerks at its start nor stops abruptly."""
    t = min(max(t, 0.0), 1.0)
    return t * t * (3.0 - 2.0 * t)


class Crossfade:
    """A vector that moves to a new target over a set time; read once per frame.

    Setting a target mid-fade starts the new fade from wherever the vector is then, so
    repeated key presses never make the style jump. Thread-safe: controls set targets
    while the inference thread reads values.
    """

    def __init__(self, start: np.ndarray, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._from = self._to = np.asarray(start, np.float32)
        self._t0, self._seconds = clock(), 0.0

    def to(self, target: np.ndarray, seconds: float = 0.0) -> None:
        if seconds < 0 or not np.isfinite(seconds):
            raise StyleMixError(f"cross-fade time must be zero or more seconds, got {seconds}")
        with self._lock:
            now = self.clock()
            self._from = self._value(now)
            self._to = np.asarray(target, np.float32)
            self._t0, self._seconds = now, float(seconds)

    @property
    def target(self) -> np.ndarray:
        return self._to

    @property
    def done(self) -> bool:
        return self.clock() - self._t0 >= self._seconds

    def value(self) -> np.ndarray:
        with self._lock:
            return self._value(self.clock())

    def _value(self, now: float) -> np.ndarray:
        if self._seconds <= 0 or now - self._t0 >= self._seconds:
            return self._to
        a = smoothstep((now - self._t0) / self._seconds)
        return ((1.0 - a) * self._from + a * self._to).astype(np.float32)
