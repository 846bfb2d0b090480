"""The command line as a user runs it: real subprocesses, real files, one-line errors."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def rtstyle(*args: str, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "rtstyle", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, **kw)


def assert_one_line_error(r: subprocess.CompletedProcess, needle: str) -> None:
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_missing_input(tmp_path: Path, tiny_model: Path):
    r = rtstyle("render", tmp_path / "nope.mp4", tmp_path / "o.mp4", "--style", tiny_model)
    assert_one_line_error(r, "not found")


def test_unreadable_video(tmp_path: Path, tiny_model: Path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 50)
    r = rtstyle("render", fake, tmp_path / "o.mp4", "--style", tiny_model)
    assert_one_line_error(r, "cannot open notes.mp4")


def test_unknown_style(data: Path, tmp_path: Path):
    r = rtstyle("render", data / "walk_tone.mp4", tmp_path / "o.mp4", "--style", "no_such_style")
    assert_one_line_error(r, "unknown style 'no_such_style'")
    assert "starry_night" in r.stderr and "arbitrary_predict" not in r.stderr


def test_not_a_model(data: Path, tmp_path: Path):
    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"\x00garbage" * 100)
    r = rtstyle("render", data / "walk_tone.mp4", tmp_path / "o.mp4", "--style", bogus)
    assert_one_line_error(r, "not a usable ONNX model")


def test_image_command(data: Path, tmp_path: Path, tiny_model: Path):
    """--strength 0.8: the full-strength picture blended with the photo at 0.8 (rtstyle.frames.blend),
    nearer the full style than the photo is, yet not the full style."""
    import numpy as np

    import rtstyle as lib

    r = rtstyle("image", data / "messi5.jpg", tmp_path / "out.png", "--style", tiny_model, "--strength", "0.8")
    assert r.returncode == 0, r.stderr
    photo = lib.sources.read_image(data / "messi5.jpg")
    full = lib.load_style(tiny_model)(photo)
    out = lib.sources.read_image(tmp_path / "out.png")
    assert np.array_equal(out, lib.frames.blend(full, photo, 0.8))

    def dist(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - b.astype(int)).mean())

    assert 2 < dist(out, full) < dist(photo, full) / 2, "the photo shows through, a fifth of it"


def test_a_transparent_picture_keeps_its_alpha(data: Path, tmp_path: Path, tiny_model: Path):
    """A logo on a transparent background: the painting keeps the picture's alpha in PNG, WebP
    and HEIC, also when an EXIF orientation turns the picture (the alpha turns with it); JPEG
    has none, and a note says so."""
    import cv2
    import numpy as np
    import pillow_heif

    import rtstyle as lib

    photo = cv2.imread(str(data / "messi5.jpg"))
    alpha = np.zeros(photo.shape[:2], np.uint8)
    cv2.circle(alpha, (photo.shape[1] // 3, photo.shape[0] // 2), photo.shape[0] // 3, 255, -1)
    src = tmp_path / "logo.png"
    cv2.imwrite(str(src), np.dstack([photo, alpha]))
    painted = lib.load_style(tiny_model)(cv2.cvtColor(photo, cv2.COLOR_BGR2RGB))
    for suffix in (".png", ".webp"):
        r = rtstyle("image", src, tmp_path / f"out{suffix}", "--style", tiny_model)
        assert r.returncode == 0 and "note" not in r.stderr, r.stderr
        out = cv2.imread(str(tmp_path / f"out{suffix}"), cv2.IMREAD_UNCHANGED)
        assert out.shape[2] == 4 and np.array_equal(out[..., 3], alpha), suffix
        if suffix == ".png":
            assert np.array_equal(cv2.cvtColor(out[..., :3], cv2.COLOR_BGR2RGB), painted)
    r = rtstyle("image", src, tmp_path / "out.jpg", "--style", tiny_model)
    assert r.returncode == 0 and "note: transparency dropped: .jpg has none" in r.stderr, r.stderr
    r = rtstyle("image", src, tmp_path / "out.heic", "--style", tiny_model)  # HEIF's alpha picture, as iOS writes one
    assert r.returncode == 0 and "note" not in r.stderr, r.stderr
    heic = pillow_heif.open_heif(tmp_path / "out.heic")
    assert heic.mode == "RGBA" and np.abs(np.asarray(heic)[..., 3].astype(int) - alpha).mean() < 1

    turned = lib.sources.read_image(_with_orientation(src, tmp_path / "turned.png"), alpha=True)
    assert np.array_equal(turned[..., 3], alpha)  # stored turned, read upright with its alpha

    # --max-size: the picture and its alpha shrunk first (area averaging), then painted
    r = rtstyle("image", src, tmp_path / "small.png", "--style", tiny_model, "--max-size", "100x100")
    assert r.returncode == 0 and "note: shrunk from 320x200 to 100x62 (the size limit given)" in r.stderr, r.stderr
    small = cv2.imread(str(tmp_path / "small.png"), cv2.IMREAD_UNCHANGED)
    shrunk = cv2.resize(np.dstack([photo, alpha]), (100, 62), interpolation=cv2.INTER_AREA)
    assert np.array_equal(small[..., 3], shrunk[..., 3])
    assert np.array_equal(small[..., :3], cv2.cvtColor(lib.load_style(tiny_model)(
        cv2.cvtColor(shrunk[..., :3], cv2.COLOR_BGR2RGB)), cv2.COLOR_RGB2BGR))


def test_a_folder_of_pictures_is_painted_into_a_folder(data: Path, tmp_path: Path, tiny_model: Path):
    """image IN_DIR OUT_DIR (and SRC... -o OUT_DIR): each picture painted in its own format, the
    same pixels as one at a time; a picture that cannot be read fails alone, named, and the
    command fails at the end with one error line."""
    import shutil

    import numpy as np

    import rtstyle as lib

    pictures = tmp_path / "in"
    pictures.mkdir()
    shutil.copy(data / "rubberwhale1.png", pictures / "a.png")
    shutil.copy(data / "rubberwhale2.png", pictures / "b.png")
    (pictures / "broken.png").write_bytes(b"not a picture")
    (pictures / "notes.txt").write_text("not a picture either, and not looked at")
    (pictures / "a.MOV").write_bytes((data / "walk_tone.mp4").read_bytes())  # an iPhone's Live Photo beside it
    (pictures / "._a.png").write_bytes(b"\0\5\26\7")  # macOS's AppleDouble file: hidden, not said
    (pictures / "2023").mkdir()  # not walked into: said, as is each file not taken
    r = rtstyle("image", pictures, tmp_path / "out", "--style", tiny_model)
    assert r.returncode == 1 and "FAILED broken.png: cannot read image" in r.stderr, r.stderr
    assert (f"note: {pictures}: not painted: 2023/ (folders are not walked into: give one as SRC too); a.MOV, "
            "notes.txt (not pictures)") in r.stderr.splitlines(), r.stderr
    assert [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")] == \
        ["error: 1 of 3 pictures failed (see above)"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png", "b.png"]
    paint = lib.load_style(tiny_model)
    for name in ("a.png", "b.png"):
        out = lib.sources.read_image(tmp_path / "out" / name)
        assert np.array_equal(out, paint(lib.sources.read_image(pictures / name)))
    r = rtstyle("image", pictures / "a.png", pictures / "b.png", "-o", tmp_path / "out2", "--style", tiny_model)
    assert r.returncode == 0 and sorted(p.name for p in (tmp_path / "out2").iterdir()) == ["a.png", "b.png"]
    r = rtstyle("image", pictures / "a.png", "-o", tmp_path / "out3", "--style", tiny_model)  # one picture, a folder
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert [p.name for p in (tmp_path / "out3").iterdir()] == ["a.png"]


def test_a_frame_of_a_video_is_painted_as_a_render_paints_it(data: Path, tmp_path: Path, tiny_model: Path):
    """image VIDEO OUT --at TIME: the first frame at or after TIME (the clip decoded here by PyAV
    itself), painted exactly as the network paints it; without --at the first frame, with a note;
    a letterboxed video keeps its bars black, as a render does; into a folder as NAME.png."""
    import av
    import numpy as np

    import rtstyle as lib
    from tools.bad_inputs import write_video

    src = data / "walk_tone.mp4"
    with av.open(str(src)) as c:
        frames = [(float(f.time), lib.yuv.to_rgb(f)) for f in c.decode(video=0)]
    paint = lib.load_style(tiny_model)
    when, wanted = next((time, image) for time, image in frames if time >= 0.51)
    r = rtstyle("image", src, tmp_path / "at.png", "--style", tiny_model, "--at", "0.51")
    assert r.returncode == 0, r.stderr
    assert np.array_equal(lib.sources.read_image(tmp_path / "at.png"), paint(wanted))
    assert f"painted the frame of walk_tone.mp4 at {when:.3f} s" in r.stderr, r.stderr
    r = rtstyle("image", src, data / "messi5.jpg", "-o", tmp_path / "out", "--style", tiny_model)
    first = "painted the frame of walk_tone.mp4 at 0.000 s (--at TIME picks another)"
    assert r.returncode == 0 and first in r.stderr, r.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["messi5.jpg", "walk_tone.png"]
    assert np.array_equal(lib.sources.read_image(tmp_path / "out" / "walk_tone.png"), paint(frames[0][1]))

    boxed = [np.zeros_like(image) for _, image in frames[:5]]
    for frame, (_, image) in zip(boxed, frames):
        frame[40:200] = image[40:200]
    letterboxed = write_video(tmp_path / "letterbox.mp4", boxed, audio=(), options={"qp": "0"})
    r = rtstyle("image", letterboxed, tmp_path / "box.png", "--style", tiny_model, "--at", "0:00.1")
    assert r.returncode == 0 and "only the 320x160 picture inside them is painted" in r.stderr, r.stderr
    with av.open(str(letterboxed)) as c:
        second = lib.yuv.to_rgb(list(c.decode(video=0))[1])  # written at 10 fps: 0.1 s is the second frame
    out = lib.sources.read_image(tmp_path / "box.png")
    assert np.array_equal(out[np.r_[0:40, 200:240]], second[np.r_[0:40, 200:240]]) and out[:40].max() < 8
    assert np.array_equal(out[40:200], paint(second[40:200]))

    assert_one_line_error(rtstyle("image", data / "messi5.jpg", tmp_path / "x.png", "--style", tiny_model,
                                  "--at", "1"), "messi5.jpg is a still picture: --at picks a frame of a video")
    assert_one_line_error(rtstyle("image", src, tmp_path / "x.png", "--style", tiny_model, "--at", "5"),
                          "walk_tone.mp4 lasts 3.00 s: there is nothing from 5 s on")


def test_sheet_shows_a_frame_in_each_style_to_choose_from(data: Path, tmp_path: Path, two_styles):
    """rtstyle sheet VIDEO OUT --at T -s A -s B: the input, then the frame painted in each style (at
    its own size, then shrunk into the tile), each under a caption, in rows of --columns."""
    import av
    import cv2
    import numpy as np

    import rtstyle as lib

    with av.open(str(data / "walk_tone.mp4")) as c:
        frame = next(lib.yuv.to_rgb(f) for f in c.decode(video=0) if f.time >= 0.5)
    out = tmp_path / "sheet.png"
    r = rtstyle("sheet", data / "walk_tone.mp4", out, "-s", two_styles["tiny"], "-s", two_styles["other"], "--at",
                "0.5", "--height", "60", "--columns", "2", "--threads", "1")
    assert r.returncode == 0 and "wrote" in r.stderr and "2 styles" in r.stderr, r.stderr
    sheet = lib.sources.read_image(out)
    assert sheet.shape == (2 * (24 + 60 + 4), 2 * (80 + 4), 3), "3 tiles of 80x60 under 24-px captions, 2 a row"
    tile = lambda row, col: sheet[row * 88 + 24:row * 88 + 84, col * 84:col * 84 + 80]  # noqa: E731
    shrink = lambda rgb: cv2.resize(rgb, (80, 60), interpolation=cv2.INTER_AREA)  # noqa: E731
    assert np.array_equal(tile(0, 0), shrink(frame)), "the input first"
    for (row, col), name in (((0, 1), "tiny"), ((1, 0), "other")):
        assert np.array_equal(tile(row, col), shrink(lib.load_style(two_styles[name], threads=1)(frame))), name
        assert sheet[row * 88:row * 88 + 24, col * 84:col * 84 + 80].min() < 100, "a caption is written"
    assert sheet[88:, 84:].min() == 255, "no fourth tile"
    r = rtstyle("sheet", data / "walk_tone.mp4", tmp_path / "mixable.png", "-s", "multistyle26:3", "-s",
                "multistyle26:19", "--at", "0.5", "--height", "60", "--threads", "1")
    assert r.returncode == 0, r.stderr
    mixable = lib.sources.read_image(tmp_path / "mixable.png")
    for col, index in ((1, 3), (2, 19)):  # two styles of one network: each its own, not faded from the one before
        expected = shrink(lib.load_style(f"multistyle26:{index}", threads=1)(frame))
        assert np.abs(mixable[24:84, col * 84:col * 84 + 80].astype(int) - expected).max() <= 2, index
    from tools.bad_inputs import write_video

    boxed = np.zeros_like(frame)
    boxed[40:200] = frame[40:200]
    letterboxed = write_video(tmp_path / "letterbox.mp4", [boxed] * 3, audio=(), options={"qp": "0"})
    r = rtstyle("sheet", letterboxed, tmp_path / "boxed.png", "-s", two_styles["tiny"], "--height", "60")
    assert r.returncode == 0 and "only the 320x160 picture inside them is painted" in r.stderr, r.stderr
    painted = lib.sources.read_image(tmp_path / "boxed.png")[24:84, 84:164]
    assert painted[:9].max() < 8 and painted[51:].max() < 8 and painted[12:48].mean() > 40, "the bars stay black"
    assert_one_line_error(rtstyle("sheet", data / "walk_tone.mp4", out, "-s", two_styles["tiny"]), "output exists")
    assert_one_line_error(rtstyle("sheet", data / "nope.mp4", tmp_path / "x.png", "-s", two_styles["tiny"]),
                          "not found")


def test_a_webp_is_written_as_image_editors_write_one(data: Path, tmp_path: Path, tiny_model: Path):
    """Lossy at quality 90, as GIMP and Pillow write a WebP (OpenCV's own is lossless: 5x the
    size for a photo's painting), within a JPEG's distance of the painting."""
    import cv2

    import rtstyle as lib

    r = rtstyle("image", data / "messi5.jpg", tmp_path / "out.webp", "--style", tiny_model)
    assert r.returncode == 0, r.stderr
    painted = cv2.cvtColor(lib.load_style(tiny_model)(lib.sources.read_image(data / "messi5.jpg")), cv2.COLOR_RGB2BGR)
    written = (tmp_path / "out.webp").read_bytes()
    assert len(written) < len(cv2.imencode(".webp", painted)[1]) / 2  # OpenCV's default: lossless
    assert cv2.PSNR(cv2.imread(str(tmp_path / "out.webp")), painted) > 35


def test_a_transparent_tiff_keeps_its_colours(data: Path, tmp_path: Path, tiny_model: Path):
    """A TIFF logo with soft edges, its alpha straight (as Photoshop, GIMP and Pillow write it)
    and stored transposed (EXIF orientation 5: transpose to show): read upright, level for level
    (OpenCV's reader multiplied its colours by the alpha: dark edges, made half transparent again
    when composited); the painting is the network's of those colours, with that alpha."""
    import cv2
    import numpy as np
    from PIL import Image

    import rtstyle as lib

    photo = cv2.cvtColor(cv2.imread(str(data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    alpha = np.zeros(photo.shape[:2], np.uint8)
    cv2.circle(alpha, (photo.shape[1] // 3, photo.shape[0] // 2), photo.shape[0] // 3, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (31, 31), 0)  # soft edges: half transparent there
    exif = Image.Exif()
    exif[0x0112] = 5
    Image.fromarray(np.dstack([photo, alpha])).transpose(Image.Transpose.TRANSPOSE).save(tmp_path / "logo.tif",
                                                                                         exif=exif)
    shown = np.dstack([photo, alpha])
    assert np.array_equal(lib.sources.read_image(tmp_path / "logo.tif", alpha=True), shown)
    r = rtstyle("image", tmp_path / "logo.tif", tmp_path / "out.png", "--style", tiny_model)
    assert r.returncode == 0, r.stderr
    out = cv2.imread(str(tmp_path / "out.png"), cv2.IMREAD_UNCHANGED)
    painted = lib.load_style(tiny_model)(np.ascontiguousarray(shown[..., :3]))
    assert np.array_equal(out[..., 3], alpha) and np.array_equal(cv2.cvtColor(out[..., :3], cv2.COLOR_BGR2RGB), painted)


def _with_orientation(src: Path, dst: Path) -> Path:
    """``src`` stored turned a quarter, with EXIF orientation 6 (shown upright again), as a phone does."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(src).transpose(Image.Transpose.ROTATE_90).save(dst, exif=exif.tobytes())
    return dst


def test_image_scale_paints_at_that_size(data: Path, tmp_path: Path, tiny_model: Path):
    """--scale 0.5: the network's own picture at half size brought back by guided upsampling,
    not the full-size painting."""
    import numpy as np

    import rtstyle as lib

    r = rtstyle("image", data / "messi5.jpg", tmp_path / "out.png", "--style", tiny_model, "--scale", "0.5")
    assert r.returncode == 0, r.stderr
    photo = lib.sources.read_image(data / "messi5.jpg")
    out = lib.sources.read_image(tmp_path / "out.png")
    assert out.shape == photo.shape
    assert np.array_equal(out, lib.load_style(tiny_model, scale=0.5)(photo))
    assert not np.array_equal(out, lib.load_style(tiny_model)(photo))


def test_render_scale_paints_every_frame_at_that_size(data: Path, tmp_path: Path, tiny_model: Path):
    """render --scale 0.5 (one file, and several into a folder): each decoded frame is the network's
    half-size painting of the input frame, up to encoder noise, and further from the full-size one."""
    from conftest import decode_video
    from tools.image_scores import psnr

    import rtstyle as lib

    src = data / "walk_tone.mp4"
    one = rtstyle("render", src, tmp_path / "one.mp4", "--style", tiny_model, "--scale", "0.5", "--smooth", "none")
    many = rtstyle("render", src, "-o", tmp_path / "many", "--style", tiny_model, "--scale", "0.5",
                   "--smooth", "none")
    assert one.returncode == 0 and many.returncode == 0, one.stderr + many.stderr
    frames = decode_video(src)
    half, whole = lib.load_style(tiny_model, scale=0.5), lib.load_style(tiny_model)
    for out in (tmp_path / "one.mp4", tmp_path / "many" / "walk_tone.mp4"):
        decoded = decode_video(out)
        assert len(decoded) == len(frames) and decoded[0].shape == frames[0].shape
        to_half = [psnr(half(f), d) for f, d in zip(frames, decoded)]
        to_whole = [psnr(whole(f), d) for f, d in zip(frames, decoded)]
        assert min(to_half) >= 30 and max(to_whole) < min(to_half) - 3, (min(to_half), max(to_whole))


def test_models_lists_styles_only():
    r = rtstyle("models")
    assert r.returncode == 0 and "multistyle26" in r.stdout
    assert "arbitrary_predict" not in r.stdout, "a style predictor is a helper network, not a style"


def test_render_command_reports(data: Path, tmp_path: Path, tiny_model: Path):
    r = rtstyle("render", data / "walk_tone.mp4", tmp_path / "o.mp4", "--style", tiny_model, "--threads", "2")
    assert r.returncode == 0, r.stderr
    assert "30 frames" in r.stderr and "audio copied (aac)" in r.stderr and "CPUExecutionProvider" in r.stderr
