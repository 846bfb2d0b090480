"""A big picture that would not fit in memory is said to before it is painted (rtstyle.headroom)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from rtstyle import headroom
from rtstyle.cli import main
from rtstyle.stylizer import Stylizer

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="measures through Linux's /proc")


def test_the_memory_per_pixel_of_a_quarter_size_painting_holds_at_full_size(tiny_model: Path):
    """What the probe (a quarter of the width and height) measures per pixel is what the whole
    picture takes per pixel, each in a fresh process: within a fifth."""
    probe = headroom.bytes_per_pixel(tiny_model, 1.0, 1000, 1000)
    whole = headroom.bytes_per_pixel(tiny_model, 1.0, 4000, 4000)
    assert probe and whole and probe == pytest.approx(whole, rel=0.2), (probe, whole)
    half = headroom.bytes_per_pixel(tiny_model, 0.5, 4000, 4000)
    assert half and half < 0.8 * whole, "painting at half size takes less"


def test_the_warning_says_what_would_fit(tiny_model: Path):
    stylizer = Stylizer(tiny_model, providers="cpu")
    rate = headroom.bytes_per_pixel(tiny_model, 1.0, 5000 // 4, 4000 // 4)
    needed = rate * 5000 * 4000
    said = headroom.warning(stylizer, 5000, 4000, available=int(needed / 3))
    assert said and said.startswith(f"painting 5000x4000 takes about {needed / 1e9:.1f} GB of memory and "
                                    f"{needed / 3e9:.1f} GB is available: the system may stop rtstyle")
    width, height = (int(side) for side in said.split("--max-size ")[1].split()[0].split("x"))
    assert width / height == pytest.approx(5000 / 4000, rel=0.01)
    assert 0.7 * needed / 3 <= rate * width * height <= needed / 3, "the size suggested fits, and not by far"
    assert headroom.warning(stylizer, 5000, 4000, available=int(needed * 2)) is None
    assert headroom.warning(stylizer, 4000, 4000, available=0) is None, "16 MP and less: not measured"


def test_image_warns_before_painting(tmp_path: Path, tiny_model: Path, monkeypatch):
    """On a machine with less memory available than the picture needs, the warning comes first,
    then the painting is tried all the same."""
    photo = tmp_path / "big.jpg"
    cv2.imwrite(str(photo), np.random.default_rng(0).integers(0, 255, (3400, 5000, 3), np.uint8))
    monkeypatch.setattr(headroom, "available_bytes", lambda: 50_000_000)
    r = CliRunner().invoke(main, ["image", str(photo), str(tmp_path / "painted.jpg"), "-s", str(tiny_model)])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    warned = next(i for i, line in enumerate(lines) if line.startswith("warning: painting 5000x3400 takes about"))
    assert "0.1 GB is available" in lines[warned] and lines[-1] == f"wrote {tmp_path / 'painted.jpg'}"
    assert warned < len(lines) - 1
    r = CliRunner().invoke(main, ["image", str(photo), "-o", str(tmp_path / "painted"), "-s", str(tiny_model)])
    assert r.exit_code == 0, r.output
    assert any(line.startswith("warning: big.jpg: painting 5000x3400 takes about") for line in r.stderr.splitlines())
