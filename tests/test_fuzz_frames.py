"""Property-based tests of the frame path (hypothesis): any frame size, any accepted pixel
layout and any valid setting give back an RGB uint8 frame of the input's size, the same
one every time; what the library does not accept is refused with a ValueError that says
what it expected, never an OpenCV, NumPy or ONNX Runtime crash.

Examples are derandomized, so CI sees the same cases on every run.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rtstyle
from rtstyle import flow, frames, temporal

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
CHANNELS = {"grey": (), "rgb": (3,), "rgba": (4,)}


def view(array: np.ndarray, kind: str) -> np.ndarray:
    """The same pixels as a caller might hold them: flipped, strided or column-major views."""
    if kind == "flipped":
        return array[::-1, ::-1]
    if kind == "strided":
        return np.repeat(np.repeat(array, 2, axis=0), 2, axis=1)[::2, ::2]
    if kind == "fortran":
        return np.asfortranarray(array)
    return array


@st.composite
def clips(draw: st.DrawFn, max_side: int = 300) -> list[np.ndarray]:
    """Three frames of one size and layout, the later ones moved (so smoothing follows motion)."""
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    layout, kind = draw(st.sampled_from(sorted(CHANNELS))), draw(st.sampled_from(["plain", "flipped", "strided", "fortran"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # Blocky content (a photo has areas, not only noise) plus a little noise.
    blocks = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8)) + CHANNELS[layout], np.uint8)
    first = np.resize(np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1), (h, w) + CHANNELS[layout])
    first = np.clip(first.astype(np.int16) + rng.integers(-8, 9, first.shape), 0, 255).astype(np.uint8)
    dy, dx = draw(st.integers(-3, 3)), draw(st.integers(-3, 3))
    return [view(np.roll(first, (i * dy, i * dx), axis=(0, 1)), kind) for i in range(3)]


@st.composite
def settings_(draw: st.DrawFn) -> dict:
    return {"strength": draw(st.floats(0.0, 1.0)), "keep_colours": draw(st.booleans()),
            "scale": draw(st.sampled_from([1.0, 0.75, 0.5, 0.3, 0.1])),
            "mode": draw(st.sampled_from(temporal.MODES)),
            "smooth_strength": draw(st.floats(0.0, 0.99)), "deadband": draw(st.sampled_from([0.0, 0.5, 4.0, 50.0]))}


def run(model: Path, clip: list[np.ndarray], s: dict) -> list[np.ndarray]:
    """The render path for one frame sequence: stylize, then smooth against the input."""
    stylizer = rtstyle.load_style(model, threads=1, strength=s["strength"], keep_colours=s["keep_colours"],
                                  scale=s["scale"])
    smoother = temporal.make_smoother(s["mode"], s["smooth_strength"], s["deadband"])
    network = stylizer.infer(stylizer.preprocess(clip[0]))
    assert np.isfinite(network).all(), "the network's output has NaN or infinity"
    return [smoother(frames.as_rgb(f), stylizer(f)) for f in clip]


@SETTINGS
@given(clip=clips(), s=settings_())
def test_any_size_layout_and_setting_gives_a_frame_of_the_same_size_every_time(tiny_model: Path, clip, s):
    first = run(tiny_model, clip, s)
    h, w = clip[0].shape[:2]
    for out in first:
        assert out.shape == (h, w, 3) and out.dtype == np.uint8
    again = run(tiny_model, clip, s)
    assert all(np.array_equal(a, b) for a, b in zip(first, again)), "same input and settings, different output"
    if s["strength"] == 0.0 and s["mode"] == "none" and not s["deadband"]:
        assert np.array_equal(first[0], frames.as_rgb(clip[0])), "strength 0 must give back the input"


@SETTINGS
@given(sizes=st.lists(st.tuples(st.integers(1, 120), st.integers(1, 120)), min_size=2, max_size=6),
       mode=st.sampled_from(temporal.MODES), deadband=st.sampled_from([0.0, 3.0]))
def test_smoother_follows_a_stream_whose_size_changes(sizes: list[tuple[int, int]], mode: str, deadband: float):
    """A source switch or a resized camera: the smoother starts over instead of mixing sizes."""
    smoother = temporal.make_smoother(mode, 0.6, deadband)
    rng = np.random.default_rng(len(sizes))
    for h, w in sizes:
        for _ in range(2):
            original = rng.integers(0, 256, (h, w, 3), np.uint8)
            out = smoother(original, 255 - original)
            assert out.shape == (h, w, 3) and out.dtype == np.uint8


bad_dtypes = st.sampled_from([np.float32, np.float64, np.uint16, np.int8, np.int32, np.bool_])
bad_shapes = st.one_of(
    st.tuples(st.integers(1, 20), st.integers(1, 20), st.sampled_from([1, 2, 5, 6])),  # wrong channel count
    st.tuples(st.integers(1, 20)),  # a row, not an image
    st.tuples(st.integers(1, 4), st.integers(1, 20), st.integers(1, 20), st.just(3)),  # a batch
    st.tuples(st.just(0), st.integers(0, 20), st.just(3)),  # empty
    st.tuples(st.integers(1, 20), st.just(0)),  # empty grey
)


@SETTINGS
@given(frame=st.one_of(
    st.builds(lambda shape, dtype: np.zeros(shape, dtype), st.sampled_from([(5, 7, 3), (5, 7), (5, 7, 4)]), bad_dtypes),
    st.builds(lambda shape: np.zeros(shape, np.uint8), bad_shapes)))
def test_unacceptable_frames_are_refused_with_a_clear_message(tiny_model: Path, frame: np.ndarray):
    stylizer = rtstyle.load_style(tiny_model, threads=1)
    with pytest.raises(ValueError, match=r"^expected "):
        stylizer(frame)


@SETTINGS
@given(strength=st.one_of(st.floats(max_value=-1e-6), st.floats(min_value=1.000001), st.just(float("nan"))))
def test_strength_outside_zero_to_one_is_refused(tiny_model: Path, strength: float):
    with pytest.raises(ValueError, match="strength must be in"):
        rtstyle.load_style(tiny_model, threads=1, strength=strength)


@SETTINGS
@given(mode=st.sampled_from(temporal.MODES),
       strength=st.one_of(st.floats(max_value=-1e-6), st.floats(min_value=1.0), st.just(float("nan"))),
       deadband=st.one_of(st.floats(max_value=-1e-6), st.just(0.0)))
def test_smoothing_settings_outside_their_range_are_refused(mode: str, strength: float, deadband: float):
    with pytest.raises(ValueError, match="must be"):
        temporal.make_smoother(mode, strength, deadband)


@SETTINGS
@given(h=st.integers(1, 200), w=st.integers(1, 200), dx=st.integers(-2, 2))
def test_optical_flow_of_small_and_thin_images_has_their_size(h: int, w: int, dx: int):
    """DIS alone fails below 8 pixels and crashes the process on thin frames (16 x 100)."""
    a = np.random.default_rng(h * 1000 + w).integers(0, 256, (h, w), np.uint8)
    f = flow.dis()(a, np.roll(a, dx, axis=1))
    assert f.shape == (h, w, 2) and f.dtype == np.float32 and np.isfinite(f).all()
