"""Frame pre/post-processing: any size in, same size out; padding; colour handling."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

import rtstyle
from rtstyle import frames
from rtstyle.models import ModelCard
from rtstyle.sources import read_image


@pytest.mark.parametrize("h, w", [(181, 317), (1, 1), (2, 3), (7, 640), (360, 640), (33, 17)])
def test_any_size_comes_back_at_its_own_size(tiny_model: Path, data: Path, h: int, w: int):
    style = rtstyle.load_style(tiny_model)
    photo = cv2.cvtColor(cv2.imread(str(data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    img = cv2.resize(photo, (w, h), interpolation=cv2.INTER_AREA)
    out = style(img)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8


def test_padding_reaches_stride_and_crop_restores():
    card = ModelCard(name="t", path=Path("t.onnx"), stride=4, min_size=16)
    img = np.random.default_rng(0).integers(0, 256, (181, 317, 3), dtype=np.uint8)
    x = frames.to_tensor(img, card)
    assert x.shape == (1, 3, 184, 320) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    back = frames.from_tensor(x, card, 181, 317)
    assert np.array_equal(back, img)


def test_nhwc_layout_and_255_range():
    card = ModelCard(name="t", path=Path("t.onnx"), layout="NHWC", value_range=255.0, stride=1, min_size=1)
    img = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    x = frames.to_tensor(img, card)
    assert x.shape == (1, 5, 7, 3) and x.max() > 1
    assert np.array_equal(frames.from_tensor(x, card, 5, 7), img)


def test_grey_and_rgba_inputs_are_accepted():
    grey = np.full((4, 4), 100, np.uint8)
    rgba = np.zeros((4, 4, 4), np.uint8)
    assert frames.as_rgb(grey).shape == (4, 4, 3)
    assert frames.as_rgb(rgba).shape == (4, 4, 3)
    with pytest.raises(ValueError):
        frames.as_rgb(np.zeros((4, 4), np.float32))


def test_strength_and_colour_keeping(data: Path):
    img = cv2.cvtColor(cv2.imread(str(data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    painted = np.ascontiguousarray(img[:, :, ::-1])  # a "style" that swaps colours
    assert np.array_equal(frames.blend(painted, img, 0.0), img)
    assert np.array_equal(frames.blend(painted, img, 1.0), painted)
    kept = frames.keep_colours(painted, img)
    chroma = lambda a: cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)  # noqa: E731
    assert np.abs(chroma(kept) - chroma(img)).mean() < np.abs(chroma(painted) - chroma(img)).mean() / 3


def test_blend_keeps_contrast_and_colour_that_a_plain_rgb_mix_loses(data):
    """At 0.5 a plain RGB mix of two unrelated textures loses spread and colour; blend keeps them."""
    photo = read_image(data / "messi5.jpg")
    other = np.ascontiguousarray(photo[::-1, ::-1])  # same statistics, unrelated content
    mixed = frames.blend(other, photo, 0.5)
    plain = cv2.addWeighted(other, 0.5, photo, 0.5, 0.0)

    def spread_and_colour(img: np.ndarray) -> tuple[float, float]:
        ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        return float(ycc[..., 0].std()), float(np.abs(ycc[..., 1:] - 128).mean())

    want, got, lost = spread_and_colour(photo), spread_and_colour(mixed), spread_and_colour(plain)
    assert lost[0] < 0.9 * want[0] and abs(got[0] - want[0]) < 0.03 * want[0]
    assert lost[1] < 0.9 * want[1] and abs(got[1] - want[1]) < 0.05 * want[1]


def test_picture_box_finds_bars_that_frames_share(data: Path):
    """Bars are black in every frame looked at; a black frame says nothing; a dark but lit
    part of a picture (anything above BAR_MAX) is picture."""
    photo = read_image(data / "messi5.jpg")  # 320x200
    letterbox = np.zeros((240, 320, 3), np.uint8)
    letterbox[20:220] = photo
    pillarbox = np.zeros((200, 400, 3), np.uint8)
    pillarbox[:, 40:360] = photo
    assert frames.picture_box([letterbox, np.zeros_like(letterbox), letterbox]) == (0, 20, 320, 220)
    assert frames.picture_box([pillarbox]) == (40, 0, 360, 200)
    assert frames.picture_box([photo]) is None and frames.picture_box([np.zeros_like(photo)]) is None
    taller = letterbox.copy()
    taller[10:20] = photo[:10]  # another frame shows more of the picture: the box holds both
    assert frames.picture_box([letterbox, taller]) == (0, 10, 320, 220)
    night = letterbox.copy()
    night[:20] = 10
    night[:20, ::40] = 60  # a dark sky with stars in it is picture
    assert frames.picture_box([night]) == (0, 0, 320, 220)
