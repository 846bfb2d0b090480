"""The training content that ships with the package holds nothing of the quality report's held-out set.

The report scores students on photos and a clip held out from their training; until 2026-12-06 six
of the 30 default crops were cut from them (two from the photo megamind_0120, two from frame 180
of the clip, two from the shot of megamind_0200). Checked here by finding each crop in the
held-out pictures themselves: normalised cross-correlation over the scales a crop is cut at.
"""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from rtstyle.content_set import CONTENT_DIR
from tools.prepare_content import random_crops

REPORT = Path(__file__).resolve().parent.parent / "docs" / "quality"
SHORT = 132        # every held-out picture is searched at this short side (speed)
SAME_PICTURE = 0.9  # crops of a held-out picture score 0.99; the shipped crops at most ~0.81


def held_out() -> dict[str, np.ndarray]:
    """The report's photos and every 5th frame of its clip, grey, scaled to a short side of SHORT."""
    pictures = {p.stem: cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in sorted((REPORT / "photos").glob("*.jpg"))}
    with av.open(str(REPORT / "clip_megamind.mp4")) as clip:
        for i, frame in enumerate(clip.decode(video=0)):
            if i % 5 == 0:
                pictures[f"clip frame {i}"] = frame.to_ndarray(format="gray")
    return {k: cv2.resize(v, None, fx=SHORT / min(v.shape), fy=SHORT / min(v.shape), interpolation=cv2.INTER_AREA)
            for k, v in pictures.items()}


def best_match(crop: np.ndarray, pictures: dict[str, np.ndarray]) -> tuple[float, str]:
    """Highest correlation of the grey crop inside any picture, over the crop sides prepare_content
    cuts (a third of the short side to all of it)."""
    best = (-1.0, "")
    for name, picture in pictures.items():
        for side in np.geomspace(SHORT / 3, SHORT, 19).astype(int):
            template = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
            if side <= min(picture.shape):
                best = max(best, (float(cv2.matchTemplate(picture, template, cv2.TM_CCOEFF_NORMED).max()), name))
    return best


@pytest.fixture(scope="module")
def pictures() -> dict[str, np.ndarray]:
    return held_out()


def test_no_default_content_crop_comes_from_the_report(pictures: dict[str, np.ndarray]):
    crops = sorted(CONTENT_DIR.glob("*.jpg"))
    assert len(crops) >= 30
    found = {p.name: best_match(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), pictures) for p in crops}
    leaked = {name: match for name, match in found.items() if match[0] >= SAME_PICTURE}
    assert not leaked, f"default content crops cut from the report's held-out pictures: {leaked}"


def test_a_crop_cut_from_a_held_out_picture_is_found(pictures: dict[str, np.ndarray]):
    """The search finds what prepare_content would cut from a report photo and a clip frame."""
    rng = np.random.default_rng(0)
    photo = cv2.imread(str(REPORT / "photos" / "megamind_0120.jpg"))
    with av.open(str(REPORT / "clip_megamind.mp4")) as clip:
        frame = next(f for i, f in enumerate(clip.decode(video=0)) if i == 25).to_ndarray(format="bgr24")
    for source, name in ((photo, "megamind_0120"), (cv2.resize(frame, None, fx=2, fy=2), "clip frame 25")):
        for crop in random_crops(source, 2, 320, rng):
            score, where = best_match(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), pictures)
            assert score >= SAME_PICTURE and where == name, (score, where)
