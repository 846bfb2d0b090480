"""Every numeric option of the CLI, fed NaN, infinities, zero, negative and huge values
(issue 16): one `error:` line, a non-zero exit, no traceback, nothing written."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtstyle.cli import main

EDGES = ["nan", "NaN", "-nan", "inf", "-inf", "Infinity", "0", "-0", "-1", "-3", "1e308", "1e999",
         "123456789012345678901234567890", "0.5", ""]
VALUES = st.one_of(st.sampled_from(EDGES), st.floats(allow_nan=True, allow_infinity=True).map(str))

# (command line with {src} {dst} {model} placeholders, its numeric options). The input does
# not exist: a value the option accepts ends at that error instead of running for real.
COMMANDS = {
    "render": ("render {src} {dst} --style {model}",
               ["--strength", "--threads", "--crf", "--workers", "--stream-timeout", "--smooth-strength", "--deadband",
                "--segment-seconds", "--scale", "--start", "--duration", "--max-size"]),
    "image": ("image {src} {dst} --style {model}", ["--strength", "--threads", "--scale", "--max-size"]),
    "live": ("live --source {src} --record {dst} --style {model} --no-window",
             ["--scale", "--fps", "--duration", "--camera-timeout", "--stream-timeout", "--strength",
              "--smooth-strength", "--deadband", "--threads"]),
    "optimize": ("optimize {src} {src} -o {dst}",
                 ["--size", "--style-size", "--steps", "--alpha", "--beta", "--tv-weight", "--lr", "--noise",
                  "--threads"]),
    "train": ("train {src} --name probe", ["--minutes", "--steps", "--style-size", "--style-weight", "--threads"]),
}
OPTIONS = [(command, option) for command, (_, options) in COMMANDS.items() for option in options]


@pytest.mark.parametrize("command, option", OPTIONS, ids=[f"{c} {o}" for c, o in OPTIONS])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES)
def test_numeric_option_values_give_one_line(command: str, option: str, value: str, tiny_model: Path,
                                             tmp_path: Path):
    src, dst = tmp_path / "missing.mp4", tmp_path / f"out-{abs(hash(value))}.png"
    line, _ = COMMANDS[command]
    args = line.format(src=src, dst=dst, model=tiny_model).split() + [option, value]
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, r.exception)
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert r.exit_code != 0 and len(errors) == 1, (args, r.stderr)
    assert not dst.exists()


@pytest.mark.parametrize("value, message", [("nan", "'nan' is not a number in the range 0<=x<=1"),
                                            ("2", "2.0 is not in the range 0<=x<=1")])
def test_a_bad_value_names_the_option_and_its_range(value: str, message: str, tmp_path: Path):
    r = CliRunner().invoke(main, ["render", "in.mp4", str(tmp_path / "o.mp4"), "--strength", value])
    assert r.exit_code == 2 and r.stderr.strip() == f"error: Invalid value for '--strength': {message}.", r.stderr


def test_live_duration_nan_is_refused_not_a_silent_success():
    r = CliRunner().invoke(main, ["live", "--duration", "nan"])
    assert r.exit_code == 2 and "'--duration'" in r.stderr


def test_a_folder_as_input_and_an_unknown_image_format(data: Path, tmp_path: Path, tiny_model: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    # image and render take a folder as a batch of pictures or videos (rtstyle.batch): an empty one is one line
    r = CliRunner().invoke(main, ["image", str(empty), str(tmp_path / "o"), "--style", str(tiny_model)])
    assert r.exit_code == 1 and r.stderr.splitlines()[-1].startswith("error: no pictures in"), r.stderr
    r = CliRunner().invoke(main, ["render", str(empty), str(tmp_path / "out"), "--style", str(tiny_model)])
    assert r.exit_code == 1 and r.stderr.splitlines()[-1].startswith("error: no video files in"), r.stderr
    r = CliRunner().invoke(main, ["image", str(data / "messi5.jpg"), str(tmp_path / "o.xyz"), "--style",
                                  str(tiny_model)])
    assert r.exit_code == 1 and r.stderr.splitlines()[-1].startswith("error: cannot encode an image as '.xyz'")
    assert "Traceback" not in r.stderr and not (tmp_path / "o.xyz").exists()


@pytest.mark.parametrize("command, name, said", [
    ("image", "o.xyz", "cannot encode an image as '.xyz'"), ("image", "o.mp4", "o.mp4 names a video"),
    ("sheet", "o.xyz", "cannot encode an image as '.xyz'"), ("sheet", "o.webm", "o.webm names a video")])
def test_a_picture_output_in_no_picture_format_is_refused_before_any_work(command: str, name: str, said: str,
                                                                          data: Path, tmp_path: Path,
                                                                          tiny_model: Path):
    """The only line on stderr is the error: no model was loaded, nothing painted (it was said
    when writing, after every style of a sheet was painted)."""
    r = CliRunner().invoke(main, [command, str(data / "messi5.jpg"), str(tmp_path / name), "--style",
                                  str(tiny_model)])
    assert r.exit_code == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith(f"error: {said}") and not (tmp_path / name).exists()


def test_an_iphone_photo_is_painted_upright(data: Path, tmp_path: Path, tiny_model: Path):
    """A HEIC stored turned a quarter with HEIF's rotation (as an iPhone stores a portrait) is
    read upright: its painting is the painting of the original JPEG (HEVC's loss aside); a
    folder of them comes out as HEIC, each in its own format."""
    import shutil

    import rtstyle
    from tools.image_scores import psnr

    paint = rtstyle.load_style(tiny_model)
    expected = paint(rtstyle.sources.read_image(data / "messi5.jpg"))
    r = CliRunner().invoke(main, ["image", str(data / "messi5_turned.heic"), str(tmp_path / "o.png"),
                                  "--style", str(tiny_model)])
    assert r.exit_code == 0, r.stderr
    painted = rtstyle.sources.read_image(tmp_path / "o.png")
    assert painted.shape == expected.shape == (200, 320, 3) and psnr(painted, expected) > 30
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(data / "messi5_turned.heic", photos / "IMG_0001.HEIC")
    r = CliRunner().invoke(main, ["image", str(photos), str(tmp_path / "out"), "--style", str(tiny_model)])
    assert r.exit_code == 0 and [p.name for p in (tmp_path / "out").iterdir()] == ["IMG_0001.HEIC"], r.stderr
    assert psnr(rtstyle.sources.read_image(tmp_path / "out" / "IMG_0001.HEIC"), expected) > 30


def test_a_folder_of_avif_photos_comes_out_as_avif(data: Path, tmp_path: Path, tiny_model: Path):
    import cv2

    import rtstyle
    from tools.image_scores import psnr

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "a.avif"), cv2.imread(str(data / "messi5.jpg")), [cv2.IMWRITE_AVIF_QUALITY, 95])
    r = CliRunner().invoke(main, ["image", str(photos), str(tmp_path / "out"), "--style", str(tiny_model)])
    assert r.exit_code == 0 and [p.name for p in (tmp_path / "out").iterdir()] == ["a.avif"], r.stderr
    expected = rtstyle.load_style(tiny_model)(rtstyle.sources.read_image(photos / "a.avif"))
    assert psnr(rtstyle.sources.read_image(tmp_path / "out" / "a.avif"), expected) > 30


def test_a_10_bit_heic_with_alpha_is_read_in_8_bits(tmp_path: Path):
    import numpy as np
    import pillow_heif

    from rtstyle.sources import read_image

    rgba = np.zeros((16, 24, 4), np.uint16)
    rgba[..., 0], rgba[..., 3], rgba[:, 12:, 3] = 0xFFFF, 0xFFFF, 0x8000  # red, the right half half transparent
    pillow_heif.from_bytes("RGBA;16", (24, 16), rgba.tobytes()).save(tmp_path / "deep.heic", quality=-1)
    picture = read_image(tmp_path / "deep.heic", alpha=True)
    assert picture.dtype == np.uint8 and picture.shape == (16, 24, 4)
    assert abs(int(picture[8, 4, 0]) - 255) <= 2 and abs(int(picture[8, 20, 3]) - 128) <= 2
    assert read_image(tmp_path / "deep.heic").shape == (16, 24, 3)


def test_a_heic_without_pillow_heif_or_damaged_is_one_line(data: Path, tmp_path: Path, tiny_model: Path,
                                                            monkeypatch):
    """HEIC is recognised by its brand, whatever the name; without the extra, the error says how to get it."""
    fake = tmp_path / "IMG_0002.jpg"
    fake.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))
    r = CliRunner().invoke(main, ["image", str(fake), str(tmp_path / "o.png"), "--style", str(tiny_model)])
    assert r.exit_code == 1 and r.stderr.count("error: ") == 1, r.stderr
    assert "error: cannot read image IMG_0002.jpg: Invalid input" in r.stderr and "Traceback" not in r.stderr
    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # as if rtstyle[heic] were not installed
    for src, dst in ((data / "messi5_turned.heic", "o.png"), (data / "messi5.jpg", "o.heic")):
        r = CliRunner().invoke(main, ["image", str(src), str(tmp_path / dst), "--style", str(tiny_model)])
        assert r.exit_code == 1 and r.stderr.count("error: ") == 1, r.stderr
        assert "HEIC/HEIF (an iPhone's photo format) needs pillow-heif: pip install 'rtstyle[heic]'" in r.stderr
    assert not list(tmp_path.glob("o.*"))


BENCH = ["--scale", "--warmup", "--frames", "--threads"]


@pytest.mark.parametrize("option", BENCH)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES)
def test_bench_numeric_options(option: str, value: str, tmp_path: Path):
    """`bench` with a missing model measures nothing: a value it accepts gets as far as the
    missing model (exit 1), one it rejects is a usage error (exit 2)."""
    r = CliRunner().invoke(main, ["bench", "--style", str(tmp_path / "missing.onnx"), "--size", "16x16",
                                  option, value])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert "Traceback" not in r.stderr
    errors = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    accepted = r.exit_code == 1 and errors == [f"error: model file not found: {tmp_path / 'missing.onnx'}"]
    assert accepted or (r.exit_code == 2 and len(errors) == 1), r.stderr


@pytest.mark.parametrize("text, seconds", [("90", 90.0), ("1:30", 90.0), ("0:00:02.5", 2.5), ("1:02:03.5", 3723.5)])
def test_times_are_seconds_or_clock_positions(text: str, seconds: float):
    from rtstyle.cli import Timecode

    assert Timecode().convert(text, None, None) == seconds


@pytest.mark.parametrize("text", ["1:75", "1:2:3:4", "a:10", "1:-5", "nan:10", ":", "-1:00"])
def test_a_time_that_is_no_time_is_one_line(text: str, tmp_path: Path, tiny_model: Path):
    r = CliRunner().invoke(main, ["render", str(tmp_path / "in.mp4"), str(tmp_path / "out.mp4"), "--style",
                                  str(tiny_model), "--start", text])
    assert r.exit_code == 2 and r.stderr.count("error: ") == 1 and "is not a time" in r.stderr, r.stderr
