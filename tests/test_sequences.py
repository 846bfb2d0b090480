"""Image sequences (numbered pictures from a 3D, animation or compositing program) rendered as videos, and
renders written as numbered pictures."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import rtstyle
from conftest import DATA, decode_video, stream_info, transparent_shot
from rtstyle import sequences, yuv
from rtstyle.errors import SourceError
from rtstyle.sources import PacedSource
from test_cli import ROOT, assert_one_line_error, rtstyle as run
from tools.bad_inputs import limit_file_size
from tools.image_scores import psnr

ORDER = [0, 29, 7, 21, 14, 3, 26, 10, 18, 5, 24, 12]  # frames of the clip far apart: a picture out of place shows


@pytest.fixture(scope="module")
def clip_frames(data: Path) -> list[np.ndarray]:
    frames = decode_video(data / "walk_tone.mp4")
    return [frames[i] for i in ORDER]


def write_pictures(folder: Path, name: str, first: int, frames: list[np.ndarray]) -> Path:
    """``frames`` as pictures ``name % first`` on, written by OpenCV (not by the FFmpeg that reads them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for n, frame in enumerate(frames, start=first):
        assert cv2.imwrite(str(folder / (name % n)), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return folder


def read_back(path: Path) -> list[np.ndarray]:
    """The written video decoded by OpenCV's own reader, a second path beside rtstyle's."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while True:
        ok, bgr = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


@pytest.mark.parametrize("name, first", [("shot_%04d.png", 1),       # Blender, FFmpeg
                                         ("take2_%d.png", 8),        # unpadded: take2_10 sorts before take2_8
                                         ("A001.%08d.tif", 86400)])  # a timecode-numbered TIFF sequence
def test_a_folder_of_numbered_pictures_renders_as_a_video(name: str, first: int, clip_frames, tmp_path: Path, style):
    """One frame for each picture in the order of their numbers, each the network's painting of
    its own picture, at the rate given (23.976 is 24000/1001), no sound."""
    folder = write_pictures(tmp_path / "frames", name, first, clip_frames)
    (folder / f"._{name % first}").write_bytes(b"\0\5\26\7")  # macOS's AppleDouble file on an exFAT drive
    dst = tmp_path / "out.mp4"
    report = rtstyle.render(folder, dst, style, smooth="none", rate=23.976)
    assert report.check.ok and report.audio == "none", report.check.summary()
    assert (f"image sequence {name}: 12 pictures ({name % first} to {name % (first + 11)}) at 23.976 fps"
            in report.notes)
    written = read_back(dst)
    assert len(written) == 12
    scores = [[psnr(w, style(f)) for f in clip_frames] for w in written]
    assert all(np.argmax(row) == i and row[i] > 30 for i, row in enumerate(scores)), np.round(scores, 1)
    info = stream_info(dst)
    assert info["video_times"] == pytest.approx([n * 1001 / 24000 for n in range(12)], abs=1e-3)
    assert info["audio_duration"] is None


def test_a_pattern_names_one_sequence_and_a_part_of_it_renders(clip_frames, tmp_path: Path, style):
    """Two sequences in one folder: the folder is refused with both named, a pattern picks one;
    --start/--duration take the pictures of that part, timed from zero (25 fps: pictures 5 to 9)."""
    folder = write_pictures(tmp_path / "renders", "beauty_%04d.png", 1, clip_frames)
    write_pictures(folder, "depth_%04d.png", 1, clip_frames[:3])
    with pytest.raises(SourceError, match=r"beauty_%04d.png: 12, depth_%04d.png: 3"):
        rtstyle.render(folder, tmp_path / "x.mp4", style)
    dst = tmp_path / "part.mp4"
    report = rtstyle.render(folder / "beauty_%04d.png", dst, style, smooth="none", start=0.2, duration=0.2)
    assert report.check.ok and "pictures carry no frame rate" in " ".join(report.notes)
    written = decode_video(dst)
    assert len(written) == 5 and min(psnr(w, style(f)) for w, f in zip(written, clip_frames[5:10])) > 30
    assert stream_info(dst)["video_times"] == pytest.approx([0, 0.04, 0.08, 0.12, 0.16], abs=1e-3)


def test_a_gap_in_the_numbers_is_refused_before_any_work(clip_frames, tmp_path: Path, tiny_model: Path):
    """FFmpeg stops reading at the first missing number: the render would end there, and its
    check pass, a third of the shot lost. It is one error that names the first missing picture."""
    folder = write_pictures(tmp_path / "gap", "f_%03d.png", 1, clip_frames)
    (folder / "f_005.png").unlink()
    (folder / "f_006.png").unlink()
    dst = tmp_path / "o.mp4"
    r = run("render", folder, dst, "--style", tiny_model)
    assert_one_line_error(r, "f_%03d.png: 2 of the pictures from f_001.png to f_012.png are missing "
                             "(the first: f_005.png)")
    assert not dst.exists()
    assert_one_line_error(run("render", folder / "g_%03d.png", dst, "--style", tiny_model),
                          "no pictures named g_%03d.png")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("render", tmp_path / "empty", dst, "--style", tiny_model),
                          "empty to render as one video")
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "a.mp4").write_bytes(b"")
    with pytest.raises(SourceError, match="holds no pictures to render as one video .* renders into a folder"):
        rtstyle.render(videos, dst, tiny_model)
    r = run("render", videos, dst, "--style", tiny_model)
    assert r.returncode == 2 and "holds videos: they render into a folder" in r.stderr


def test_a_picture_cut_short_is_named_and_its_frame_left_out(clip_frames, tmp_path: Path, style):
    """A render that crashed while writing one picture: the others are painted at their own
    times (the gap stays a gap), the check passes on what decoded, a note names the picture."""
    folder = write_pictures(tmp_path / "cut", "f_%03d.png", 1, clip_frames)
    picture = folder / "f_007.png"
    picture.write_bytes(picture.read_bytes()[:2000])
    dst = tmp_path / "o.mp4"
    report = rtstyle.render(folder, dst, style, smooth="none")
    assert report.check.ok and report.skipped_packets == 1, report.check.summary()
    assert ("pictures that could not be decoded (cut short or damaged), their frames left out: f_007.png"
            in report.notes)
    kept = clip_frames[:6] + clip_frames[7:]
    written = decode_video(dst)
    assert len(written) == 11 and min(psnr(w, style(f)) for w, f in zip(written, kept)) > 30
    assert stream_info(dst)["video_times"] == pytest.approx([n / 25 for n in range(12) if n != 6], abs=1e-3)
    report = rtstyle.render(folder, tmp_path / "part.mp4", style, duration=0.2)  # pictures read ahead: not lost
    assert report.check.ok and not any("could not be decoded" in note for note in report.notes), report.notes


def test_a_video_named_like_a_pattern_is_a_video(data: Path, tmp_path: Path, style):
    src = tmp_path / "sale_50%d.mp4"
    src.write_bytes((data / "walk_tone.mp4").read_bytes())
    assert rtstyle.render(src, tmp_path / "o.mp4", style).check.ok


def test_phone_photos_are_turned_as_their_exif_says(clip_frames, tmp_path: Path, tiny_model: Path):
    """A time-lapse of a phone's portrait JPEGs, stored sideways with EXIF orientation 6 (turn a
    quarter clockwise to view, as phones write): painted upright, with a note."""
    from PIL import Image

    folder = tmp_path / "lapse"
    folder.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    upright = [frame[:, :90] for frame in clip_frames[:3]]  # portrait: 90 wide, 120 high
    for n, frame in enumerate(upright, start=1):
        Image.fromarray(np.ascontiguousarray(np.rot90(frame, 1))).save(folder / f"IMG_{n:04d}.jpg", exif=exif,
                                                                       quality=95)
    r = run("render", str(folder), str(tmp_path / "out_%04d.png"), "--style", str(tiny_model), "--strength", "0",
            "--smooth", "none")
    assert r.returncode == 0 and "note: rotated 270° to upright" in r.stderr, r.stderr
    out = [cv2.cvtColor(cv2.imread(str(tmp_path / f"out_{n:04d}.png")), cv2.COLOR_BGR2RGB) for n in (1, 2, 3)]
    assert all(o.shape == u.shape and psnr(o, u) > 30 for o, u in zip(out, upright)), [o.shape for o in out]


@pytest.mark.parametrize("suffix", [".jpg", ".tif", ".png", ".webp"])
def test_each_exif_orientation_shows_a_sequence_as_viewers_do(suffix: str, clip_frames, tmp_path: Path):
    """Pictures stored turned or mirrored, each of the 8 EXIF orientations saying how to show
    them (a front camera's mirrored selfies: 2, 4, 5, 7), are read as Pillow's exif_transpose
    shows them (a reader apart from FFmpeg's): a mirror was read as a half turn, an upside-down
    flip as nothing, a quarter turn and mirror as a quarter turn (PyAV reads none of FFmpeg 8's
    display matrix beside its EXIF)."""
    from PIL import Image, ImageOps

    upright = Image.fromarray(np.ascontiguousarray(clip_frames[0][:120, :90]))  # 90 wide, 120 high
    stored = {1: upright, 2: upright.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
              3: upright.transpose(Image.Transpose.ROTATE_180), 4: upright.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
              5: upright.transpose(Image.Transpose.TRANSPOSE), 6: upright.transpose(Image.Transpose.ROTATE_90),
              7: upright.transpose(Image.Transpose.TRANSVERSE), 8: upright.transpose(Image.Transpose.ROTATE_270)}
    for said, picture in stored.items():
        folder = tmp_path / str(said)
        folder.mkdir()
        exif = Image.Exif()
        exif[0x0112] = said
        for n in (1, 2):
            picture.save(folder / f"p_{n:04d}{suffix}", exif=exif, quality=95)
        shown = np.asarray(ImageOps.exif_transpose(Image.open(folder / f"p_0001{suffix}")).convert("RGB"))
        assert shown.shape == (120, 90, 3)
        with rtstyle.VideoFileSource(folder) as source:
            got = [frame.image for frame in source.frames()]
        assert len(got) == 2 and all(g.shape == shown.shape and psnr(g, shown) > 30 for g in got), said


def test_a_motion_jpeg_video_is_turned_as_its_frames_exif_says(clip_frames, tmp_path: Path):
    """A camera's Motion JPEG video whose frames carry an EXIF orientation (6: turn a quarter
    clockwise): shown as Pillow shows its pictures, from the display matrix's rotation, the one
    part of FFmpeg 8's side data beside the EXIF that PyAV reads."""
    from PIL import Image, ImageOps

    exif = Image.Exif()
    exif[0x0112] = 6
    upright = np.ascontiguousarray(clip_frames[0][:120, :90])
    Image.fromarray(np.ascontiguousarray(np.rot90(upright, 1))).save(tmp_path / "p.jpg", exif=exif, quality=95)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "p.jpg")).convert("RGB"))
    with av.open(str(tmp_path / "p.jpg")) as picture, av.open(str(tmp_path / "camera.avi"), "w") as video:
        stream = video.add_stream_from_template(picture.streams.video[0], rate=10)
        data = next(packet for packet in picture.demux(video=0) if packet.size)
        for n in range(3):
            packet = av.Packet(bytes(data))
            packet.stream, packet.pts, packet.time_base = stream, n, Fraction(1, 10)
            video.mux(packet)
    with rtstyle.VideoFileSource(tmp_path / "camera.avi") as source:
        got = [frame.image for frame in source.frames()]
        assert source.notes == ["rotated 270° to upright"]
    assert len(got) == 3 and all(g.shape == (120, 90, 3) and psnr(g, shown) > 30 for g in got)


