"""Quality report on tiny real inputs: its per-image scores, the face detector, the Gatys cache, the written report."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from itertools import groupby, islice

import cv2  # noqa: F401  before av, as rtstyle/__init__.py explains
import av
import numpy as np
import pytest

from rtstyle.sinks import write_image
from rtstyle.sources import read_image
from test_cli import ROOT
from tools.image_scores import edge_correlation, grid_amplitude, psnr, ssim


def ramp(h: int = 96, w: int = 128) -> np.ndarray:
    """A smooth colour image: no 2-pixel pattern at all."""
    yy, xx = np.mgrid[:h, :w]
    return np.stack([40 + xx * 1.5, 30 + yy * 2.0, 20 + (xx + yy) * 0.8], -1)


@pytest.mark.parametrize("pattern", ["checker", "columns", "rows"])
def test_grid_amplitude_of_a_synthetic_pattern(pattern: str):
    yy, xx = np.mgrid[:96, :128]
    sign = {"checker": (-1.0) ** (xx + yy), "columns": (-1.0) ** xx, "rows": (-1.0) ** yy}[pattern]
    image = np.clip(ramp() + 2.0 * sign[..., None], 0, 255).round().astype(np.uint8)
    grid = grid_amplitude(image)
    assert grid[pattern] == pytest.approx(2.0, abs=0.05)
    assert all(v < 0.05 for k, v in grid.items() if k != pattern)


def test_painters_are_timed_in_turns():
    """Each painter gets its timed frames in rounds, the others' rounds between, so that a passing
    load on the machine is shared by all; each gets exactly ``repeats`` timed frames and a warm-up."""
    pytest.importorskip("torch")  # the report's module scores with VGG16
    from tools.quality_report import ms_per_frame

    calls: list[str] = []
    painters = {k: (lambda frame, k=k: calls.append(k) or frame) for k in ("a", "b", "c")}
    ms = ms_per_frame(painters, repeats=7, rounds=3)
    assert set(ms) == {"a", "b", "c"} and all(v >= 0 for v in ms.values())
    blocks = [(k, len(list(g))) for k, g in groupby(calls)]
    assert blocks == [(k, n) for n in (4, 3, 3) for k in "abc"]  # a warm-up, then 3 + 2 + 2 timed frames


def test_grid_amplitude_of_smooth_and_real_images(data: Path):
    assert max(grid_amplitude(ramp().round().astype(np.uint8)).values()) < 0.05
    photo = read_image(data / "rubberwhale1.png")
    assert max(grid_amplitude(photo).values()) < 0.5  # a real photo's own edges stay below the target
    yy, xx = np.mgrid[:photo.shape[0], :photo.shape[1]]
    gridded = np.clip(photo + 3.0 * ((-1.0) ** (xx + yy))[..., None], 0, 255).astype(np.uint8)
    assert grid_amplitude(gridded)["checker"] == pytest.approx(3.0, abs=0.3)


def test_edge_correlation(data: Path):
    photo = read_image(data / "rubberwhale1.png")
    assert edge_correlation(photo, photo) == pytest.approx(1.0)
    painted = cv2.addWeighted(photo, 0.6, np.full_like(photo, (200, 60, 20)), 0.4, 0)  # recoloured, same structure
    assert edge_correlation(photo, painted) > 0.95
    assert edge_correlation(photo, 255 - photo) == pytest.approx(1.0)  # edges, not intensities, are compared
    other = cv2.resize(read_image(data / "messi5.jpg"), photo.shape[1::-1])
    assert abs(edge_correlation(photo, other)) < 0.3
    noise = np.random.default_rng(0).integers(0, 256, photo.shape, dtype=np.uint8)
    assert abs(edge_correlation(photo, noise)) < 0.1


def test_psnr_and_ssim(data: Path):
    photo = read_image(data / "rubberwhale1.png")
    assert psnr(photo, photo) == float("inf") and ssim(photo, photo) == pytest.approx(1.0)
    shifted = np.clip(photo.astype(int) + 10, 0, 255).astype(np.uint8)
    mse = np.mean((shifted.astype(float) - photo) ** 2)
    assert psnr(photo, shifted) == pytest.approx(10 * np.log10(255 ** 2 / mse))
    blurred = cv2.GaussianBlur(photo, (7, 7), 2.0)
    assert 0.3 < ssim(photo, blurred) < 0.95


def test_ssim_matches_scikit_image(data: Path):
    metrics = pytest.importorskip("skimage.metrics")
    photo = read_image(data / "rubberwhale1.png")
    for other in (cv2.GaussianBlur(photo, (7, 7), 2.0), read_image(data / "rubberwhale2.png")):
        expected = metrics.structural_similarity(photo, other, channel_axis=2, data_range=255, gaussian_weights=True,
                                                 sigma=1.5, use_sample_covariance=False)
        assert ssim(photo, other) == pytest.approx(expected, abs=1e-6)


# --- parts that need torch (and MTCNN's weights from facenet-pytorch) ---------------------------

@pytest.fixture(scope="module")
def detector():
    pytest.importorskip("torch")
    from tools.faces import DetectorMissing, FaceDetector

    try:
        return FaceDetector()
    except DetectorMissing as e:
        pytest.skip(str(e))


def test_face_detector_on_a_real_face_and_a_faceless_photo(detector, data: Path):
    face = read_image(data / "astronaut_face.jpg")
    boxes = detector(face)
    assert len(boxes) == 1 and boxes[0, 4] > 0.99
    x1, y1, x2, y2 = boxes[0, :4]
    assert 30 < x1 < 55 and 15 < y1 < 40 and 80 < x2 < 105 and 80 < y2 < 105  # around the astronaut's face
    assert len(detector(read_image(data / "rubberwhale1.png"))) == 0
    assert len(detector(np.full((128, 128, 3), 128, np.uint8))) == 0


def test_content_kept_scores_a_painter_as_the_report_does(detector):
    """tools.faces_kept.ContentKept: the input itself keeps every face and all its edges; a painter
    that paints everything over (a flat blur) keeps none."""
    from tools.faces_kept import ContentKept

    score = ContentKept()
    assert score.total >= 10
    kept, edges = score(lambda x: x)
    assert kept == score.total and edges == pytest.approx(1.0)
    kept, edges = score(lambda x: cv2.resize(cv2.resize(x, (8, 8)), x.shape[1::-1]))
    assert kept == 0 and edges < 0.5
    assert "FAIL" in score.describe(kept, edges) and "pass" in score.describe(score.total, 1.0)


def test_faces_kept(detector, data: Path):
    from tools.faces import faces_kept

    face = read_image(data / "astronaut_face.jpg")
    found = detector(face)
    assert faces_kept(found, detector(cv2.GaussianBlur(face, (3, 3), 0))) == 1
    assert faces_kept(found, detector(face[:, ::-1].copy())) == 1  # a mirrored face is still a face
    grey = np.full((128, 256, 3), 128, np.uint8)
    left, right = grey.copy(), grey.copy()
    left[:, :128], right[:, 128:] = face, face
    assert faces_kept(detector(left), detector(left)) == 1
    assert len(detector(right)) == 1 and faces_kept(detector(left), detector(right)) == 0  # elsewhere: not kept
    assert faces_kept(found, detector(cv2.resize(cv2.resize(face, (8, 8)), (128, 128)))) == 0  # painted over


@pytest.fixture(scope="module")
def vgg():
    pytest.importorskip("torch")
    from tools.losses import STYLE_LAYERS
    from tools.vgg import VGG16Features

    return VGG16Features(STYLE_LAYERS)


def test_score_of_the_photo_itself(data: Path, vgg):
    from tools.optimize import Settings
    from tools.quality_report import score, scorer

    photo = cv2.resize(read_image(data / "messi5.jpg"), (96, 60))
    style = read_image(data / "rubberwhale1.png")
    loss = scorer(vgg, style, Settings(size=96, style_size=96, content_layer="relu2_2"))
    same = score(loss, photo, photo)
    assert same["content"] == 0.0 and same["style"] > 0
    other = score(loss, photo, cv2.resize(style, (96, 60)))
    assert other["content"] > 0 and other["style"] < same["style"]  # the style image itself has the style


def test_cache_key_follows_inputs_and_settings(data: Path, tmp_path: Path):
    pytest.importorskip("torch")
    from tools.optimize import Settings
    from tools.quality_report import cache_path

    a = cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=10))
    assert a == cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=10))
    assert a != cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=11))
    assert a != cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale2.png", Settings(steps=10))
    assert a.name.startswith("messi5__rubberwhale1__")


def test_teacher_is_what_the_style_was_distilled_from(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A zoo painting's teacher paints with the zoo's knobs (starry_night: 384 px, 0.8 of the painting), the vector
    the students learn from; any other painting with Magenta's defaults, as ``--style-image`` does."""
    pytest.importorskip("torch")
    import rtstyle
    from rtstyle.style_images import StylePredictor
    from rtstyle.teacher import PHOTO_VECTOR, PREDICTOR, read_painting, style_vector, teacher
    from tools.quality_report import painters
    from tools.zoo import BY_NAME

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    named, other = tmp_path / "starry_night.jpg", tmp_path / "mine.jpg"
    for path in (named, other):
        shutil.copy(data / "starry_night_256.jpg", path)
    found, _ = painters([named, other], None, 1)
    teachers = {p.style: p.make() for p in found if p.tier == "teacher"}
    photo = cv2.resize(read_image(data / "astronaut_face.jpg"), (96, 96))
    predictor = StylePredictor(PREDICTOR, providers="cpu", cache=False)
    vector = style_vector(predictor, read_painting(named), BY_NAME["starry_night"].knobs,
                          np.load(PHOTO_VECTOR))
    knobbed = teacher(vector, 1)(photo)
    plain = rtstyle.load_style("arbitrary", providers="cpu", threads=1, style_images=[other])(photo)
    np.testing.assert_array_equal(teachers["starry_night"](photo), knobbed)
    np.testing.assert_array_equal(teachers["mine"](photo), plain)
    assert psnr(knobbed, plain) < 30  # the knobs make another picture


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, data: Path, detector) -> dict[str, Path]:
    """Tiny quality and fast nets for one real painting, an old zoo (same quality file, another fast net), photos."""
    import torch
    from tools.export import export
    from tools.transformer_net import NetConfig, TransformerNet

    root = tmp_path_factory.mktemp("report")
    models, old, styles, photos = root / "models", root / "old", root / "styles", root / "photos"
    for d in (models, old, styles, photos):
        d.mkdir()
    shutil.copy(data / "starry_night_256.jpg", styles / "starry.jpg")
    shutil.copy(data / "astronaut_face.jpg", photos / "astronaut_face.jpg")
    write_image(photos / "whale.png", cv2.resize(read_image(data / "rubberwhale1.png"), (128, 96)))
    torch.manual_seed(0)
    for folder, name, cfg in ((models, "starry", NetConfig((8, 16, 32), 1)),
                              (models, "starry_fast", NetConfig((8, 16, 32), 1, True, out_kernel=3)),
                              (old, "starry_fast", NetConfig((8, 16, 32), 1, True, out_kernel=3))):
        export(TransformerNet(cfg), folder / f"{name}.onnx", {"name": name, "title": name, "style_image": "starry.jpg",
                                                              "size_class": "fast" if "fast" in name else "quality"})
    shutil.copy(models / "starry.onnx", old / "starry.onnx")
    clip = root / "clip.mp4"
    with av.open(str(data / "walk_tone.mp4")) as src, av.open(str(clip), "w") as dst:
        stream = dst.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for frame in islice(src.decode(video=0), 8):
            small = cv2.resize(frame.to_ndarray(format="rgb24"), (160, 120), interpolation=cv2.INTER_AREA)
            dst.mux(stream.encode(av.VideoFrame.from_ndarray(small, format="rgb24")))
        dst.mux(stream.encode())
    return {"root": root, "models": models, "old": old, "styles": styles, "photos": photos, "clip": clip}


