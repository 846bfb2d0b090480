"""``rtstyle train`` without PyTorch: check the request, find the content, choose the folders.

The training itself is tools/distil.py (the ``[train]`` extra); everything a user can get
wrong is checked here first, so a bad picture or name costs a one-line error, not a
PyTorch import.

Content pictures (rtstyle.content_set): the set shipped with the package, or the user's
``--content``: a style distilled on the footage it will paint fits it best.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np

from rtstyle.content_set import default_content, load_content
from rtstyle.errors import SinkError, SourceError
from rtstyle.models import cache_dir, user_dir
from rtstyle.providers import usable_cores
from rtstyle.style_images import file_hash
from rtstyle.teacher import Knobs, read_painting

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass
class TrainJob:
    """One ``rtstyle train`` request, checked on creation; :meth:`run` trains with the distil tool.

    Its defaults are ``rtstyle train``'s (the CLI reads them from here)."""

    picture: Path
    name: str
    content_paths: Sequence[Path] = ()
    minutes: float = 12.0
    steps: int = 100_000
    style_size: int = 256
    # Magenta's interpolation weight toward the look of ordinary photos. At Magenta's 1.0 the teacher keeps
    # under 80 % of the quality report's faces on 10 of 15 pictures measured (none at all on one); at 0.6 on
    # 1 of 15, and it still paints in the picture's strokes (docs/teacher.md).
    style_weight: float = 0.6
    threads: int | None = None  # None: every core this process may use, as every default of rtstyle
    overwrite: bool = False
    content: list[np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise SourceError(f"style name '{self.name}' must be letters, digits, _ and - (at most 64)")
        read_painting(self.picture)
        self.knobs = Knobs(self.style_size, self.style_weight)
        self.content = load_content(self.content_paths) if self.content_paths else default_content()
        self.out = user_dir() / f"{self.name}.onnx"
        if self.out.exists() and not self.overwrite:
            raise SinkError(f"a style named {self.name} exists ({self.out}); give --overwrite to replace it")

    def run_dir(self, recipe: dict) -> Path:
        """Checkpoints of this exact request: the same command resumes (with a larger budget, it trains
        on); a changed request, a changed training recipe (another rtstyle's defaults) or changed content
        (photos added to the folder, another rtstyle's default set) starts afresh: the run's cache holds
        the teacher's paintings of the content it began with."""
        content = hashlib.sha256()
        for picture in self.content:
            content.update(np.ascontiguousarray(picture).data)
        key = json.dumps([file_hash(self.picture), content.hexdigest(), recipe], sort_keys=True)
        return cache_dir() / "train" / f"{self.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def run(self, tool: ModuleType, vgg: Path | None = None) -> dict:
        """Train (or resume) and write the model with its card into the user model folder."""
        settings = tool.Settings(knobs=self.knobs.to_dict(), minutes=self.minutes, steps=self.steps,
                                 threads=self.threads or usable_cores())
        note = ("the user's content: " + ", ".join(Path(p).name for p in self.content_paths) if self.content_paths
                else "rtstyle's default content set (rtstyle/content)")
        return tool.distil(self.picture, self.out, self.run_dir(settings.recipe()), settings, self.content, note,
                           vgg=vgg)