def test_fps_is_for_sequences_only(data: Path, tmp_path: Path, tiny_model: Path):
    r = run("render", data / "walk_tone.mp4", tmp_path / "o.mp4", "--style", tiny_model, "--fps", "24")
    assert r.returncode == 2 and "--fps is for an image sequence" in r.stderr
    r = run("render", tmp_path, tmp_path / "o.mp4", "--style", tiny_model, "--fps", "0")
    assert r.returncode == 2 and "frame rate out of range" in r.stderr


@pytest.mark.parametrize("text, rate", [("24", Fraction(24)), ("23.976", Fraction(24000, 1001)),
                                        ("29.97", Fraction(30000, 1001)), ("30000/1001", Fraction(30000, 1001)),
                                        ("59.94", Fraction(60000, 1001)), ("12.5", Fraction(25, 2))])
def test_rates_are_read_as_an_editor_means_them(text: str, rate: Fraction):
    assert sequences.parse_rate(text) == rate


@pytest.mark.parametrize("pix_fmt, precision", [("gbrpf32le", "float"), ("gbrpf32le", "half"),
                                               ("gbrapf32le", "half"), ("grayf32le", "half"), ("grayf32le", "float")])
def test_openexr_pictures_are_shown_through_the_srgb_curve(pix_fmt: str, precision: str, tmp_path: Path,
                                                           tiny_model: Path):
    """An EXR holds linear light: 0.18 (mid grey) is 118 of 255 on screen, not 46; above 1 clips.
    Expected values from the sRGB formula (IEC 61966-2-1), worked out by hand. Half floats (what
    Blender and Nuke write by default; FFmpeg decodes them as 16-bit floats), with alpha, and
    grey (a Y channel) alike."""
    row = np.array([0.0, 0.0015654, 0.18, 0.5, 1.0, 4.0], np.float32)
    channels = {"gbrpf32le": 3, "gbrapf32le": 4, "grayf32le": 1}[pix_fmt]
    linear = np.ascontiguousarray(np.broadcast_to(row[None, :, None], (4, 6, channels)))
    if channels == 4:
        linear[..., 3] = 1.0
    folder = tmp_path / "exr"
    folder.mkdir()
    with av.open(str(folder / "plate_%04d.exr"), "w", format="image2") as c:
        stream = c.add_stream("exr", rate=25, options={"format": precision})
        stream.width, stream.height, stream.pix_fmt = 6, 4, pix_fmt
        frame = av.VideoFrame.from_ndarray(linear[..., 0] if channels == 1 else linear, format=pix_fmt)
        for packet in [*stream.encode(frame), *stream.encode()]:
            c.mux(packet)
    with sequences.find(folder).open() as c:
        shown = yuv.to_rgb(next(c.decode(video=0)))
    assert shown[0].T.tolist() == [[0, 5, 118, 188, 255, 255]] * 3
    style = rtstyle.load_style(tiny_model)
    report = rtstyle.render(folder, tmp_path / "o.mp4", style)
    assert report.check.ok and any("OpenEXR" in note for note in report.notes)
    # `rtstyle image` takes one too (OpenCV's wheel reads no EXR): painted from the same colours
    rtstyle.stylize_image(folder / "plate_0001.exr", tmp_path / "plate.png", style)
    painted = cv2.cvtColor(cv2.imread(str(tmp_path / "plate.png")), cv2.COLOR_BGR2RGB)
    assert psnr(painted, style(shown)) > 40


