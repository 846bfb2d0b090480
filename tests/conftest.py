"""Shared fixtures: real clips and small random-weight models from tests/data (no torch needed)."""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2  # noqa: F401  before av, as rtstyle/__init__.py explains
import av
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random-weight transformer net (tests/data/tiny.onnx, made by tools/make_test_data.py),
    copied to a folder of its own so a test can put that folder on the model search path."""
    return _copy_models(tmp_path_factory, "tiny")["tiny"]


@pytest.fixture(scope="session")
def two_styles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two visibly different random-weight styles (live style switching), exported like real ones."""
    return _copy_models(tmp_path_factory, "tiny", "other")


def _copy_models(tmp_path_factory: pytest.TempPathFactory, *names: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {n: Path(shutil.copy(DATA / f"{n}.onnx", folder / f"{n}.onnx")) for n in names}


def decode_video(path: Path) -> list[np.ndarray]:
    """RGB frames converted the way rtstyle's sources convert them (rtstyle.yuv)."""
    from rtstyle import yuv

    with av.open(str(path)) as c:
        return [yuv.to_rgb(f) for f in c.decode(video=0)]


def stream_info(path: Path) -> dict:
    """Frame count and durations (seconds) measured by decoding, not from headers."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(v)]
    info = {"frames": len(times), "video_duration": times[-1] - times[0] + (times[-1] - times[-2]) if len(times) > 1 else 0.0,
            "video_times": times, "audio_duration": None}
    with av.open(str(path)) as c:
        if c.streams.audio:
            a = c.streams.audio[0]
            samples, rate = 0, a.codec_context.sample_rate
            for f in c.decode(a):
                samples += f.samples
            info["audio_duration"] = samples / rate
    return info
