"""A painting keeps its photo's date, place and camera (EXIF), as a render keeps a video's: read
back by Pillow, an independent reader, from every format that takes it."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

Image = pytest.importorskip("PIL.Image")
pillow_heif = pytest.importorskip("pillow_heif")
pillow_heif.register_heif_opener()

import rtstyle  # noqa: E402  after the skips: Pillow comes with the [test] extra
from test_render import tagged_copy  # noqa: E402

EXIF_IFD, GPS_IFD, THUMBNAIL_IFD = 0x8769, 0x8825, 1
TAKEN = "2024:05:01 09:59:58"


def phone_photo(data: Path, path: Path, order: str = ">") -> dict:
    """messi5.jpg stored turned a quarter with EXIF orientation 6, as a phone saves a tall photo, with
    its date, time zone, place, camera, a maker note and a thumbnail, in the byte ``order`` given
    (big-endian as Apple's, "<" little as Canon's); returns the EXIF written."""
    photo = Image.open(data / "messi5.jpg")
    exif = Image.Exif()
    exif.endian = order
    exif[0x010F], exif[0x0110], exif[0x0112], exif[0x0132] = "Apple", "iPhone 15 Pro", 6, "2024:05:01 10:00:00"
    taken = exif.get_ifd(EXIF_IFD)
    taken[0x9003], taken[0x9011], taken[0x927C], taken[0xA001] = TAKEN, "+02:00", b"maker" * 20, 0xFFFF
    place = exif.get_ifd(GPS_IFD)
    place[1], place[2], place[3], place[4] = "N", (48.0, 51.0, 29.5), "E", (2.0, 17.0, 40.2)
    stored = photo.transpose(Image.Transpose.ROTATE_90)
    if path.suffix == ".heic":
        pillow_heif.from_pillow(stored).save(path, exif=exif.tobytes(), quality=90)
    else:
        thumbnail = exif.get_ifd(THUMBNAIL_IFD)  # the photo small, unpainted: a painting must not keep it
        thumbnail[0x0103] = 6
        stored.save(path, exif=exif, **({"quality": 95} if path.suffix in (".jpg", ".webp") else {}))
    return {"size": photo.size, "exif": exif}


@pytest.mark.parametrize("src, dst, order", [
    (".jpg", ".jpg", ">"), (".jpg", ".png", ">"), (".jpg", ".webp", ">"), (".jpg", ".heic", ">"),
    (".heic", ".jpg", ">"), (".heic", ".heic", ">"), (".png", ".webp", ">"), (".webp", ".png", ">"),
    (".jpg", ".jpg", "<"), (".jpg", ".heic", "<")])
def test_a_painting_keeps_the_photos_date_place_and_camera(src: str, dst: str, order: str, data: Path, tmp_path: Path,
                                                           tiny_model: Path):
    photo = phone_photo(data, tmp_path / f"photo{src}", order)
    assert (tmp_path / f"photo{src}").read_bytes().find(b"II*\0" if order == "<" else b"MM\0*") > 0
    rtstyle.stylize_image(tmp_path / f"photo{src}", tmp_path / f"painted{dst}", tiny_model)
    painted = Image.open(tmp_path / f"painted{dst}")
    exif = painted.getexif()
    assert painted.size == photo["size"]  # upright: turned once, by rtstyle
    assert exif.get(0x0112) == 1  # and says so: a viewer must not turn it again
    for tag in (0x010F, 0x0110, 0x0132):
        assert exif[tag] == photo["exif"][tag]
    taken = exif.get_ifd(EXIF_IFD)
    assert taken[0x9003] == TAKEN and taken[0x9011] == "+02:00"
    assert taken[0xA001] == 1  # sRGB, as the painting is
    assert 0x927C not in taken  # no maker note: its offsets point into the photo's file
    assert exif.get_ifd(GPS_IFD) == photo["exif"].get_ifd(GPS_IFD)
    assert not exif.get_ifd(THUMBNAIL_IFD)


@pytest.mark.parametrize("dst", [".jpg", ".png", ".webp", ".heic"])
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_the_exif_leaves_the_painting_as_it_was(dst: str, mode: str, data: Path, tmp_path: Path, tiny_model: Path):
    """A photo with EXIF and the same pixels without: their paintings decode the same (Pillow), the
    first's file longer by its EXIF. A WebP is made extended to say it holds EXIF (RGB: OpenCV's is
    simple), or has its flag set (RGBA: already extended for its alpha)."""
    pixels = Image.open(data / "messi5.jpg").convert(mode)
    if mode == "RGBA":
        pixels.putalpha(Image.linear_gradient("L").resize(pixels.size))
    exif = Image.Exif()
    exif[0x0132] = "2024:05:01 10:00:00"
    exif.get_ifd(EXIF_IFD)[0x9003] = TAKEN
    pixels.save(tmp_path / "with.png", exif=exif)
    pixels.save(tmp_path / "bare.png")
    for name in ("with", "bare"):
        rtstyle.stylize_image(tmp_path / f"{name}.png", tmp_path / f"{name}_painted{dst}", tiny_model)
    with Image.open(tmp_path / f"with_painted{dst}") as a, Image.open(tmp_path / f"bare_painted{dst}") as b:
        assert a.getexif().get_ifd(EXIF_IFD)[0x9003] == TAKEN and not b.getexif()
        assert a.mode == b.mode == ("RGB" if dst == ".jpg" else mode)  # a JPEG has no alpha
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert (tmp_path / f"with_painted{dst}").stat().st_size > (tmp_path / f"bare_painted{dst}").stat().st_size


def test_a_picture_without_exif_or_a_video_frame_gets_none(data: Path, tmp_path: Path, tiny_model: Path):
    Image.open(data / "messi5.jpg").save(tmp_path / "plain.png")
    rtstyle.stylize_image(tmp_path / "plain.png", tmp_path / "plain_out.jpg", tiny_model)
    rtstyle.stylize_image(data / "walk_tone.mp4", tmp_path / "frame.jpg", tiny_model)
    for out in ("plain_out.jpg", "frame.jpg"):
        assert not Image.open(tmp_path / out).getexif()


def test_damaged_exif_loses_what_it_cannot_say_and_nothing_else(data: Path, tmp_path: Path, tiny_model: Path):
    """An EXIF whose GPS directory points past the file's end, and whose camera model claims 4 billion
    characters (a file damaged in transfer): the painting is written with the dates and the make."""
    phone_photo(data, tmp_path / "photo.jpg")
    raw = bytearray((tmp_path / "photo.jpg").read_bytes())
    gps = raw.index(bytes.fromhex("8825 0004 00000001"))
    raw[gps + 8:gps + 12] = (0x7FFFFFF0).to_bytes(4, "big")
    model = raw.index(bytes.fromhex("0110 0002"))
    raw[model + 4:model + 8] = (0xFFFFFFFF).to_bytes(4, "big")
    (tmp_path / "damaged.jpg").write_bytes(bytes(raw))
    rtstyle.stylize_image(tmp_path / "damaged.jpg", tmp_path / "painted.jpg", tiny_model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow warns of an entry whose value is cut short
        with Image.open(tmp_path / "painted.jpg") as painted:
            exif = painted.getexif()
    assert exif[0x010F] == "Apple" and exif.get_ifd(EXIF_IFD)[0x9003] == TAKEN
    assert 0x0110 not in exif and not exif.get_ifd(GPS_IFD)


def test_an_exif_too_long_for_a_jpeg_is_left_out_of_one(data: Path, tmp_path: Path, tiny_model: Path):
    """A PNG's EXIF may be any length, a JPEG's must fit one 64 KB segment: a 70,000-character artist
    leaves the JPEG painting without EXIF (and whole), the PNG one with it."""
    exif = Image.Exif()
    exif[0x013B] = "A" * 70_000
    Image.open(data / "messi5.jpg").save(tmp_path / "long.png", exif=exif)
    for dst in ("painted.jpg", "painted.png"):
        rtstyle.stylize_image(tmp_path / "long.png", tmp_path / dst, tiny_model)
    with Image.open(tmp_path / "painted.jpg") as jpeg, Image.open(tmp_path / "painted.png") as png:
        jpeg.load()
        assert not jpeg.getexif() and png.getexif()[0x013B] == "A" * 70_000


@pytest.mark.parametrize("tags, taken, zone", [
    ({"creation_time": "2024-06-01T10:00:00.000000Z", "location": "+48.8584+002.2945+035.000/"},
     "2024:06:01 10:00:02", "+00:00"),
    ({"com.apple.quicktime.creationdate": "2023-05-01T23:59:58+0200", "creation_time": "2023-05-01T21:59:58.000000Z",
      "com.apple.quicktime.location.ISO6709": "+48.8584+002.2945+035.000/", "com.apple.quicktime.make": "Apple",
      "com.apple.quicktime.model": "iPhone 15 Pro"}, "2023:05:02 00:00:00", "+02:00")])
def test_a_still_from_a_video_says_when_and_where_its_frame_was_filmed(tags: dict, taken: str, zone: str, data: Path,
                                                                      tmp_path: Path, tiny_model: Path):
    """`image --at 2.5` of a video: the painting's EXIF dates the frame (the recording's start moved
    on 2.5 s, in the iPhone's local time and zone where it says them, else UTC as MP4 does; across
    midnight here) and places it where the video was filmed (ISO 6709 as GPS degrees, minutes,
    seconds), read back by Pillow."""
    apple = any(k.startswith("com.apple") for k in tags)  # written as QuickTime's own (mdta) keys
    video = tagged_copy(data, tmp_path / "clip.mov", tags, {"movflags": "use_metadata_tags"} if apple else None)
    rtstyle.stylize_image(video, tmp_path / "still.jpg", tiny_model, at=2.5)
    exif = Image.open(tmp_path / "still.jpg").getexif()
    filmed = exif.get_ifd(EXIF_IFD)
    assert (filmed[0x9003], filmed[0x9011], filmed[0x9291]) == (taken, zone, "500")
    assert exif[0x0132] == taken and exif[0x0112] == 1
    place = exif.get_ifd(GPS_IFD)
    assert (place[1], place[3], place[6]) == ("N", "E", 35.0)
    assert place[2] == pytest.approx((48, 51, 30.24)) and place[4] == pytest.approx((2, 17, 40.2))
    if "com.apple.quicktime.make" in tags:
        assert (exif[0x010F], exif[0x0110]) == ("Apple", "iPhone 15 Pro")


def test_a_still_from_a_video_that_says_nothing_has_no_exif(data: Path, tmp_path: Path, tiny_model: Path):
    rtstyle.stylize_image(data / "walk_tone.mp4", tmp_path / "still.jpg", tiny_model, at=1.0)
    assert not Image.open(tmp_path / "still.jpg").getexif()