@pytest.mark.parametrize("codec, suffix, pix_fmt", [("dpx", ".dpx", "rgb48le"), ("targa", ".tga", "bgr24")])
def test_film_picture_formats_opencv_does_not_read_are_read(codec: str, suffix: str, pix_fmt: str, clip_frames,
                                                           tmp_path: Path):
    """DPX (film scans, grading) and Targa: read through FFmpeg, the same pixels as written."""
    from rtstyle.sources import read_image

    path = tmp_path / f"scan{suffix}"
    with av.open(str(path), "w", format="image2") as c:
        stream = c.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        frame = av.VideoFrame.from_ndarray(clip_frames[0], format="rgb24").reformat(format=pix_fmt)
        for packet in [*stream.encode(frame), *stream.encode()]:
            c.mux(packet)
    assert np.array_equal(read_image(path), clip_frames[0])
    r = run("image", tmp_path, tmp_path / "out", "--style", DATA / "tiny.onnx")  # a folder: written as PNG
    assert r.returncode == 0 and (tmp_path / "out" / "scan.png").is_file(), r.stderr
    painted = rtstyle.load_style(DATA / "tiny.onnx")(clip_frames[0])
    assert np.array_equal(read_image(tmp_path / "out" / "scan.png"), painted)


def test_a_sequence_plays_live(clip_frames, tmp_path: Path):
    """`live --source frames/` plays the pictures at --fps, as a file."""
    folder = write_pictures(tmp_path / "live", "%02d.png", 0, clip_frames[:6])
    with PacedSource(folder, fps=50) as source:
        frames = list(source.frames())
    assert [round(f.time, 3) for f in frames] == [0, 0.02, 0.04, 0.06, 0.08, 0.1]
    assert min(psnr(f.image, c) for f, c in zip(frames, clip_frames)) > 40


