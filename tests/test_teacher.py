"""The teacher (arbitrary network + a painting's vector + knobs) and its baked quality tier."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest

from rtstyle import frames
from rtstyle.models import find_model
from rtstyle.sources import read_image
from rtstyle.style_images import StylePredictor
from rtstyle.stylizer import Stylizer
from rtstyle.teacher import PHOTO_VECTOR, PREDICTOR, Knobs, Vectors, style_vector, teacher

onnx = pytest.importorskip("onnx")
from tools.bake import bake, card, write  # noqa: E402
from tools.zoo import ZOO  # noqa: E402


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2)))


@pytest.fixture(scope="module")
def predictor() -> StylePredictor:
    return StylePredictor(PREDICTOR, providers="cpu", threads=1, cache=False)


@pytest.fixture(scope="module")
def photo(data: Path) -> np.ndarray:
    return cv2.resize(read_image(data / "messi5.jpg"), (256, 160), interpolation=cv2.INTER_AREA)


def test_style_size_reads_the_painting_at_another_scale(data: Path, predictor: StylePredictor):
    painting = read_image(data / "starry_night_256.jpg")
    small, large = (predictor.vector(painting, s) for s in (128, 512))
    assert np.linalg.norm(small - large) > 0.05 * np.linalg.norm(small)
    np.testing.assert_allclose(predictor.vector(painting), predictor.vector(painting, 256))


def test_style_weight_moves_toward_the_photo_vector(data: Path, predictor: StylePredictor):
    painting = read_image(data / "starry_night_256.jpg")
    photo_vec = predictor.vector(read_image(data / "messi5.jpg"))
    full = style_vector(predictor, painting, Knobs(256, 1.0))
    np.testing.assert_allclose(style_vector(predictor, painting, Knobs(256, 0.0), photo_vec), photo_vec, rtol=1e-6)
    np.testing.assert_allclose(style_vector(predictor, painting, Knobs(256, 0.75), photo_vec),
                               0.75 * full + 0.25 * photo_vec, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError):
        Knobs(256, 1.5)


def test_vectors_blend_with_the_stored_photo_vector_only_when_a_knob_asks(data: Path, predictor: StylePredictor):
    """One helper for every tool: the blend equals the knob's arithmetic on vectors read here, toward the
    stored photo vector (the one the shipped models were baked with) unless another is given."""
    painting = read_image(data / "starry_night_256.jpg")
    full = Vectors(threads=1)(painting, Knobs(384, 1.0))
    np.testing.assert_allclose(full, predictor.vector(painting, 384), rtol=1e-6)
    stored = np.load(PHOTO_VECTOR)
    assert stored.shape == full.shape and np.linalg.norm(stored - full) > 0.1 * np.linalg.norm(full)
    np.testing.assert_allclose(Vectors(threads=1)(painting, Knobs(384, 0.6)), 0.6 * full + 0.4 * stored,
                               rtol=1e-5, atol=1e-6)
    mine = predictor.vector(read_image(data / "messi5.jpg"))
    np.testing.assert_allclose(Vectors(threads=1, photo=mine)(painting, Knobs(384, 0.6)), 0.6 * full + 0.4 * mine,
                               rtol=1e-5, atol=1e-6)


def test_baked_model_paints_what_the_teacher_paints(data: Path, tmp_path: Path, predictor: StylePredictor,
                                                   photo: np.ndarray):
    """Float32 bake against the int8 teacher run with the same vector through its style input."""
    knobs = Knobs(256, 0.8)
    vector = style_vector(predictor, read_image(data / "wave_256.jpg"), knobs, predictor.vector(photo))
    model = bake(vector)
    ops = {n.op_type for n in model.graph.node}
    assert not ops & {"QuantizeLinear", "DequantizeLinear"}
    assert all(t.data_type == onnx.TensorProto.FLOAT for t in model.graph.initializer if len(t.dims) == 4)
    path = tmp_path / "new_folder" / "wave_test.onnx"  # bake makes the folder
    write(model, card("wave_test", "Wave test", "wave_256.jpg", "Hokusai", "public domain", knobs, "test", model), path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert inp.name == "image" and inp.shape[:2] == [1, 3] and out.shape[:2] == [1, 3]
    baked = Stylizer(path, providers="cpu", threads=1)(photo)
    reference = teacher(vector, threads=1)(photo)
    assert psnr(baked, reference) > 24  # what int8 rounding leaves; another style's vector is far below
    other = teacher(predictor.vector(read_image(data / "starry_night_256.jpg")), threads=1)(photo)
    assert psnr(other, reference) < 18
    info = Stylizer(path, providers="cpu", threads=1).card.info
    assert info["teacher"]["style_weight"] == 0.8 and info["teacher"]["style_size"] == 256
    assert "Apache-2.0" in info["license"] and info["macs_per_pixel"] > 10_000


def test_shipped_quality_models_record_their_knobs():
    for s in ZOO:
        info = find_model(s.name).info
        assert info["size_class"] == "quality" and info["style_image"] == s.picture
        assert {k: info["teacher"][k] for k in ("style_size", "style_weight")} == s.knobs.to_dict()
        assert "Magenta" in info["architecture"] and "Apache-2.0" in info["license"]


def test_quality_tier_keeps_options_working(photo: np.ndarray):
    plain = Stylizer("candy", providers="cpu", threads=1)(photo)
    half = Stylizer("candy", providers="cpu", threads=1, strength=0.5)(photo)
    np.testing.assert_allclose(half, frames.blend(plain, photo, 0.5), atol=1)  # the blend every single-style model gets
    assert np.abs(half.astype(int) - plain).mean() > 5
    grey = lambda im: cv2.cvtColor(im, cv2.COLOR_RGB2YUV)[..., 1:].astype(float)  # noqa: E731
    kept = Stylizer("candy", providers="cpu", threads=1, keep_colours=True)(photo)
    assert np.abs(grey(kept) - grey(photo)).mean() < 0.5 * np.abs(grey(plain) - grey(photo)).mean()


def test_quality_tier_converts_to_fp16():
    """Float32 weights, so the GPU path's fp16 copy converts and paints the same (run here on the CPU)."""
    from rtstyle.precision import to_fp16

    path = find_model("wave").path
    fp16 = onnx.load_from_string(to_fp16(path))
    assert sum(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer) > 20
    x = np.random.default_rng(0).random((1, 3, 96, 128), dtype=np.float32)
    half = ort.InferenceSession(fp16.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    full = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"image": x})[0]
    assert 10 * np.log10(1 / np.mean((half - full) ** 2)) > 50
