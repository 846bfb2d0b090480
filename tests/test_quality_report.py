"""Quality report on tiny real inputs: scoring, the optimization cache, ratios, and the written report."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from rtstyle.sinks import write_image
from rtstyle.sources import read_image
from test_cli import ROOT

torch = pytest.importorskip("torch")
from tools.export import export  # noqa: E402
from tools.losses import STYLE_LAYERS  # noqa: E402
from tools.optimize import Settings  # noqa: E402
from tools.quality_report import cache_path, scorer, score  # noqa: E402
from tools.transformer_net import NetConfig, TransformerNet  # noqa: E402
from tools.vgg import VGG16Features  # noqa: E402

TRAINING = {"style_size": 64, "content_weight": 1.0, "style_weight": 0.6, "tv_weight": 0.0, "content_layer": "relu2_2"}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory, data: Path) -> dict[str, Path]:
    """A quality and a fast tiny model naming a real style image, one card without one, a photo folder."""
    root = tmp_path_factory.mktemp("report")
    models, styles, photos = root / "models", root / "styles", root / "photos"
    for d in (models, styles, photos):
        d.mkdir()
    shutil.copy(data / "rubberwhale1.png", styles / "whale.png")
    photo = read_image(data / "messi5.jpg")
    write_image(photos / "messi.png", cv2.resize(photo, (80, 50), interpolation=cv2.INTER_AREA))
    torch.manual_seed(0)
    for name, cfg, size in (("whale", NetConfig((8, 16, 32), 2), "quality"),
                            ("whale_fast", NetConfig((8, 16, 32), 1, True, out_kernel=3), "fast")):
        export(TransformerNet(cfg), models / f"{name}.onnx", {"name": name, "title": name, "style_image": "whale.png",
                                                             "size_class": size, "training": TRAINING})
    export(TransformerNet(NetConfig((8, 16, 32), 1)), models / "anon.onnx", {"name": "anon", "title": "anon"})
    return {"root": root, "models": models, "styles": styles, "photos": photos}


@pytest.fixture(scope="module")
def vgg() -> VGG16Features:
    return VGG16Features(STYLE_LAYERS)


def test_score_of_the_photo_itself(data: Path, vgg: VGG16Features):
    photo = cv2.resize(read_image(data / "messi5.jpg"), (96, 60))
    style = read_image(data / "rubberwhale1.png")
    loss = scorer(vgg, style, Settings(size=96, style_size=96, content_layer="relu2_2"))
    same = score(loss, photo, photo)
    assert same["content"] == 0.0 and same["style"] > 0
    other = score(loss, photo, cv2.resize(style, (96, 60)))
    assert other["content"] > 0 and other["style"] < same["style"]  # the style image itself has the style


def test_cache_key_follows_inputs_and_settings(data: Path, tmp_path: Path):
    a = cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=10))
    assert a == cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=10))
    assert a != cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale1.png", Settings(steps=11))
    assert a != cache_path(tmp_path, data / "messi5.jpg", data / "rubberwhale2.png", Settings(steps=10))
    assert a.name.startswith("messi5__rubberwhale1__")


def test_report_end_to_end_and_cached_rerun(inputs: dict[str, Path]):
    out, cache = inputs["root"] / "docs", inputs["root"] / "cache"
    cmd = [sys.executable, "-m", "tools.quality_report", "--photos", inputs["photos"], "--styles", inputs["styles"],
           "--out", out, "--cache", cache, "--size", "64", "--steps", "6", "--threads", "1", "--repeats", "2",
           "--sheet-height", "48"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RTSTYLE_MODEL_PATH": str(inputs["models"])}
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("optimized messi.png x whale.png") == 1  # the siblings share one objective
    report = json.loads((out / "quality.json").read_text())
    rows = {m["name"]: m for m in report["models"]}
    assert set(rows) == {"whale", "whale_fast"}
    assert any(s.startswith("anon: no single style image") for s in report["skipped"])
    for row in rows.values():
        assert row["style_ratio"] > 0 and row["content_ratio"] > 0 and row["cpu_ms_640x360"] > 0
        assert row["photos"][0]["optimized"]["style"] > 0
    expected = rows["whale_fast"]["photos"][0]["model"]["style"] / rows["whale"]["photos"][0]["model"]["style"]
    assert rows["whale_fast"]["fast_vs_quality"] == pytest.approx(expected)
    md = (out / "quality.md").read_text()
    assert "| whale_fast | whale.png | fast |" in md and "contact_sheet.jpg" in md
    sheet = read_image(out / "contact_sheet.jpg")
    assert sheet.shape[1] > 3 * 48  # the photo and two model columns

    cached = list(cache.iterdir())
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0 and "optimized" not in r.stdout, r.stdout
    assert list(cache.iterdir()) == cached
    again = {m["name"]: m for m in json.loads((out / "quality.json").read_text())["models"]}
    assert again["whale"]["photos"] == rows["whale"]["photos"]
