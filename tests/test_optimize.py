"""The classic optimization method: it lowers the loss from the photo, keeps the size, and
`rtstyle optimize` works from a checkout, from an installed wheel, and says so when torch is missing."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from rtstyle.sources import read_image
from test_cli import ROOT, assert_one_line_error
from test_cli import rtstyle as run_cli

torch = pytest.importorskip("torch")
from tools.losses import STYLE_LAYERS, fit  # noqa: E402
from tools.optimize import CONTENT_LAYER, Settings, stylize  # noqa: E402
from tools.vgg import VGG16Features  # noqa: E402


@pytest.fixture(scope="module")
def vgg() -> VGG16Features:
    return VGG16Features((*STYLE_LAYERS, CONTENT_LAYER))


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_optimize_lowers_loss_from_the_photo(data: Path, vgg: VGG16Features, method: str):
    photo, style = read_image(data / "messi5.jpg"), read_image(data / "rubberwhale1.png")
    seen = []
    out, losses = stylize(photo, style, Settings(size=80, steps=15, method=method, lr=0.03), vgg=vgg,
                          on_step=lambda i, parts: seen.append(parts))
    assert out.shape == fit(photo, 80).shape == (50, 80, 3) and out.dtype == np.uint8
    first = seen[0]
    assert first["content"] == 0.0  # the start is the photo itself
    assert losses["evaluations"] == len(seen) <= 20
    assert losses["total"] < 0.85 * first["total"], (first, losses)
    assert losses["style"] < 0.8 * first["style"]
    assert np.abs(out.astype(int) - fit(photo, 80)).mean() > 2  # the pixels really changed


def test_small_photo_is_not_enlarged(data: Path, vgg: VGG16Features):
    photo = read_image(data / "messi5.jpg")[:40, :60]
    out, _ = stylize(photo, photo, Settings(size=512, steps=2), vgg=vgg)
    assert out.shape == photo.shape


def test_optimize_command(data: Path, tmp_path: Path):
    out = tmp_path / "painted.png"
    r = run_cli("optimize", data / "messi5.jpg", data / "rubberwhale1.png", "-o", out, "--size", "64", "--steps", "4",
                "--beta", "20", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert read_image(out).shape == (40, 64, 3)
    assert "4 steps" in r.stderr and "style" in r.stderr
    assert_one_line_error(run_cli("optimize", data / "messi5.jpg", data / "rubberwhale1.png", "-o", out), "output exists")
    assert_one_line_error(run_cli("optimize", data / "nope.jpg", data / "rubberwhale1.png", "-o", tmp_path / "b.png"),
                          "not found")


def test_optimize_without_torch_says_what_to_install(data: Path, tmp_path: Path):
    """torch hidden from the interpreter (sys.modules entry None makes its import fail)."""
    code = ("import sys; sys.modules['torch'] = None; from rtstyle.cli import main; "
            f"sys.argv = ['rtstyle', 'optimize', {str(data / 'messi5.jpg')!r}, {str(data / 'rubberwhale1.png')!r}, "
            f"'-o', {str(tmp_path / 'o.png')!r}]; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert_one_line_error(r, "needs PyTorch: pip install 'rtstyle[train]'")
    assert not (tmp_path / "o.png").exists()


def test_installed_wheel_finds_the_optimizer(data: Path, tmp_path: Path):
    """The wheel carries tools/ as rtstyle._tools: the installed command works away from the checkout."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for name in ("rtstyle", "tools"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "models", src / "models", ignore=shutil.ignore_patterns("*.onnx"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", tmp_path / "dist", src],
                   check=True, capture_output=True, timeout=300)
    wheel = next((tmp_path / "dist").glob("rtstyle-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "rtstyle/_tools/optimize.py" in names and not any(n.startswith("tools/") for n in names)
    subprocess.run([*pip, "install", "--no-deps", "--target", tmp_path / "site", wheel], check=True,
                   capture_output=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    r = subprocess.run([sys.executable, "-m", "rtstyle", "optimize", data / "messi5.jpg", data / "rubberwhale1.png",
                        "-o", "o.png", "--size", "48", "--steps", "2", "--threads", "1"], capture_output=True,
                       text=True, cwd=work, timeout=300, env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert r.returncode == 0, r.stderr
    assert (work / "o.png").is_file()
    probe = "import rtstyle.extras as e; print(e.training_tool('optimize', 'x').__name__)"
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=work, timeout=120,
                       env={**os.environ, "PYTHONPATH": str(tmp_path / "site")})
    assert r.stdout.strip() == "rtstyle._tools.optimize", r.stderr
