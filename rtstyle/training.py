"""``rtstyle train`` without PyTorch: check the request, find the content, choose the folders.

The training itself is tools/distil.py (the ``[train]`` extra); everything a user can get
wrong is checked here first, so a bad picture or name costs a one-line error, not a
PyTorch import.

Content pictures: the set shipped with the package, or the user's.

The default set (``rtstyle/content``, 30 JPEG crops of 320 px) was cut by
tools/prepare_content.py from OpenCV's BSD-licensed sample photos and frames of its
Megamind clip, none of them a photo of the quality report. ``--content`` takes folders of
pictures and video files instead: a style distilled on the footage it will paint fits it best.
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

from rtstyle.errors import SinkError, SourceError
from rtstyle.models import cache_dir, user_dir
from rtstyle.sources import VideoFileSource, read_image
from rtstyle.style_images import IMAGE_SUFFIXES, file_hash
from rtstyle.teacher import Knobs, read_painting

CONTENT_DIR = Path(__file__).parent / "content"
MIN_SIDE = 64         # smaller pictures hold nothing to crop
FRAMES_PER_VIDEO = 24  # spread evenly over the video


def default_content() -> list[np.ndarray]:
    return load_content([CONTENT_DIR])


def load_content(paths: Sequence[str | Path], frames_per_video: int = FRAMES_PER_VIDEO) -> list[np.ndarray]:
    """RGB uint8 pictures from folders, picture files and video files (frames spread evenly).

    Unreadable files inside a folder are skipped; a named file that cannot be read, or no
    usable picture at all, is a one-line :class:`SourceError`."""
    out: list[np.ndarray] = []
    for path in map(Path, paths):
        if path.is_dir():
            for f in sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                try:
                    out.append(read_image(f))
                except SourceError:
                    continue
        elif path.suffix.lower() in IMAGE_SUFFIXES:
            out.append(read_image(path))
        else:
            out.extend(video_frames(path, frames_per_video))
    out = [p for p in out if min(p.shape[:2]) >= MIN_SIDE]
    if not out:
        raise SourceError(f"no content pictures of at least {MIN_SIDE} px in {', '.join(map(str, paths))}")
    return out


def video_frames(path: Path, n: int) -> list[np.ndarray]:
    """About ``n`` frames spread over a video, holding at most ``2 n`` in memory however long it is."""
    kept: list[np.ndarray] = []
    step = 1
    with VideoFileSource(path, reference=False) as source:
        for i, frame in enumerate(source.frames()):
            if i % step == 0:
                kept.append(frame.image)
                if len(kept) == 2 * n:  # the video is longer than guessed: keep every other, sample half as often
                    kept, step = kept[::2], step * 2
    return kept[::max(1, len(kept) // n)][:n]


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass
class TrainJob:
    """One ``rtstyle train`` request, checked on creation; :meth:`run` trains with the distil tool."""

    picture: Path
    name: str
    content_paths: Sequence[Path] = ()
    minutes: float = 12.0
    steps: int = 100_000
    style_size: int = 256
    style_weight: float = 1.0
    threads: int = 2
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

    @property
    def run_dir(self) -> Path:
        """Checkpoints of this exact request: the same command resumes, a changed one starts afresh."""
        key = json.dumps([file_hash(self.picture), [str(Path(p).resolve()) for p in self.content_paths],
                          self.knobs.to_dict()])
        return cache_dir() / "train" / f"{self.name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"

    def run(self, tool: ModuleType, vgg: Path | None = None) -> dict:
        """Train (or resume) and write the model with its card into the user model folder."""
        settings = tool.Settings(knobs=self.knobs.to_dict(), minutes=self.minutes, steps=self.steps,
                                 threads=self.threads)
        note = ("the user's content: " + ", ".join(Path(p).name for p in self.content_paths) if self.content_paths
                else "rtstyle's default content set (rtstyle/content)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return tool.distil(self.picture, self.out, self.run_dir, settings, self.content, note, vgg=vgg)
