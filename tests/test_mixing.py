"""The shipped Magenta networks: 26 mixable styles, any picture as style, cross-fades.

Real photos (tests/data/messi5.jpg) through the shipped ONNX files in models/; style
pictures are small copies of two public-domain paintings.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import rtstyle
from rtstyle.cli import main
from rtstyle.errors import ModelError, SourceError, StyleMixError, StyleNotFoundError
from rtstyle.mixing import Crossfade, parse_mix
from rtstyle.models import find_model
from rtstyle.sources import read_image
from rtstyle.style_images import StylePredictor, parse_style_images


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Style vectors are cached under $XDG_CACHE_HOME: keep each test's cache its own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture(scope="module")
def photo(data: Path) -> np.ndarray:
    return read_image(data / "messi5.jpg")


@pytest.fixture(scope="module")
def multi() -> rtstyle.Stylizer:
    return rtstyle.load_style("multistyle26", threads=1)


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def one_hot(i: int) -> np.ndarray:
    return np.eye(26, dtype=np.float32)[i]


def painted(style: rtstyle.Stylizer, name: str | int, photo: np.ndarray) -> np.ndarray:
    style.select(name, fade_seconds=0)
    return style(photo)


def test_shipped_cards_carry_licence_credit_and_named_styles():
    for name in ("multistyle26", "arbitrary", "arbitrary_predict"):
        info = find_model(name).info
        assert "Apache-2.0" in info["license"] and "2017" in info["credit"]
    spec = find_model("multistyle26").info["inputs"]["style_weights"]
    names = [label["name"] for label in spec["labels"]]
    assert len(names) == len(set(names)) == 26 and spec["shape"] == [26]
    assert find_model("arbitrary").info["inputs"]["style_vector"]["predictor"] == "arbitrary_predict"


def test_each_of_the_26_styles_paints_differently(multi: rtstyle.Stylizer, photo: np.ndarray):
    outs = []
    for i in range(26):
        multi.set_vector(one_hot(i), 0)
        outs.append(multi(photo))
    closest = min(diff(outs[i], outs[j]) for i in range(26) for j in range(i))
    assert closest > 8.0, f"two styles give nearly the same picture (mean abs diff {closest:.2f})"
    assert min(diff(o, photo) for o in outs) > 10.0


def test_one_hot_vector_name_index_and_cli_agree(multi: rtstyle.Stylizer, photo: np.ndarray, data: Path,
                                                 tmp_path: Path):
    multi.set_vector(one_hot(7) * 3.0, 0)  # any positive scale is the same style once normalised
    by_vector = multi(photo)
    by_name = rtstyle.load_style("night_fauve", threads=1)
    assert by_name.current_style == "night_fauve" and by_name.label == "multistyle26:night_fauve"
    np.testing.assert_array_equal(by_name(photo), by_vector)
    np.testing.assert_array_equal(rtstyle.load_style("multistyle26:7", threads=1)(photo), by_vector)
    out = tmp_path / "cli.png"
    result = CliRunner().invoke(main, ["image", str(data / "messi5.jpg"), str(out), "--style",
                                       "multistyle26:night_fauve", "--threads", "1"])
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(read_image(out), by_vector)


def test_blend_lies_between_its_endpoints(multi: rtstyle.Stylizer, photo: np.ndarray):
    a, b = painted(multi, 7, photo), painted(multi, 19, photo)
    multi.set_mix("7=0.5,19=0.5", 0)
    np.testing.assert_allclose(multi.vector, 0.5 * one_hot(7) + 0.5 * one_hot(19))
    assert multi.current_style is None and multi.label == "multistyle26:mix"
    mid = multi(photo)
    span = diff(a, b)
    assert diff(mid, a) < span and diff(mid, b) < span
    path = []
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        multi.set_mix({7: 1 - t, 19: t}, 0)
        path.append(diff(multi(photo), a))
    assert path[0] == 0 and all(x < y for x, y in zip(path, path[1:])), path


@pytest.mark.parametrize("vector, message", [
    (np.ones(25), "must have 26 values, got 25"),
    (np.r_[np.nan, np.ones(25)], "must be finite"),
    (np.r_[-0.5, np.ones(25)], "must not be negative"),
    (np.zeros(26), "must not all be zero"),
    ("abc", "must be numbers"),
])
def test_bad_weight_vectors_are_rejected(multi: rtstyle.Stylizer, vector, message: str):
    before = multi.target.copy()
    with pytest.raises(StyleMixError, match=message):
        multi.set_vector(vector)
    np.testing.assert_array_equal(multi.target, before)  # a rejected vector changes nothing


def test_bad_mixes_are_rejected_with_one_line_errors(data: Path, tmp_path: Path):
    assert parse_mix("7=0.6, 19=0.4,7") == {"7": 1.6, "19": 0.4}
    for spec, message in [("7=x", "bad weight"), ("7=-1", "non-negative"), ("", "empty mix"), ("7=0", "all be zero")]:
        with pytest.raises(StyleMixError, match=message):
            rtstyle.load_style("multistyle26", mix=spec)
    with pytest.raises(StyleNotFoundError, match="out of range 0-25"):
        rtstyle.load_style("multistyle26:26")
    with pytest.raises(StyleNotFoundError, match="unknown style 'nope'.*sunlit_pastel"):
        rtstyle.load_style("multistyle26", mix="nope=1")
    runner = CliRunner()
    for args, message in [(["--style", "multistyle26", "--mix", "7=nan"], "non-negative numbers"),
                          (["--style", "multistyle26", "--style-image", str(data / "wave_256.jpg")], "cannot take"),
                          (["--style", "arbitrary_predict"], "style predictor, not a style model")]:
        result = runner.invoke(main, ["image", str(data / "messi5.jpg"), str(tmp_path / "x.png"), *args])
        assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
        assert result.output.count("\n") <= 2 and not (tmp_path / "x.png").exists()


def test_single_style_model_refuses_mixing(tiny_model: Path):
    with pytest.raises(StyleMixError, match="single style"):
        rtstyle.load_style(tiny_model, mix="0=1")
    style = rtstyle.load_style(tiny_model)
    assert style.styles == [] and style.label == "tiny"
    with pytest.raises(StyleMixError, match="single style"):
        style.step()


def test_crossfade_moves_the_vector_not_the_image():
    now = [0.0]
    fade = Crossfade(np.array([1.0, 0.0], np.float32), clock=lambda: now[0])
    fade.to(np.array([0.0, 1.0], np.float32), seconds=2.0)
    values = []
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0):
        now[0] = t
        values.append(fade.value()[1])
    assert values[0] == 0.0 and values[2] == pytest.approx(0.5) and values[-2] == values[-1] == 1.0
    assert all(x < y for x, y in zip(values[:5], values[1:5]))  # eased, but always moving forward
    fade.to(np.array([1.0, 0.0], np.float32), seconds=2.0)
    now[0] += 1.0
    middle = fade.value()
    fade.to(np.array([0.0, 1.0], np.float32), seconds=2.0)  # change of mind mid-fade: no jump
    np.testing.assert_allclose(fade.value(), middle)
    assert not fade.done
    with pytest.raises(StyleMixError, match="cross-fade time"):
        fade.to(middle, -1)


def test_stylizer_cross_fades_through_the_26_styles(photo: np.ndarray):
    now = [10.0]
    style = rtstyle.load_style("multistyle26:0", threads=1, fade_seconds=1.0, clock=lambda: now[0])
    start = style(photo)
    assert style.step() == "black_outline" and style.current_style == "black_outline"
    np.testing.assert_array_equal(style(photo), start)  # the fade has not started moving yet
    now[0] += 0.5
    halfway = style.vector
    assert halfway[0] == pytest.approx(0.5) and halfway[1] == pytest.approx(0.5)
    mid = style(photo)
    now[0] += 0.5
    end = style(photo)
    assert diff(mid, start) > 3 and diff(mid, end) > 3
    np.testing.assert_array_equal(end, rtstyle.load_style("black_outline", threads=1)(photo))
    assert style.step(-1, fade_seconds=0) == "sunlit_pastel"
    assert style.step(-1, fade_seconds=0) == "patchwork"  # wraps around


def test_style_vector_is_deterministic_and_cached(data: Path, tmp_path: Path, private_cache: Path):
    fresh = StylePredictor("arbitrary_predict", threads=1, cache=False)
    picture = data / "wave_256.jpg"
    v1, v2 = fresh.vector_of_file(picture), fresh.vector_of_file(picture)
    assert v1.shape == (100,) and np.isfinite(v1).all()
    np.testing.assert_array_equal(v1, v2)
    assert not private_cache.exists()

    cached = StylePredictor("arbitrary_predict", threads=1)
    np.testing.assert_array_equal(cached.vector_of_file(picture), v1)
    entry = cached.cache_path(picture)
    assert entry.is_file() and entry.parent == private_cache / "rtstyle" / "style_vectors"
    np.save(entry, np.full(100, 0.25, np.float32))  # prove the second call reads the cache, not the net
    np.testing.assert_array_equal(cached.vector_of_file(picture), np.full(100, 0.25, np.float32))
    renamed = tmp_path / "renamed.jpg"
    shutil.copy(picture, renamed)
    assert cached.cache_path(renamed) == entry  # keyed by content, not by name
    entry.write_bytes(b"damaged")
    np.testing.assert_array_equal(cached.vector_of_file(picture), v1)  # a damaged entry is recomputed


def test_style_pictures_blend_by_vector(data: Path, photo: np.ndarray):
    wave, starry = data / "wave_256.jpg", data / "starry_night_256.jpg"
    style = rtstyle.load_style("arbitrary", threads=1, style_images={wave: 0.25, starry: 0.75})
    vw, vs = style.palette["wave_256.jpg"], style.palette["starry_night_256.jpg"]
    assert not np.allclose(vw, vs)
    np.testing.assert_allclose(style.vector, 0.25 * vw + 0.75 * vs, rtol=1e-5, atol=1e-6)
    blend = style(photo)
    ends = [painted(style, n, photo) for n in ("wave_256.jpg", "starry_night_256.jpg")]
    assert diff(blend, ends[1]) < diff(blend, ends[0]) < diff(ends[0], ends[1])
    np.testing.assert_array_equal(rtstyle.load_style("arbitrary", threads=1, style_images=[wave])(photo), ends[0])


def test_arbitrary_transformer_takes_any_frame_size(data: Path):
    style = rtstyle.load_style("arbitrary:starry_night", threads=1)
    assert style.card.layout == "NHWC"
    for h, w in [(203, 317), (384, 384), (90, 500)]:
        img = read_image(data / "rubberwhale1.png")[:h, :w]
        out = style(img)
        assert out.shape == img.shape and diff(out, img) > 10


def test_identity_strength_moves_toward_the_frames_own_style(data: Path, photo: np.ndarray):
    style = rtstyle.load_style("arbitrary", threads=1, style_images=[data / "wave_256.jpg"])
    full = style(photo)
    style.strength = 0.0
    own = style(photo)
    assert diff(own, photo) < diff(full, photo)
    np.testing.assert_allclose(style.frame_vector(photo), style.predictor.vector(photo))
    style.strength = 0.5
    half = style(photo)
    assert diff(half, full) < diff(own, full) and diff(half, own) < diff(own, full)


def test_a_folder_of_style_pictures_is_a_palette_to_step_through(data: Path, tmp_path: Path):
    folder = tmp_path / "styles"
    folder.mkdir()
    for name in ("wave_256.jpg", "starry_night_256.jpg"):
        shutil.copy(data / name, folder / name)
    (folder / "notes.txt").write_text("not a picture")
    (folder / "._wave_256.jpg").write_bytes(b"\0\5\26\7")  # macOS's AppleDouble file on an exFAT drive: hidden
    style = rtstyle.load_style("arbitrary", threads=1, style_images=[folder])
    assert style.current_style == "starry_night_256.jpg"  # a folder starts at its first picture
    assert style.step(fade_seconds=0) == "wave_256.jpg"
    assert style.styles[-2:] == ["starry_night_256.jpg", "wave_256.jpg"]  # after the shipped presets
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(SourceError, match="no style pictures"):
        rtstyle.load_style("arbitrary", style_images=[empty])


def test_style_image_arguments(data: Path, tmp_path: Path):
    wave = data / "wave_256.jpg"
    assert parse_style_images([str(wave), f"{wave}=0.5"]) == {wave: 1.5}
    with pytest.raises(SourceError, match="not found"):
        parse_style_images([str(tmp_path / "missing.jpg")])
    with pytest.raises(SourceError, match="live mode"):
        parse_style_images([str(data)], folders=False)
    with pytest.raises(StyleMixError, match="non-negative"):
        parse_style_images([f"{wave}=-1"])


def test_cli_style_image_render_keeps_audio(data: Path, tmp_path: Path):
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(out), "--threads", "1",
                                       "--style-image", str(data / "wave_256.jpg"), "--strength", "0.8"])
    assert result.exit_code == 0, result.output
    assert "style arbitrary:wave_256.jpg" in result.output and "30 frames" in result.output


def test_styles_listing_names_the_26_styles():
    result = CliRunner().invoke(main, ["models"])
    assert result.exit_code == 0
    assert "multistyle26:19  starry_blue" in result.output and "arbitrary:starry_night" in result.output
    with pytest.raises(ModelError, match="not a style model"):
        rtstyle.load_style("arbitrary_predict")


def test_a_painters_styles_of_one_model_share_it_and_fade_into_each_other(photo: np.ndarray, tiny_model: Path):
    """Live's n/p between two of multistyle26's styles: one model loaded, and the change fades
    over fade_seconds (half way, the vector is half of each); after another model's style, the
    change is at once (a fade from what that model painted long before would show it)."""
    from rtstyle.painter import Look, Painter

    now = [0.0]
    painter = Painter({"a": "multistyle26:0", "b": "multistyle26:1", "tiny": str(tiny_model)}, threads=1,
                      fade_seconds=1.0, clock=lambda: now[0])
    first = painter.paint(photo, Look("a"))
    model = painter.stylizer("a")
    np.testing.assert_allclose(model.vector, one_hot(0), atol=1e-6)  # the first style at once
    assert painter.stylizer("b") is model
    now[0] = 0.5
    np.testing.assert_allclose(model.vector, 0.5 * one_hot(0) + 0.5 * one_hot(1), atol=1e-6)
    halfway = painter.paint(photo, Look("b"))
    now[0] = 1.0
    second = painter.paint(photo, Look("b"))
    assert diff(halfway, first) > 1 and diff(halfway, second) > 1 and diff(first, second) > diff(halfway, first)
    painter.paint(photo, Look("tiny"))
    painter.paint(photo, Look("a"))
    np.testing.assert_allclose(model.vector, one_hot(0), atol=1e-6)