def run_report(inputs: dict[str, Path], out: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tools.quality_report", "--styles", inputs["styles"], "--old-models", inputs["old"],
           "--photos", inputs["photos"], "--clip", inputs["clip"], "--out", out,
           "--cache", inputs["root"] / "cache", "--size", "128", "--steps", "3", "--threads", "1", "--repeats", "2",
           "--sheet-height", "48", "--overview", "astronaut_face", *extra]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RTSTYLE_MODEL_PATH": str(inputs["models"]),
           "XDG_CACHE_HOME": str(inputs["root"] / "xdg")}
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_report_end_to_end(inputs: dict[str, Path]):
    out = inputs["root"] / "docs"
    r = run_report(inputs, out, "--gatys", "cached")
    assert r.returncode == 0, r.stderr
    assert "optimized" not in r.stdout  # --gatys cached computes nothing
    report = json.loads((out / "quality.json").read_text())
    assert report["meta"]["gatys_missing"] == ["astronaut_face x starry", "whale x starry"]
    rows = {m["tier"]: m for m in report["models"]}
    assert set(rows) == {"old_quality", "old_fast", "teacher", "quality", "fast"}
    assert rows["old_quality"]["sha256"] == rows["quality"]["sha256"]
    assert rows["old_fast"]["sha256"] != rows["fast"]["sha256"]
    assert r.stdout.count("measured starry (") == 1  # old and new quality are one file: measured once
    assert r.stdout.count("measured starry_fast (") == 2
    assert report["meta"]["faces_in"] >= 1 and report["meta"]["faces_photos"] == 1
    teacher = rows["teacher"]
    assert teacher["psnr_teacher_photos"] is None and teacher["ssim_teacher_photos"] == pytest.approx(1.0)
    for row in rows.values():
        assert row["faces_in"] == report["meta"]["faces_in"] and 0 <= row["faces_kept"] <= row["faces_in"]
        assert [p["faces_in"] for p in row["photos"]] == [1, 0]
    assert teacher["style_vs_teacher"] == pytest.approx(1.0) and teacher["style_vs_gatys"] is None
    for row in rows.values():
        assert row["cpu_ms_640x360"] > 0 and row["e_warp"] > 0 and len(row["photos"]) == 2
        assert -1 <= row["edges"] <= 1 and row["grid_max"] >= 0
    for tier in ("quality", "fast"):  # random nets: far from the teacher
        assert rows[tier]["psnr_teacher_photos"] < 20 and rows[tier]["ssim_teacher_photos"] < 0.9
    targets = {(t["tier"], t["target"]): t for t in report["targets"]}
    assert targets[("fast", "PSNR vs teacher, photos")]["pass"] is False
    assert targets[("fast", "style loss / teacher's")]["value"] == pytest.approx(
        rows["fast"]["style_loss"] / teacher["style_loss"])
    assert targets[("quality", "edges > old zoo")]["pass"] is False  # the same file is not better
    md = (out / "quality.md").read_text()
    assert "| starry | fast | starry_fast.onnx |" in md and "| starry | old zoo | starry.onnx |" in md
    assert "**FAIL**" in md and "astronaut_face x starry" in md
    sheet = read_image(out / "contact_sheet.jpg")
    assert sheet.shape[1] > 6 * 48 and sheet.shape[0] < 2 * (48 + 28)  # one row: the photo and five painters
    assert read_image(out / "contact_starry.jpg").shape[0] > 2 * 48  # a row per photo


