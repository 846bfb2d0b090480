"""Content pictures to train on: folders, pictures, videos.

The default set (``rtstyle/content``, 32 JPEG crops of 320 px) was cut by
tools/prepare_content.py from OpenCV's BSD-licensed sample photos and frames of its
Megamind clip, none of them from the quality report's held-out photos or clip (until
2026-12-06 six crops were: tests/test_content_set.py now checks).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rtstyle.errors import SourceError
from rtstyle.sequences import files_in
from rtstyle.sources import IMAGE_SUFFIXES, VideoFileSource, read_image

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
            for f in files_in(path, IMAGE_SUFFIXES):
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