def read_pictures(folder: Path, names: list[str]) -> list[np.ndarray]:
    """Pictures read back by OpenCV, by name."""
    return [cv2.cvtColor(cv2.imread(str(folder / name)), cv2.COLOR_BGR2RGB) for name in names]


def test_a_video_renders_into_numbered_pictures(data: Path, tmp_path: Path, style):
    """For editing and compositing: one lossless PNG a frame, numbered from 1 as FFmpeg numbers,
    each the network's own painting of its frame; the sound named as left out, the rate to import
    them at said; the check counts the pictures."""
    out = tmp_path / "painted"
    out.mkdir()
    report = rtstyle.render(data / "walk_tone.mp4", out / "walk_%04d.png", style, smooth="none")
    assert report.check.ok and report.check.summary() == "ok: 30 pictures, one for each frame, match the input"
    assert "audio stream 1 (aac) left out: an image sequence has no sound" in report.notes
    assert "pictures carry no frame rate: import them at 10 fps" in report.notes
    names = sorted(f.name for f in out.iterdir())
    assert names == [f"walk_{n:04d}.png" for n in range(1, 31)]
    painted = [style(f) for f in decode_video(data / "walk_tone.mp4")]
    assert min(psnr(a, b) for a, b in zip(read_pictures(out, names), painted)) > 40


