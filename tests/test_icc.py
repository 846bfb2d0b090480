"""A picture's ICC colour profile (an iPhone's Display P3, a camera's Adobe RGB): read from each
format's header, and its colours converted to sRGB as they are read, as LittleCMS (through
Pillow's ImageCms, a reader and converter apart from rtstyle's) converts them."""
from __future__ import annotations

import io
import struct
from pathlib import Path

import cv2
import numpy as np
import pillow_heif
import pytest
from PIL import Image, ImageCms

import rtstyle as lib
from rtstyle import exif, icc
from test_cli import rtstyle

# Primaries as ICC profiles state them (XYZ, adapted to D50): Display P3's as Apple's profile, Adobe RGB's.
P3 = ((0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
ADOBE = ((0.6097, 0.3111, 0.0195), (0.2053, 0.6257, 0.0609), (0.1492, 0.0632, 0.7446))
D50 = (0.9642, 1.0, 0.8249)
# ICC parametric curves (type: numbers): sRGB's as type 3 (Apple's Display P3) and 4, a gamma as
# type 0 (an ICC v4 Adobe RGB), sRGB's power segment alone as types 1 and 2 (2 and 4 raised a little).
PARAMETRIC = {"para3": (3, (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)),
              "para4": (4, (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045, 0.01, 0.005)),
              "para0": (0, (563 / 256,)), "para1": (1, (2.4, 1 / 1.055, 0.055 / 1.055)),
              "para2": (2, (2.4, 1 / 1.055, 0.055 / 1.055, 0.01))}


def make_profile(name: str, colorants=P3, curve: str = "para3", points: int = 1024, space: bytes = b"RGB ") -> bytes:
    """An ICC v2 display profile: ``colorants`` (None: none, as a profile of tables has) and a
    tone curve: a parametric one (:data:`PARAMETRIC`), sRGB's as a table of ``points``
    (``table``; a long one makes a profile larger than a JPEG segment holds), or Adobe RGB's
    gamma 563/256 (``gamma``)."""
    def xyz(values) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    if curve in PARAMETRIC:
        kind, numbers = PARAMETRIC[curve]
        trc = b"para\0\0\0\0" + struct.pack(">HH", kind, 0) + b"".join(struct.pack(">i", round(v * 65536))
                                                                       for v in numbers)
    elif curve == "gamma":
        trc = b"curv\0\0\0\0" + struct.pack(">IH", 1, 563)
    else:
        ramp = np.linspace(0, 1, points)
        linear = np.where(ramp <= 0.04045, ramp / 12.92, ((ramp + 0.055) / 1.055) ** 2.4)
        trc = b"curv\0\0\0\0" + struct.pack(">I", points) + (linear * 65535).round().astype(">u2").tobytes()
    text = name.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    primaries = [(b"rXYZ", xyz(colorants[0])), (b"gXYZ", xyz(colorants[1])), (b"bXYZ", xyz(colorants[2]))] \
        if colorants else []
    tags = [(b"desc", desc), (b"wtpt", xyz(D50)), *primaries, (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
            (b"cprt", b"text\0\0\0\0No copyright, test data\0")]
    table_end = 128 + 4 + 12 * len(tags)
    body, entries = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        entries += signature + struct.pack(">II", table_end + len(body), len(data))
        body += data
    header = (struct.pack(">I", table_end + len(body)) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + xyz(D50)[8:] + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + entries + body


def littlecms(rgb: np.ndarray, profile: bytes) -> np.ndarray:
    """``rgb`` in ``profile``'s colours -> sRGB, by LittleCMS (relative colorimetric)."""
    converted = ImageCms.profileToProfile(Image.fromarray(rgb), ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                          ImageCms.createProfile("sRGB"),
                                          renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
    return np.asarray(converted)


@pytest.fixture(scope="module")
def photo(data: Path) -> np.ndarray:
    """The photo, with saturated ramps of each hue on top: colours outside sRGB in a Display P3 one."""
    rgb = cv2.cvtColor(cv2.imread(str(data / "messi5.jpg")), cv2.COLOR_BGR2RGB)
    ramp = np.linspace(0, 255, rgb.shape[1]).astype(np.uint8)
    for row, mix in enumerate([(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1)]):
        rgb[row * 6:row * 6 + 6] = np.outer(ramp, mix)[None]
    return rgb


def _save(rgb: np.ndarray, path: Path, profile: bytes) -> Path:
    """A photo with ``profile`` as a camera writes one: by Pillow (HEIC by pillow-heif), lossless where it can be."""
    if path.suffix == ".heic":
        pillow_heif.from_pillow(Image.fromarray(rgb)).save(path, icc_profile=profile, quality=-1)
    else:
        Image.fromarray(rgb).save(path, icc_profile=profile, **({"lossless": True} if path.suffix == ".webp" else {}))
    return path


def test_the_profile_is_read_from_every_format(tmp_path: Path, photo: np.ndarray):
    """LittleCMS takes the test's profile (it reads its name), and rtstyle reads it back from
    each format a camera or phone writes, a large one (160 KB, three JPEG segments) in its
    segments' order; a photo with none, with one for CMYK, or with a segment of it lost, gives none."""
    p3 = make_profile("Display P3")
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(p3))).strip() == "Display P3"
    for suffix in (".jpg", ".png", ".webp", ".tif", ".heic"):
        assert icc.read(_save(photo, tmp_path / f"photo{suffix}", p3)) == p3, suffix
    large = make_profile("Camera RGB", curve="table", points=26_000)
    src = _save(photo, tmp_path / "large.jpg", large)
    assert icc.read(src) == large
    with open(src, "rb") as f:
        last = [(start, size) for marker, start, size in exif.jpeg_segments(f) if marker == 0xE2][-1]
    data = src.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:last[0] - 4] + data[last[0] + last[1]:])  # its last segment lost
    assert cv2.imread(str(tmp_path / "cut.jpg")) is not None and icc.read(tmp_path / "cut.jpg") is None

    Image.fromarray(photo).save(tmp_path / "plain.jpg")
    assert icc.read(tmp_path / "plain.jpg") is None
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "print.jpg", icc_profile=make_profile("Coated",
                                                                                                 space=b"CMYK"))
    assert Image.open(tmp_path / "print.jpg").info["icc_profile"][16:20] == b"CMYK"
    assert icc.read(tmp_path / "print.jpg") is None


