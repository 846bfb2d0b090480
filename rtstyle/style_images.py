"""Any picture as a style: the style predictor network and its on-disk cache of style vectors.

Magenta's arbitrary stylization (Ghiasi et al. 2017) splits into a predictor (picture ->
100-d style vector) and a transformer (content + vector -> stylized). The predictor runs
once per style picture; its vectors are cached by the picture's content hash (and the
predictor file's hash) under ``$XDG_CACHE_HOME/rtstyle/style_vectors``, so a style folder
is instant the second time and a renamed file is still recognised.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from rtstyle import frames
from rtstyle.engine import Engine
from rtstyle.errors import ModelError, SourceError, StyleMixError
from rtstyle.models import cache_dir, find_model
from rtstyle.sequences import files_in
from rtstyle.sources import IMAGE_SUFFIXES, read_image

ARBITRARY = "arbitrary"  # the shipped model that --style-image uses unless --style names another


def file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def style_image_files(path: str | Path) -> list[Path]:
    """A picture, or the pictures in a folder (sorted by name) for cycling through live."""
    p = Path(path)
    if p.is_dir():
        files = files_in(p, IMAGE_SUFFIXES)
        if not files:
            raise SourceError(f"no style pictures ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {p}")
        return files
    if not p.is_file():
        raise SourceError(f"style picture not found: {p}")
    return [p]


def parse_style_images(args: Sequence[str], folders: bool = True) -> dict[Path, float]:
    """``PICTURE`` or ``PICTURE=WEIGHT`` arguments -> {picture: weight}, checked to exist.

    ``folders=False`` (offline commands) refuses folders: cycling through a folder of
    styles is a live feature, a render would silently use only its first picture.
    """
    out: dict[Path, float] = {}
    for arg in args:
        path, weight = Path(arg), 1.0
        head, sep, tail = arg.rpartition("=")
        if not path.exists() and sep:
            try:
                path, weight = Path(head), float(tail)
            except ValueError:
                pass
        if not np.isfinite(weight) or weight < 0:
            raise StyleMixError(f"style picture weight must be a non-negative number, got {arg}")
        if path.is_dir() and not folders:
            raise SourceError(f"{path} is a folder: cycling through style pictures is for live mode; "
                              "give picture files here (repeat --style-image to blend them)")
        style_image_files(path)
        out[path] = out.get(path, 0.0) + weight
    return out


class StylePredictor(Engine):
    """Picture -> style vector: the whole picture with its short side at ``size`` pixels.

    Magenta's ``style_image_size``: the predictor sees strokes at the scale they have in a
    picture of that size, so a larger size reads a painting's finer brushwork. 256 (the
    network's training size) is the default.
    """

    SIZE = 256
    MAX_ASPECT = 2.0  # longer pictures are centre-cropped to 2:1 so a panorama cannot blow up the input

    def __init__(self, model: str | Path, providers: str | list[str] = "auto", threads: int | None = None,
                 cache: bool = True):
        super().__init__(find_model(model).path, providers=providers, threads=threads)
        self.cache = cache
        self._model_hash = file_hash(self.path)[:16]

    def _check_signature(self) -> None:
        image, out = self.session.get_inputs()[0], self.session.get_outputs()[0]
        if self.card.role != "style_predictor" or len(image.shape) != 4 or image.shape[3] != 3:
            raise ModelError(f"{self.path.name} is not a style predictor (role {self.card.role}, input {image.shape})")
        self.input_name, self.output_name = image.name, out.name

    def run(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x})[0].reshape(-1)

    def vector(self, rgb: np.ndarray, size: int = SIZE) -> np.ndarray:
        """Style vector of an RGB uint8 picture resized so that its short side is ``size``."""
        rgb = frames.as_rgb(rgb)
        h, w = rgb.shape[:2]
        ch, cw = min(h, round(w * self.MAX_ASPECT)), min(w, round(h * self.MAX_ASPECT))
        top, left = (h - ch) // 2, (w - cw) // 2
        rgb = rgb[top:top + ch, left:left + cw]
        scale = size / min(ch, cw)
        out_size = (max(1, round(cw * scale)), max(1, round(ch * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        rgb = cv2.resize(rgb, out_size, interpolation=interp)
        x = rgb.astype(np.float32)[None] * (self.card.value_range / 255.0)
        return self.run(np.ascontiguousarray(x))

    def cache_path(self, picture: Path) -> Path:
        return cache_dir() / "style_vectors" / f"{file_hash(picture)}-{self._model_hash}.npy"

    def vector_of_file(self, picture: str | Path) -> np.ndarray:
        """Style vector of a picture file, from the cache when this predictor has seen its bytes before."""
        picture = Path(picture)
        if not self.cache:
            return self.vector(read_image(picture))
        cached = self.cache_path(picture)
        if cached.is_file():
            try:
                return np.load(cached).astype(np.float32)
            except (OSError, ValueError):
                pass  # a damaged cache entry is recomputed and replaced
        vec = self.vector(read_image(picture))
        _save_atomically(cached, vec)
        return vec


def _save_atomically(path: Path, vec: np.ndarray) -> None:
    """Write via a temporary file and rename, so concurrent runs never read half a file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    except OSError:
        return  # a read-only cache only costs speed
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, vec)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
