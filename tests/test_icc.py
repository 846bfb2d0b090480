"""A photo's ICC colour profile (an iPhone's Display P3) is carried into its painting: read from
each format's header, written into each format that keeps one, and read back by Pillow
(LittleCMS checks the profile, libjpeg, libpng, libwebp and libtiff the files around it)."""
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
from rtstyle import icc
from test_cli import rtstyle

# Display P3's primaries as Apple's profile states them (XYZ, adapted to D50).
P3_COLORANTS = ((0.5151, 0.2412, -0.0011), (0.2919, 0.6922, 0.0419), (0.1571, 0.0666, 0.7841))
D50 = (0.9642, 1.0, 0.8249)
KEEPING = (".jpg", ".png", ".webp", ".tif", ".heic")


def make_profile(name: str, colorants=P3_COLORANTS, curve_points: int = 1024, space: bytes = b"RGB ") -> bytes:
    """An ICC v2 display profile: ``colorants`` and a tone curve of ``curve_points`` (sRGB's);
    a long curve makes a profile larger than one JPEG segment holds, as a camera's can be."""
    def xyz(values) -> bytes:
        return b"XYZ \0\0\0\0" + b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    ramp = np.linspace(0, 1, curve_points)
    curve = np.where(ramp <= 0.04045, ramp / 12.92, ((ramp + 0.055) / 1.055) ** 2.4)
    trc = b"curv\0\0\0\0" + struct.pack(">I", curve_points) + (curve * 65535).round().astype(">u2").tobytes()
    text = name.encode() + b"\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    tags = [(b"desc", desc), (b"wtpt", xyz(D50)), (b"rXYZ", xyz(colorants[0])), (b"gXYZ", xyz(colorants[1])),
            (b"bXYZ", xyz(colorants[2])), (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
            (b"cprt", b"text\0\0\0\0No copyright, test data\0")]
    table_end = 128 + 4 + 12 * len(tags)
    body, entries = b"", b""
    for signature, data in tags:
        data += b"\0" * (-len(data) % 4)
        entries += signature + struct.pack(">II", table_end + len(body), len(data))
        body += data
    size = table_end + len(body)
    header = (struct.pack(">I", size) + b"lcms" + bytes([2, 0x10, 0, 0]) + b"mntr" + space + b"XYZ " + b"\0" * 12
              + b"acsp" + b"\0" * 24 + struct.pack(">I", 0) + xyz(D50)[8:] + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + entries + body


@pytest.fixture(scope="module")
def p3() -> bytes:
    return make_profile("Display P3")


@pytest.fixture(scope="module")
def photo(data: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(data / "messi5.jpg")), cv2.COLOR_BGR2RGB)


def _save(rgb: np.ndarray, path: Path, profile: bytes) -> Path:
    """A photo with ``profile`` as a camera writes one: by Pillow (HEIC by pillow-heif), lossless where it can be."""
    options = {"lossless": True} if path.suffix == ".webp" else {"quality": 95}
    if path.suffix == ".heic":
        pillow_heif.from_pillow(Image.fromarray(rgb)).save(path, icc_profile=profile, quality=95)
    else:
        Image.fromarray(rgb).save(path, icc_profile=profile, **options)
    return path


def _profile_pillow_reads(path: Path) -> bytes | None:
    if path.suffix == ".heic":
        return pillow_heif.open_heif(path).info.get("icc_profile")
    return Image.open(path).info.get("icc_profile")


def test_the_profile_is_read_from_every_format(tmp_path: Path, photo: np.ndarray, p3: bytes):
    """Pillow's profile is valid (LittleCMS reads its name), and rtstyle reads it back from each
    format a camera or phone writes; a photo with none, or with one for CMYK, gives none."""
    assert ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(p3))).strip() == "Display P3"
    for suffix in KEEPING:
        assert icc.read(_save(photo, tmp_path / f"photo{suffix}", p3)) == p3, suffix
    Image.fromarray(photo).save(tmp_path / "plain.jpg")
    assert icc.read(tmp_path / "plain.jpg") is None
    Image.fromarray(photo).convert("CMYK").save(tmp_path / "print.jpg", icc_profile=make_profile("Coated",
                                                                                                 space=b"CMYK"))
    assert Image.open(tmp_path / "print.jpg").info["icc_profile"][16:20] == b"CMYK"
    assert icc.read(tmp_path / "print.jpg") is None