@pytest.mark.parametrize("kind", ["p3_para3", "p3_table", "adobe_gamma", "adobe_para0", "p3_para1", "p3_para2",
                                  "p3_para4"])
def test_colours_are_converted_to_srgb_as_littlecms_does(kind: str, tmp_path: Path, photo: np.ndarray):
    """A Display P3 photo (its curve parametric as Apple's, a table, or the other parametric
    types) and an Adobe RGB one (a gamma): read_image gives what LittleCMS converts them to,
    within a level; the saturated ramps leave sRGB's gamut and are clipped as LittleCMS clips them."""
    space, curve = kind.split("_")
    profile, tables = make_profile(kind, P3 if space == "p3" else ADOBE, curve), make_profile("tables", None)
    assert np.abs(littlecms(photo, profile).astype(int) - photo).max() > 20  # far from the levels as stored
    for suffix in (".png", ".tif", ".heic"):
        path = _save(photo, tmp_path / f"photo{suffix}", profile)
        stored = np.asarray(pillow_heif.open_heif(path) if suffix == ".heic" else Image.open(path))  # HEVC's loss
        error = np.abs(lib.sources.read_image(path).astype(int) - littlecms(stored, profile))
        assert error.max() <= 1 and error.mean() < 0.1, (suffix, error.max(), error.mean())
        # a profile of tables (no primaries, no curves): read as stored
        assert np.array_equal(lib.sources.read_image(_save(photo, tmp_path / f"plain{suffix}", tables)),
                              stored if suffix == ".heic" else photo)