def test_report_fills_the_gatys_cache_and_reads_it_back(inputs: dict[str, Path]):
    out = inputs["root"] / "docs_gatys"
    filled = []
    for share in ("1/2", "2/2"):  # two processes would each fill their share
        r = run_report(inputs, out, "--gatys", "only", "--share", share)
        assert r.returncode == 0, r.stderr
        filled.append([line.split(" in ")[0] for line in r.stdout.splitlines() if line.startswith("optimized ")])
    assert [len(f) for f in filled] == [1, 1] and filled[0] != filled[1], filled  # a pair each
    assert not out.exists()  # the cache only
    r = run_report(inputs, out)
    assert r.returncode == 0, r.stderr
    assert "optimized" not in r.stdout  # found under the same keys
    report = json.loads((out / "quality.json").read_text())
    assert report["meta"]["gatys_missing"] == [] and report["meta"]["gatys_pairs"] == 2
    rows = {m["tier"]: m for m in report["models"]}
    assert rows["teacher"]["gatys_photos"] == 2 and rows["teacher"]["style_vs_gatys"] > 0
    assert "| starry | teacher | arbitrary.onnx | " in (out / "quality.md").read_text()
    # A fresh checkout has the committed scores but not the pictures: the report reads the losses from them.
    pictures = sorted((inputs["root"] / "cache").glob("*.png"))
    assert len(pictures) == 2
    scores = json.loads((inputs["root"] / "cache" / "scores.json").read_text())["scores"]
    assert sorted(scores) == [p.stem for p in pictures]
    for p in pictures:
        p.unlink()
    for mode in ("only", "run"):  # nothing left to optimize
        r = run_report(inputs, inputs["root"] / "unused", "--gatys", mode)
        assert r.returncode == 0 and "optimized" not in r.stdout, r.stdout + r.stderr
    r = run_report(inputs, out, "--gatys", "cached")
    assert r.returncode == 0, r.stderr
    again = json.loads((out / "quality.json").read_text())
    assert again["meta"]["gatys_missing"] == [] and again["meta"]["gatys_pairs"] == 2
    assert {m["tier"]: m for m in again["models"]}["teacher"]["style_vs_gatys"] == rows["teacher"]["style_vs_gatys"]