def test_the_painting_keeps_the_photos_profile(tmp_path: Path, tiny_model: Path, photo: np.ndarray, p3: bytes):
    """A Display P3 photo painted into each format that keeps a profile: Pillow reads the same
    profile from the painting, and the picture around it whole: the network's own painting,
    level for level where the format is lossless, within JPEG's, WebP's and HEVC's loss where not."""
    src = _save(photo, tmp_path / "photo.png", p3)
    style = lib.load_style(tiny_model)
    painted = style(photo)
    for suffix in KEEPING:
        out = tmp_path / f"painted{suffix}"
        assert lib.stylize_image(src, out, style) == [], suffix
        assert _profile_pillow_reads(out) == p3, suffix
        shown = np.asarray(pillow_heif.open_heif(out) if suffix == ".heic" else Image.open(out).convert("RGB"))
        error = np.abs(shown.astype(int) - painted).mean()
        assert error == 0 if suffix in (".png", ".tif") else error < 4, (suffix, error)


def test_a_large_profile_in_several_jpeg_segments(tmp_path: Path, tiny_model: Path, photo: np.ndarray):
    """A profile of 160 KB (a camera's or a printer's tables) spans three JPEG segments: read
    in their order, written as three again; one whose last segment was lost is not carried."""
    large = make_profile("Camera RGB", curve_points=26_000)
    assert len(large) > 2 * icc.JPEG_PART
    src = _save(photo, tmp_path / "photo.jpg", large)
    assert icc.read(src) == large
    lib.stylize_image(src, tmp_path / "painted.jpg", lib.load_style(tiny_model))
    assert Image.open(tmp_path / "painted.jpg").info["icc_profile"] == large
    assert cv2.imread(str(tmp_path / "painted.jpg")).shape == photo.shape

    jpeg = cv2.imencode(".jpg", photo)[1].tobytes()
    (tmp_path / "cut.jpg").write_bytes(icc.embed(jpeg, large[:2 * icc.JPEG_PART]))  # its last segment lost
    assert icc.read(tmp_path / "cut.jpg") is None


def test_a_transparent_webp_and_tiff_keep_alpha_and_profile(tmp_path: Path, tiny_model: Path, photo: np.ndarray,
                                                            p3: bytes):
    """The WebP's extended header keeps saying it has alpha beside the profile; the TIFF's
    directory, moved to point to the profile, keeps its other entries: the painting (within
    WebP's loss) and the alpha as they were."""
    alpha = np.zeros(photo.shape[:2], np.uint8)
    cv2.circle(alpha, (photo.shape[1] // 3, photo.shape[0] // 2), photo.shape[0] // 3, 255, -1)
    src = _save(np.dstack([photo, alpha]), tmp_path / "logo.png", p3)
    painted = lib.load_style(tiny_model)(photo)
    for suffix in (".webp", ".tif"):
        out = tmp_path / f"painted{suffix}"
        lib.stylize_image(src, out, lib.load_style(tiny_model))
        shown = Image.open(out)
        assert shown.info["icc_profile"] == p3 and shown.mode == "RGBA", suffix
        pixels, seen = np.asarray(shown), alpha > 0  # libwebp drops the colours where nothing shows
        error = np.abs(pixels[seen, :3].astype(int) - painted[seen]).mean()
        assert np.array_equal(pixels[..., 3], alpha) and error <= (4 if suffix == ".webp" else 0), (suffix, error)
        # OpenCV (libwebp's WebPGetFeatures) asks the extended header whether there is alpha
        assert cv2.imread(str(out), cv2.IMREAD_UNCHANGED).shape[2] == 4, suffix


def test_a_format_without_profiles_says_so(tmp_path: Path, tiny_model: Path, photo: np.ndarray, p3: bytes):
    """.avif, .bmp and .exr are written without a profile: a note says a Display P3 photo's
    colours show as sRGB in them; an sRGB profile (Pillow's, LittleCMS's) loses nothing: no note."""
    src = _save(photo, tmp_path / "photo.jpg", p3)
    r = rtstyle("image", src, tmp_path / "painted.bmp", "--style", tiny_model)
    assert r.returncode == 0, r.stderr
    assert ("note: colour profile 'Display P3' dropped: .bmp is written without one, so its colours show as sRGB"
            in r.stderr), r.stderr
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert icc.is_srgb(srgb) and not icc.is_srgb(p3)
    assert icc.describe(srgb) == "sRGB built-in"  # ICC v4's multilingual name
    notes = lib.stylize_image(_save(photo, tmp_path / "srgb.jpg", srgb), tmp_path / "painted.exr", tiny_model)
    assert not any("profile" in note for note in notes), notes


def test_a_contact_sheet_keeps_the_profile(tmp_path: Path, tiny_model: Path, photo: np.ndarray, p3: bytes):
    src = _save(photo, tmp_path / "photo.heic", p3)
    r = rtstyle("sheet", src, tmp_path / "sheet.jpg", "--style", tiny_model)
    assert r.returncode == 0, r.stderr
    assert Image.open(tmp_path / "sheet.jpg").info["icc_profile"] == p3