@pytest.mark.parametrize("space, index", [(0xFFFF, "R03"), (1, "R98"), (0xFFFF, "R98"), (1, "R03"), (0xFFFF, None)])
def test_a_cameras_adobe_rgb_jpeg_without_a_profile(space: int, index: str | None, tmp_path: Path,
                                                    photo: np.ndarray):
    """A camera set to Adobe RGB (a Canon) embeds no profile and says so in EXIF as DCF does:
    ColorSpace uncalibrated, InteroperabilityIndex R03. Converted as LittleCMS converts with an
    Adobe RGB profile (its primaries, gamma 563/256), within a level; an sRGB one (R98, ColorSpace
    1), and one that says only one of the two, read as stored."""
    exif_ifd = {0xA001: space} | ({0xA005: {1: index}} if index else {})
    tags = Image.Exif()
    tags[0x8769] = exif_ifd
    Image.fromarray(photo).save(tmp_path / "IMG_0001.JPG", exif=tags, quality=95)
    stored = np.asarray(Image.open(tmp_path / "IMG_0001.JPG"))
    adobe = space == 0xFFFF and index == "R03"
    want = littlecms(stored, make_profile("Adobe RGB (1998)", ADOBE, "gamma")) if adobe else stored
    assert np.abs(lib.sources.read_image(tmp_path / "IMG_0001.JPG").astype(int) - want).max() <= 1


def test_an_srgb_profile_changes_nothing(tmp_path: Path, photo: np.ndarray):
    """Many cameras and phones embed an sRGB profile (LittleCMS's here, ICC v4): the levels as stored."""
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert srgb[8] == 4 and icc.to_srgb(srgb) is None  # ICC v4
    assert np.array_equal(lib.sources.read_image(_save(photo, tmp_path / "srgb.png", srgb)), photo)


def test_a_display_p3_photo_is_painted_in_srgb(tmp_path: Path, tiny_model: Path, photo: np.ndarray):
    """`rtstyle image` and a sequence's render paint what the photo shows: at --strength 0 (the
    picture itself) the outputs are LittleCMS's sRGB of the photo, so every output format
    (none carries a profile) shows its colours."""
    p3 = make_profile("Display P3")
    want = littlecms(photo, p3)
    r = rtstyle("image", _save(photo, tmp_path / "photo.jpg", p3), tmp_path / "out.png", "--style", tiny_model,
                "--strength", "0")
    assert r.returncode == 0, r.stderr
    shown = littlecms(np.asarray(Image.open(tmp_path / "photo.jpg").convert("RGB")), p3)  # JPEG's loss aside
    assert np.abs(lib.sources.read_image(tmp_path / "out.png").astype(int) - shown).max() <= 1

    frames = tmp_path / "frames"
    frames.mkdir()
    (tmp_path / "out").mkdir()
    for n in (1, 2, 3):
        _save(np.roll(photo, 10 * n, axis=1), frames / f"f_{n:04d}.png", p3)
    r = rtstyle("render", frames, tmp_path / "out" / "p_%04d.png", "--style", tiny_model, "--strength", "0",
                "--smooth", "none", "--fps", "24")
    assert r.returncode == 0, r.stderr
    for n in (1, 2, 3):
        got = cv2.cvtColor(cv2.imread(str(tmp_path / "out" / f"p_{n:04d}.png")), cv2.COLOR_BGR2RGB)
        assert np.abs(got.astype(int) - np.roll(want, 10 * n, axis=1)).max() <= 1, n


def test_an_animated_png_with_a_profile_renders(tmp_path: Path, tiny_model: Path, photo: np.ndarray):
    """FFmpeg names a PNG's colour profile in its frames' side data, and PyAV 18 frees that name
    again after FFmpeg did: reading a PNG frame's side data crashed the render as it ended (exit
    status 139, its output written). An animated PNG (a video of PNG frames) exits 0."""
    frames = [Image.fromarray(np.roll(photo, 20 * n, axis=1)) for n in range(4)]
    frames[0].save(tmp_path / "anim.png", save_all=True, append_images=frames[1:], duration=100,
                   icc_profile=make_profile("Display P3"))
    r = rtstyle("render", tmp_path / "anim.png", tmp_path / "out.mp4", "--style", tiny_model)
    assert r.returncode == 0 and "A/V check: ok: 4 frames" in r.stderr, (r.returncode, r.stderr)
