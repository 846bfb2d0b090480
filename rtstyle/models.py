"""Find shipped and user style models on disk and read their model cards.

A model is an ONNX file whose ``metadata_props`` hold a JSON model card under the key
``rtstyle``. Search order: directories in ``$RTSTYLE_MODEL_PATH`` (``os.pathsep``
separated), the user folder (``$XDG_DATA_HOME/rtstyle/models``), then the models shipped
with the package. Nothing is ever downloaded.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import onnxruntime as ort

from rtstyle.errors import ModelError, StyleNotFoundError

CARD_KEY = "rtstyle"


@dataclass(frozen=True)
class ModelCard:
    """What rtstyle needs to know to run a model, plus its provenance for people."""

    name: str
    path: Path
    layout: str = "NCHW"            # NCHW or NHWC, RGB channel order
    value_range: float = 1.0        # 1.0: floats in [0, 1]; 255.0: floats in [0, 255]
    stride: int = 4                 # input sides are padded to a multiple of this
    min_size: int = 16              # smaller inputs are padded up to this
    info: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def title(self) -> str:
        return str(self.info.get("title", self.name))

    @property
    def role(self) -> str:
        """``style`` for image-to-image models; ``style_predictor`` for a picture -> style vector model."""
        return str(self.info.get("role", "style"))

    def summary(self) -> str:
        """For listings: name, title, cost; then one line per named style a mixable model holds."""
        i = self.info
        macs, params, training = i.get("macs_per_pixel"), i.get("params"), i.get("training", {})
        facts = [i.get("size_class"), f"{macs / 1000:.1f}k MAC/px" if macs else "MAC/px unknown",
                 f"{params / 1e6:.2f}M params" if params else None,
                 f"{self.path.stat().st_size / 1e6:.1f} MB" if self.path.is_file() else None,
                 f"{training['steps_done']} training steps" if "steps_done" in training else None]
        lines = [f"{self.name:<24} {self.title}: " + ", ".join(f for f in facts if f),
                 f"  {i.get('architecture', 'unknown architecture')}"]
        if i.get("style_image"):
            lines.append(f"  style image {i['style_image']} ({i.get('style_credit', 'credit unrecorded')}; "
                         f"{i.get('style_status', 'status unrecorded')})")
        for spec in self.info.get("inputs", {}).values():
            for i, label in enumerate(spec.get("labels", [])):
                look = f": {label['look']}" if label.get("look") else ""
                lines.append(f"  {self.name}:{i:<3} {label['name']:<20} {label.get('title', '')}{look}")
            for preset in spec.get("presets", {}):
                lines.append(f"  {self.name}:{preset}")
        return "\n".join(lines)


def shipped_dir() -> Path:
    """Models shipped with the package (installed as ``rtstyle/_models``, or ``models/`` in a checkout)."""
    installed = Path(__file__).parent / "_models"
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "models"


def user_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "rtstyle" / "models"


def cache_dir() -> Path:
    """Per-user cache of rtstyle (TensorRT engines, style vectors): ``$XDG_CACHE_HOME/rtstyle``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rtstyle"


def search_path() -> list[Path]:
    extra = [Path(p) for p in os.environ.get("RTSTYLE_MODEL_PATH", "").split(os.pathsep) if p]
    return [*extra, user_dir(), shipped_dir()]


def read_card(path: str | Path) -> ModelCard:
    """Read the card of an ONNX model; a model without one gets defaults named after the file."""
    path = Path(path)
    if path.is_dir():
        raise ModelError(f"{path.name} is a folder, not a model file: {path}")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 4
    try:
        meta = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).get_modelmeta()
    except Exception as e:  # ORT raises several unrelated types for a bad file
        raise ModelError(f"{path.name} is not a usable ONNX model ({_first_line(e)})") from None
    return card_from_metadata(path, meta.custom_metadata_map)


def card_from_metadata(path: Path, props: dict[str, str]) -> ModelCard:
    try:
        info = json.loads(props.get(CARD_KEY, "{}"))
    except json.JSONDecodeError as e:
        raise ModelError(f"{path.name}: model card is not valid JSON ({e})") from None
    return ModelCard(
        name=info.get("name", path.stem),
        path=path,
        layout=info.get("layout", "NCHW"),
        value_range=float(info.get("value_range", 1.0)),
        stride=int(info.get("stride", 4)),
        min_size=int(info.get("min_size", 16)),
        info=info,
    )


def list_models() -> list[ModelCard]:
    """All models on the search path; an earlier folder shadows a later one of the same name."""
    seen: dict[str, ModelCard] = {}
    for folder in search_path():
        for f in sorted(folder.glob("*.onnx")) if folder.is_dir() else []:
            try:
                card = read_card(f)
            except ModelError:
                continue  # a broken file in a user folder must not hide the others
            seen.setdefault(card.name, card)
    return list(seen.values())


def list_styles() -> list[ModelCard]:
    """The style models on the search path: helper networks (a style predictor) left out."""
    return [c for c in list_models() if c.role == "style"]


def cost(card: ModelCard) -> float:
    """Work per frame pixel from the card: MACs per pixel at the model's own internal scale
    (infinite when the card does not say)."""
    macs = card.info.get("macs_per_pixel")
    return float(macs) * float(card.info.get("internal_scale", 1.0)) ** 2 if macs else float("inf")


def by_cost(cards: list[ModelCard]) -> list[ModelCard]:
    """Cheapest first (then by name): the first is the fastest to run."""
    return sorted(cards, key=lambda c: (cost(c), c.name))


def find_model(style: str | Path) -> ModelCard:
    """Resolve a style given as a path to an ``.onnx`` file or as a model name."""
    p = Path(style)
    if p.suffix == ".onnx" or p.exists():
        return read_card(p)
    for folder in search_path():
        candidate = folder / f"{style}.onnx"
        if candidate.is_file():
            return read_card(candidate)
    models = list_models()
    for card in models:
        if card.name == style:
            return card
    names = ", ".join(sorted(c.name for c in models if c.role == "style")) or "none"
    raise StyleNotFoundError(f"unknown style '{style}' (available: {names})")


def split_style(style: str | Path) -> tuple[ModelCard, str | None]:
    """Resolve ``MODEL``, ``MODEL:STYLE`` (a named style or index inside a mixable model) or a bare
    ``STYLE`` name that one mixable model holds; returns the card and the inner style, if any."""
    try:
        return find_model(style), None
    except StyleNotFoundError:
        if isinstance(style, Path):
            raise
        model, sep, inner = style.rpartition(":")
        if sep and model and not Path(style).exists():
            return find_model(model), inner
        for card in list_models():
            for spec in card.info.get("inputs", {}).values():
                if style in [lab["name"] for lab in spec.get("labels", [])] or style in spec.get("presets", {}):
                    return card, style
        raise


def _first_line(e: BaseException) -> str:
    """The exception's message made one line (ORT spreads the useful part over several), shortened."""
    text = " ".join(str(e).split())
    return (text[:297] + "...") if len(text) > 300 else text or type(e).__name__
