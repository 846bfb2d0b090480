"""Make the small real test and example clips from OpenCV's sample data (../shared).

Run once; the outputs are committed (tests must not read ../shared). Video frames are
real (vtest.avi, Megamind_bugy.avi); the audio is a generated tone so that audio
duration and sync can be checked exactly.

    python -m tools.make_test_data ../shared/data
    python -m tools.make_test_data --models-only   # just the random-weight test models (needs torch)
"""
from __future__ import annotations

import argparse
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def read_frames(path: Path, count: int, size: tuple[int, int]) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        out = []
        for f in c.decode(video=0):
            out.append(cv2.resize(f.to_ndarray(format="rgb24"), size, interpolation=cv2.INTER_AREA))
            if len(out) == count:
                return out
    return out


def write_clip(path: Path, frames: list[np.ndarray], fps: int, vcodec: str, acodec: str | None,
               rate: int = 44100, tone_hz: float = 440.0) -> None:
    """Video from ``frames`` plus a tone exactly as long as the video."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(vcodec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        a_s = out.add_stream(acodec, rate=rate, layout="mono") if acodec else None
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if a_s:
            fmt = "fltp" if acodec == "aac" else "s16"
            n = round(len(frames) / fps * rate)
            t = np.arange(n) / rate
            wave = 0.3 * np.sin(2 * np.pi * tone_hz * t)
            samples = wave.astype(np.float32) if fmt == "fltp" else (wave * 32767).astype(np.int16)
            chunk = 1024
            for start in range(0, n, chunk):
                af = av.AudioFrame.from_ndarray(samples[None, start:start + chunk], format=fmt, layout="mono")
                af.sample_rate, af.pts, af.time_base = rate, start, Fraction(1, rate)
                out.mux(a_s.encode(af))
            out.mux(a_s.encode(None))


def damaged_copy(src: Path, dst: Path, packets: int, seed: int = 3) -> None:
    """Stream-copy the first ``packets`` video packets, then overwrite bytes in the middle."""
    with av.open(str(src)) as inp, av.open(str(dst), "w", format="avi") as out:
        ins = inp.streams.video[0]
        os_ = out.add_stream_from_template(ins)
        for i, p in enumerate(inp.demux(ins)):
            if p.dts is None:
                continue
            if i >= packets:
                break
            p.stream = os_
            out.mux(p)
    data = bytearray(dst.read_bytes())
    rng = np.random.default_rng(seed)
    for pos in rng.integers(len(data) * 2 // 5, len(data) * 3 // 5, 40):
        data[pos:pos + 64] = rng.integers(0, 256, 64, dtype=np.uint8).tobytes()
    dst.write_bytes(bytes(data))


def random_models(data: Path) -> None:
    """Random-weight nets exported by the project's own export, committed so that every test
    but training and export runs where torch is not installed: ``tiny`` and ``other`` (two
    visibly different small styles) and ``fast_random`` (the shipped fast tier's student layout,
    tools/student_net.py: GPU checks)."""
    import torch

    from tools.distil import export as export_student
    from tools.export import export
    from tools.student_net import Student
    from tools.transformer_net import NetConfig, TransformerNet

    torch.manual_seed(0)
    export_student(Student(), data / "fast_random.onnx",
                   {"title": "fast tier's student layout with random weights (tests only)"})
    for seed, name, title, cfg, gain in (
            (0, "tiny", "tiny random test net", NetConfig((8, 16, 32), 2), 20.0),
            (7, "other", "second random net", NetConfig((8, 16, 32), 2), 20.0),
            (0, "textured", "random net with strong texture (seams and flicker of a distributed render)",
             NetConfig((8, 16, 32), 2), 60.0)):
        torch.manual_seed(seed)
        net = TransformerNet(cfg)
        if gain:
            # At its random start a net paints near-black (its output sits around 0 before the
            # clamp to [0, 1]): scale the last convolution so the test styles paint mid-grey
            # textures that follow the picture, which tests of strength, colours and upsampling need.
            last = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)][-1]
            with torch.no_grad():
                last.weight.mul_(gain)
                last.bias.fill_(128.0)
        export(net, data / f"{name}.onnx", {"name": name, "title": title})


def heic_photo(upright_path: Path, heic: Path) -> None:
    """An iPhone-style HEIC of a photo: its pixels stored turned a quarter anticlockwise, with
    the rotation that shows it upright (EXIF orientation 6, which pillow-heif stores as HEIF's irot)."""
    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    upright = cv2.cvtColor(cv2.imread(str(upright_path)), cv2.COLOR_BGR2RGB)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.ascontiguousarray(np.rot90(upright))).save(heic, format="HEIF", quality=90,
                                                                  exif=exif.tobytes())
    assert pillow_heif.open_heif(heic).size == (upright.shape[1], upright.shape[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("shared_data", type=Path, nargs="?", help="shared data folder (not needed with --models-only)")
    ap.add_argument("--models-only", action="store_true", help="only export the random-weight test models")
    a = ap.parse_args()
    data = ROOT / "tests" / "data"
    data.mkdir(parents=True, exist_ok=True)
    random_models(data)
    if a.models_only:
        return
    if a.shared_data is None:
        ap.error("give the shared data folder, or --models-only")
    vtest = a.shared_data / "videos" / "vtest.avi"
    small = read_frames(vtest, 30, (320, 240))
    write_clip(data / "walk_tone.mp4", small, 10, "libx264", "aac")
    write_clip(data / "walk_pcm.mkv", small[:20], 10, "mpeg4", "pcm_s16le")
    damaged_copy(a.shared_data / "videos" / "Megamind_bugy.avi", data / "damaged.avi", 60)
    for name, width in (("messi5.jpg", 320), ("rubberwhale1.png", 0), ("rubberwhale2.png", 0)):
        img = cv2.imread(str(a.shared_data / "images" / name))
        if width:
            img = cv2.resize(img, (width, round(img.shape[0] * width / img.shape[1])), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(data / name), img)
    heic_photo(data / "messi5.jpg", data / "messi5_turned.heic")
    examples = ROOT / "examples"
    examples.mkdir(exist_ok=True)
    write_clip(examples / "pedestrians.mp4", read_frames(vtest, 100, (384, 288)), 10, "libx264", "aac")


if __name__ == "__main__":
    main()