def test_a_sequence_keeps_its_numbers_and_an_earlier_render_is_replaced(clip_frames, tmp_path: Path, style):
    """Pictures 1001-1012 painted are 1001-1012; a part from 0.2 s (picture 1006 at 25 fps)
    starts at 1006; a picture lost on the way leaves its number out. Pictures of an earlier,
    longer render are refused, and with --overwrite all replaced: none stays behind."""
    folder = write_pictures(tmp_path / "in", "shot.%04d.png", 1001, clip_frames)
    out = tmp_path / "out"
    out.mkdir()
    pattern = out / "painted.%04d.png"
    assert rtstyle.render(folder, pattern, style, smooth="none").check.ok
    assert sorted(f.name for f in out.iterdir()) == [f"painted.{n}.png" for n in range(1001, 1013)]
    with pytest.raises(rtstyle.SinkError, match="12 pictures named painted.%04d.png exist"):
        rtstyle.render(folder, pattern, style)
    report = rtstyle.render(folder, pattern, style, smooth="none", overwrite=True, start=0.2, duration=0.2)
    assert report.check.ok and report.check.frames == 5
    names = sorted(f.name for f in out.iterdir())
    assert names == [f"painted.{n}.png" for n in range(1006, 1011)]
    assert min(psnr(a, style(b)) for a, b in zip(read_pictures(out, names), clip_frames[5:10])) > 40
    (folder / "shot.1003.png").write_bytes((folder / "shot.1003.png").read_bytes()[:2000])
    assert rtstyle.render(folder, pattern, style, overwrite=True).check.ok
    assert sorted(f.name for f in out.iterdir()) == [f"painted.{n}.png" for n in range(1001, 1013) if n != 1003]


