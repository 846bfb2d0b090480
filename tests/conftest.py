"""Shared fixtures: real clips and small random-weight models from tests/data (no torch needed)."""
from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import cv2  # before av, as rtstyle/__init__.py explains
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


@pytest.fixture(scope="module")
def style(tiny_model: Path):
    """The tiny net, loaded once for a module's renders."""
    import rtstyle

    return rtstyle.load_style(tiny_model, threads=2)


@pytest.fixture(scope="session")
def two_styles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two visibly different random-weight styles (live style switching), exported like real ones."""
    return _copy_models(tmp_path_factory, "tiny", "other")


def _copy_models(tmp_path_factory: pytest.TempPathFactory, *names: str) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("models")
    return {n: Path(shutil.copy(DATA / f"{n}.onnx", folder / f"{n}.onnx")) for n in names}


def transparent_shot(frames: list[np.ndarray], folder: Path) -> np.ndarray:
    """A render with a transparent background (Blender's 'Film > Transparent') as numbered RGBA
    PNGs in ``folder``: a disc on nothing, half transparent at one side; returns the alpha."""
    yy, xx = np.mgrid[:240, :320]
    alpha = np.where((xx - 160) ** 2 + (yy - 120) ** 2 < 90 ** 2, 255, 0).astype(np.uint8)
    alpha[:, :20] = 128
    folder.mkdir()
    for n, frame in enumerate(frames, start=1):
        cv2.imwrite(str(folder / f"c_{n:04d}.png"), cv2.cvtColor(np.dstack([frame, alpha]), cv2.COLOR_RGBA2BGRA))
    return alpha


def camcorder_dv(path: Path) -> Path:
    """A raw .dv as a camcorder's tape is captured: PAL, 10 frames at 25 fps, timecode 00:00:10:00,
    48 kHz PCM."""
    with av.open(str(path), "w", format="dv") as out:
        out.metadata["timecode"] = "00:00:10:00"
        video = out.add_stream("dvvideo", rate=25)
        video.width, video.height, video.pix_fmt = 720, 576, "yuv420p"
        sound = out.add_stream("pcm_s16le", rate=48000, layout="stereo")
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((576, 720, 3), i * 20, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 2 * 1920), np.int16), format="s16", layout="stereo")
            samples.sample_rate, samples.pts = 48000, i * 1920
            out.mux(sound.encode(samples))
        out.mux(video.encode(None))
        out.mux(sound.encode(None))
    return path


def decode_video(path: Path) -> list[np.ndarray]:
    """RGB frames converted the way rtstyle's sources convert them (rtstyle.yuv)."""
    from rtstyle import yuv

    with av.open(str(path)) as c:
        return [yuv.to_rgb(f) for f in c.decode(video=0)]


def assert_same_video(a: list[np.ndarray], b: list[np.ndarray], what: str) -> None:
    """Two renders of one input: as many frames, and each frame of ``b`` the same picture as
    the frame of ``a`` at its place, closer to it than ``a``'s neighbouring frames are.

    ONNX Runtime does not promise bit-identical results run to run with several threads
    (onnxruntime issue 9704), and a one-level difference can change the encoder's choices
    for the frames after it: so a frame may differ, by under a quarter of the smallest
    difference between two neighbouring frames of ``a``. A frame out of order, missing or
    repeated differs by at least that whole amount. Any difference at all is said in a warning.
    """
    def diff(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x.astype(np.int16) - y).mean())

    assert len(a) == len(b) > 1, f"{what}: {len(a)} frames against {len(b)}"
    tolerance = 0.25 * min(diff(x, y) for x, y in zip(a, a[1:]))
    diffs = [diff(x, y) for x, y in zip(a, b)]
    worst = int(np.argmax(diffs))
    said = (f"{what}: {sum(d > 0 for d in diffs)} of {len(diffs)} frames differ, frame {worst} by "
            f"{diffs[worst]:.4f} grey levels on average (tolerance {tolerance:.4f})")
    assert diffs[worst] <= tolerance, said
    if diffs[worst]:
        warnings.warn(said, stacklevel=2)


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


def decode_sound(path: Path) -> tuple[str, int, float, np.ndarray]:
    """The file's first audio stream decoded: codec, sample rate, first sample's time, mono samples."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        frames = [(float(f.pts * f.time_base), f.to_ndarray().mean(0)) for f in c.decode(stream)]
        return (stream.codec_context.name, stream.codec_context.sample_rate, frames[0][0],
                np.concatenate([samples for _, samples in frames]))


def loudest_frequency(samples: np.ndarray, rate: int) -> float:
    """The frequency (Hz) of the strongest line in the samples' spectrum."""
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.abs(np.fft.rfft(samples)).argmax()])


def vp9_alphas(path: Path) -> list[np.ndarray]:
    """Each frame's alpha in a VP9 video, decoded by libvpx (FFmpeg's own VP9 decoder reads none)."""
    decoder = av.CodecContext.create("libvpx-vp9", "r")
    with av.open(str(path)) as c:
        frames = [f for p in c.demux(video=0) if p.size for f in decoder.decode(p)] + list(decoder.decode(None))
    return [f.to_ndarray(format="rgba")[..., 3] for f in frames]