def test_the_input_pictures_are_never_written_over(clip_frames, tmp_path: Path, tiny_model: Path):
    """Even with --overwrite, which replaces a pattern's pictures: one line, the input untouched."""
    folder = write_pictures(tmp_path / "shot", "f_%04d.png", 1, clip_frames[:3])
    before = {f.name: f.read_bytes() for f in folder.iterdir()}
    for src in (folder, folder / "f_%04d.png"):
        r = run("render", src, tmp_path / "shot" / ".." / "shot" / "f_%04d.png", "--style", tiny_model, "--overwrite")
        assert_one_line_error(r, "output is the input's pictures")
    assert {f.name: f.read_bytes() for f in folder.iterdir()} == before


def test_numbered_pictures_on_a_full_disk_leave_whole_pictures_only(data: Path, tmp_path: Path, tiny_model: Path):
    """A file size limit stands in for a full disk: one error line, no picture half written."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(data / "walk_tone.mp4"),
                        str(tmp_path / "p_%04d.png"), "--style", str(tiny_model)], cwd=ROOT, capture_output=True,
                       text=True, timeout=300, preexec_fn=lambda: limit_file_size(20_000))
    assert_one_line_error(r, "cannot write")
    assert "p_0001.png: File too large (disk full or file size limit)" in r.stderr
    assert not list(tmp_path.iterdir()), "nothing half written is left"


def test_numbered_pictures_are_a_render_output_only(data: Path, tmp_path: Path, tiny_model: Path):
    assert_one_line_error(run("render", data / "walk_tone.mp4", tmp_path / "p_%04d.xyz", "--style", tiny_model),
                          "pictures of a sequence are written as .bmp, .exr, .jpeg, .jpg, .png")
    assert_one_line_error(run("live", "--source", data / "walk_tone.mp4", "--record", tmp_path / "p_%04d.png",
                              "--no-window", "--style", tiny_model),
                          "numbered pictures are written by `rtstyle render`")
    assert not list(tmp_path.iterdir())


def test_image_on_the_frames_of_a_shot_says_how_to_paint_them_steadily(data: Path, tmp_path: Path, tiny_model: Path):
    """`rtstyle image` paints pictures one by one: on a shot's frames (neighbours nearly the same)
    it says how to paint them with smoothing; on photos a camera numbered it says nothing."""
    write_pictures(tmp_path / "shot", "f_%04d.png", 1, decode_video(data / "walk_tone.mp4")[:8])
    photos = [cv2.cvtColor(cv2.resize(cv2.imread(str(data / name)), (320, 240)), cv2.COLOR_BGR2RGB)
              for name in ("messi5.jpg", "astronaut_face.jpg", "starry_night_256.jpg", "wave_256.jpg") * 2]
    write_pictures(tmp_path / "holiday", "IMG_%04d.jpg", 1, photos)
    r = run("image", tmp_path / "shot", tmp_path / "a", "--style", tiny_model)
    assert r.returncode == 0 and "holds the 8 frames of a shot: painted one by one they flicker" in r.stderr
    assert f'rtstyle render {tmp_path / "shot"} "{tmp_path / "a" / "f_%04d.png"}" --fps RATE' in r.stderr
    r = run("image", tmp_path / "holiday", tmp_path / "b", "--style", tiny_model)
    assert r.returncode == 0 and "note:" not in r.stderr, r.stderr


def test_transparency_stays_in_pictures_that_hold_it(clip_frames, tmp_path: Path, style):
    """A render with a transparent background: painted into .png pictures it keeps its alpha,
    exactly, for compositing; a video or .jpg pictures cannot hold it, and a note says where it
    is kept."""
    folder = tmp_path / "rgba"
    alpha = transparent_shot(clip_frames[:4], folder)
    out = tmp_path / "out"
    out.mkdir()
    report = rtstyle.render(folder, out / "p_%04d.png", style, smooth="none")
    assert report.check.ok and not any("alpha" in note for note in report.notes), report.notes
    for n, frame in enumerate(clip_frames[:4], start=1):
        written = cv2.imread(str(out / f"p_{n:04d}.png"), cv2.IMREAD_UNCHANGED)
        assert written.shape == (240, 320, 4) and np.array_equal(written[..., 3], alpha)
        assert psnr(cv2.cvtColor(written[..., :3], cv2.COLOR_BGR2RGB), style(frame)) > 40
    for dst in (out / "j_%04d.jpg", tmp_path / "v.mp4"):
        report = rtstyle.render(folder, dst, style)
        assert report.check.ok and any(note.startswith("alpha channel dropped") and "numbered .png" in note
                                       for note in report.notes), report.notes
    assert cv2.imread(str(out / "j_0001.jpg"), cv2.IMREAD_UNCHANGED).shape == (240, 320, 3)


def _exr_planes(path: Path) -> dict[str, np.ndarray]:
    """An EXR's stored floats by channel, read here from FFmpeg's planes (G, B, R, A)."""
    with av.open(str(path), format="image2") as c:
        frame = next(c.decode(video=0))
    assert frame.format.name == "gbrapf16le", "half floats with alpha"
    planes = [np.frombuffer(p, np.float16).reshape(p.height, -1)[:, :p.width].astype(np.float32) for p in frame.planes]
    return dict(zip("gbra", planes))


def test_openexr_pictures_out_hold_linear_light_for_a_compositor(clip_frames, tmp_path: Path, tiny_model: Path):
    """render into numbered .exr pictures: the painting in the linear light an EXR holds (the sRGB
    formula, IEC 61966-2-1, undone here by hand), in half floats, the colours premultiplied by the
    input's alpha as EXR stores them; read back as a picture, the painting itself."""
    style = rtstyle.load_style(tiny_model, threads=1)
    folder = tmp_path / "rgba"
    alpha = transparent_shot(clip_frames[:3], folder)
    out = tmp_path / "out"
    out.mkdir()
    report = rtstyle.render(folder, out / "p_%04d.exr", style, smooth="none")
    assert report.check.ok and report.frames_out == 3 and not any("alpha" in n for n in report.notes), report.notes
    a = alpha.astype(np.float32) / 255
    for n, frame in enumerate(clip_frames[:3], start=1):
        painted = style(frame).astype(np.float64) / 255
        linear = np.where(painted <= 0.04045, painted / 12.92, ((painted + 0.055) / 1.055) ** 2.4)
        stored = _exr_planes(out / f"p_{n:04d}.exr")
        assert np.allclose(stored["a"], a, atol=1e-3)
        for k, channel in enumerate("rgb"):
            assert np.allclose(stored[channel], linear[..., k] * a, rtol=2e-3, atol=1e-5), (n, channel)
    back = rtstyle.sources.read_image(out / "p_0001.exr", alpha=True)
    opaque = alpha == 255
    assert np.array_equal(back[..., 3], alpha) and np.array_equal(back[opaque][:, :3], style(clip_frames[0])[opaque])
    r = run("image", DATA / "messi5.jpg", tmp_path / "messi.exr", "--style", tiny_model)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(rtstyle.sources.read_image(tmp_path / "messi.exr"), style(rtstyle.sources.read_image(
        DATA / "messi5.jpg"))), "an opaque painting comes back level for level"
    (tmp_path / "plates").mkdir()
    (tmp_path / "messi.exr").rename(tmp_path / "plates" / "messi.exr")
    r = run("image", tmp_path / "plates", tmp_path / "painted", "--style", tiny_model)  # an EXR stays one
    assert r.returncode == 0 and [p.name for p in (tmp_path / "painted").iterdir()] == ["messi.exr"], r.stderr
    levels = np.arange(256, dtype=np.uint8)
    ramps = np.ascontiguousarray(np.stack([levels, levels[::-1], levels // 2], axis=1)[None].repeat(2, 0))
    rtstyle.sinks.write_image(tmp_path / "ramps.exr", ramps)  # every level, a different one in each channel
    assert np.array_equal(rtstyle.sources.read_image(tmp_path / "ramps.exr"), ramps)


def test_a_transparent_openexr_is_painted_in_its_own_colours_not_darkened_by_its_alpha(clip_frames, tmp_path: Path,
                                                                                      tiny_model: Path):
    """EXR stores colours premultiplied by alpha: where an output keeps the alpha, the picture is
    painted from the colours divided by it again (a half-transparent edge is not painted dark and
    then made half transparent once more); a video, which drops it, gets the colours as stored."""
    style = rtstyle.load_style(tiny_model, threads=1)
    alpha = np.ones((240, 320), np.float32)
    alpha[:, 100:220] = 0.5
    level = clip_frames[0].astype(np.float64) / 255
    linear = np.where(level <= 0.04045, level / 12.92, ((level + 0.055) / 1.055) ** 2.4).astype(np.float32)
    folder = tmp_path / "exr"
    folder.mkdir()
    with av.open(str(folder / "plate_%04d.exr"), "w", format="image2") as c:
        stream = c.add_stream("exr", rate=25, options={"format": "float"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "gbrapf32le"
        frame = av.VideoFrame.from_ndarray(np.dstack([linear * alpha[..., None], alpha]), format="gbrapf32le")
        for packet in [*stream.encode(frame), *stream.encode()]:
            c.mux(packet)
    rtstyle.stylize_image(folder / "plate_0001.exr", tmp_path / "plate.png", style)
    report = rtstyle.render(folder, tmp_path / "p_%04d.png", style, smooth="none")
    assert report.check.ok
    for written in (tmp_path / "plate.png", tmp_path / "p_0001.png"):
        rgba = rtstyle.sources.read_image(written, alpha=True)
        assert np.array_equal(rgba[..., 3], np.round(alpha * 255).astype(np.uint8))
        assert psnr(rgba[..., :3], style(clip_frames[0])) > 45, written.name
    rtstyle.stylize_image(folder / "plate_0001.exr", tmp_path / "plate.jpg", style)  # the alpha dropped
    stored, band = rtstyle.sources.read_image(folder / "plate_0001.exr"), np.s_[:, 100:220]
    assert psnr(stored[band], clip_frames[0][band]) < 20, "stored darker where half transparent"
    jpeg = rtstyle.sources.read_image(tmp_path / "plate.jpg")[band]
    near, far = psnr(jpeg, style(stored)[band]), psnr(jpeg, style(clip_frames[0])[band])
    assert near > far + 3, (near, far)


def test_transparency_is_kept_from_the_frame_that_has_it(clip_frames, tmp_path: Path, style):
    """A sequence whose first picture is opaque RGB and the others transparent."""
    folder = write_pictures(tmp_path / "in", "c_%04d.png", 1, clip_frames[:1])
    alpha = np.tile(np.linspace(0, 255, 320).astype(np.uint8), (240, 1))
    for n, frame in enumerate(clip_frames[1:3], start=2):
        cv2.imwrite(str(folder / f"c_{n:04d}.png"), cv2.cvtColor(np.dstack([frame, alpha]), cv2.COLOR_RGBA2BGRA))
    out = tmp_path / "out"
    out.mkdir()
    assert rtstyle.render(folder, out / "p_%04d.png", style).check.ok
    assert cv2.imread(str(out / "p_0001.png"), cv2.IMREAD_UNCHANGED).shape == (240, 320, 3)
    for n in (2, 3):
        assert np.array_equal(cv2.imread(str(out / f"p_{n:04d}.png"), cv2.IMREAD_UNCHANGED)[..., 3], alpha)
