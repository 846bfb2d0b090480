"""A picture's ICC colour profile, and its colours converted to sRGB, which the networks paint in.

A photo that is not in sRGB says so by the ICC profile in its header: an iPhone's Display P3, a
camera's Adobe RGB. OpenCV reads the levels as stored: taken as sRGB, a Display P3 photo's
colours are duller than it shows (an Adobe RGB one's greens too), the networks see other
colours than the photo's, and its painting shows them so. The networks learnt their palettes
from sRGB pictures, and a picture without a profile is shown as sRGB: a picture's colours are
converted to sRGB as it is read (rtstyle.sources.read_image; a sequence's frames as they are
decoded), from a display profile's tone curves and primaries, as LittleCMS converts them
(relative colorimetric); colours outside sRGB's gamut are clipped to it. A camera set to Adobe
RGB may embed no profile and say so in its EXIF only, as DCF has it: read as Adobe RGB then.
"""
from __future__ import annotations

import functools
import zlib
from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np

from rtstyle import exif, yuv

RGB = b"RGB "  # a profile's colour space field, for RGB pictures (not CMYK or grey ones)
JPEG_NAME = b"ICC_PROFILE\0"  # an APP2 segment holding a part of the profile, then its number and the count
TIFF_TAG = 34675  # InterColorProfile
# sRGB's red, green and blue as LittleCMS's sRGB profile states them: XYZ adapted to D50, rows.
SRGB_COLORANTS = np.array([[0.43603515625, 0.2224884033203125, 0.013916015625],
                           [0.3851165771484375, 0.7169036865234375, 0.0970611572265625],
                           [0.1430511474609375, 0.06060791015625, 0.7139129638671875]])
ADOBE_RGB_COLORANTS = ((0.60974, 0.31111, 0.01947), (0.20528, 0.62567, 0.06087), (0.14919, 0.06322, 0.74457))
# EXIF's tags that say a camera's colour space without a profile (DCF), beside the Exif directory's
# ColorSpace (rtstyle.exif: 1 sRGB, 0xFFFF uncalibrated): its Interoperability directory and that one's index.
INTEROP_IFD, INTEROP_INDEX, UNCALIBRATED = 0xA005, 0x0001, 0xFFFF
PARAMETERS = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}  # an ICC parametric curve's type: how many numbers it has
ENCODE_STEPS = 65536  # linear light quantised this finely before sRGB's curve (a table)


def read(path: str | Path) -> bytes | None:
    """The RGB profile a JPEG, PNG, WebP, TIFF or HEIC file embeds; None where it has none, one
    that is not for RGB or not whole (a JPEG segment of it lost), or the header cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            profile = _heif_profile(path) if head[4:8] == b"ftyp" else _header_profile(f, head)
    except (OSError, ValueError, IndexError, KeyError, zlib.error):  # KeyError: a TIFF without one
        return None
    whole = profile and len(profile) == int.from_bytes(profile[:4], "big")  # a profile states its size first
    return profile if whole and profile[16:20] == RGB else None


def _header_profile(f: BinaryIO, head: bytes) -> bytes | None:
    if head[:4] in exif.TIFF_MAGIC:
        order, entries = exif.ifd(f, 0)
        _, count, where = exif.entry(entries, TIFF_TAG)
        f.seek(int.from_bytes(where, order))
        return f.read(count)
    elif head[:2] == b"\xff\xd8":
        parts = {}
        for marker, start, size in exif.jpeg_segments(f):
            f.seek(start)
            if marker == 0xE2 and f.read(len(JPEG_NAME)) == JPEG_NAME:
                number = f.read(2)[0]
                parts[number] = f.read(size - len(JPEG_NAME) - 2)
        return b"".join(parts[number] for number in sorted(parts))
    elif head[:8] == exif.PNG_MAGIC:
        for kind, start, size in exif.chunks(f, exif.PNG):
            if kind == b"iCCP":  # a name, a zero, the compression method, the profile deflated
                f.seek(start)
                data = f.read(size)
                return zlib.decompress(data[data.index(b"\0") + 2:])
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        for kind, start, size in exif.chunks(f, exif.WEBP):
            if kind == b"ICCP":
                f.seek(start)
                return f.read(size)
    return None


def _heif_profile(path: str | Path) -> bytes | None:
    """A HEIC's profile, through pillow-heif (rtstyle[heic]); None without it (nor is the photo read)."""
    try:
        import pillow_heif
        return pillow_heif.open_heif(path).info.get("icc_profile")
    except (ImportError, RuntimeError):
        return None


def _tag(profile: bytes, name: bytes) -> bytes:
    """A tag's data (empty where the profile has no such tag): its table follows the 128-byte header."""
    for at in range(132, 132 + 12 * int.from_bytes(profile[128:132], "big"), 12):
        if profile[at:at + 4] == name:
            start = int.from_bytes(profile[at + 4:at + 8], "big")
            return profile[start:start + int.from_bytes(profile[at + 8:at + 12], "big")]
    return b""


class ToSrgb:
    """A display profile's levels -> sRGB's: its tone curves to linear light, its primaries to
    sRGB's (XYZ at D50 between, as a profile states its primaries), sRGB's curve again.
    Made once per profile: a sequence converts every frame with it."""

    def __init__(self, colorants: np.ndarray, curves: list[np.ndarray]):
        """``colorants``: red's, green's and blue's XYZ (rows); ``curves``: each channel's linear
        light at the 256 levels."""
        self.matrix = (np.linalg.inv(SRGB_COLORANTS.T) @ colorants.T).astype(np.float32)
        self.linear = np.stack(curves, axis=-1)[None].astype(np.float32)  # a 1x256 table of 3 channels, cv2.LUT's

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """8-bit RGB in the profile's colours -> 8-bit sRGB (20 ms for a 1080p frame on 2 slow cores)."""
        converted = cv2.transform(cv2.LUT(np.ascontiguousarray(rgb), self.linear), self.matrix)
        np.clip(converted, 0, 1, out=converted)
        converted *= ENCODE_STEPS - 1
        converted += 0.5
        return np.take(_srgb_table(), converted.astype(np.uint16))

    def changes_colours(self) -> bool:
        """Whether it moves any colour by more than a level: an sRGB profile (many cameras and
        phones embed one) needs no conversion."""
        ramp = np.arange(256)
        mixes = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (0, 1, 1), (1, 0, 1), (1, 1, 1)]  # ramps of each hue, grey
        colours = np.stack([np.outer(ramp, mix) for mix in mixes]).astype(np.uint8)
        return int(np.abs(self(colours).astype(int) - colours).max()) > 1


def from_profile(profile: bytes) -> ToSrgb:
    """The conversion a display profile states; ValueError for one without primaries and curves
    (one of tables: a printer's)."""
    colorants = np.array([_xyz(_tag(profile, name)) for name in (b"rXYZ", b"gXYZ", b"bXYZ")])
    levels = np.arange(256) / 255
    return ToSrgb(colorants, [_curve(_tag(profile, name), levels) for name in (b"rTRC", b"gTRC", b"bTRC")])


@functools.cache
def _srgb_table() -> np.ndarray:
    """sRGB's 8-bit code of each of ENCODE_STEPS linear lights from 0 to 1, made once for every conversion."""
    return yuv.srgb(np.linspace(0, 1, ENCODE_STEPS, dtype=np.float32))


@functools.lru_cache(maxsize=8)
def to_srgb(profile: bytes | None) -> ToSrgb | None:
    """The conversion of a picture's profile to sRGB; None where there is none to make (no
    profile, an sRGB one) or it cannot be made here (a profile of tables: read as sRGB). Kept
    for the next picture with the same profile (a folder of one phone's photos)."""
    if profile is None:
        return None
    try:
        convert = from_profile(profile)
    except (ValueError, ZeroDivisionError, np.linalg.LinAlgError):
        return None
    return convert if convert.changes_colours() else None


def converter(path: str | Path) -> ToSrgb | None:
    """How a picture file's colours become sRGB's: as its ICC profile says, or, without one, as
    Adobe RGB where its EXIF says so as cameras do (:func:`says_adobe_rgb`); None: they are."""
    profile = read(path)
    if profile is not None:
        return to_srgb(profile)
    return adobe_rgb() if says_adobe_rgb(path) else None


def says_adobe_rgb(path: str | Path) -> bool:
    """Whether a picture's EXIF says Adobe RGB as a camera set to it says so in a JPEG without a
    profile (a Canon's: DCF's ColorSpace "uncalibrated" with InteropIndex "R03")."""
    try:
        with open(path, "rb") as f:
            base = exif.tiff_block(f)
            if base is None:
                return False
            order, entries = exif.ifd(f, base)
            entries = exif.pointed(f, base, order, entries, exif.EXIF_POINTER)
            if int.from_bytes(exif.entry(entries, exif.COLOUR_SPACE_TAG)[2][:2], order) != UNCALIBRATED:
                return False
            return exif.entry(exif.pointed(f, base, order, entries, INTEROP_IFD), INTEROP_INDEX)[2][:3] == b"R03"
    except (OSError, ValueError, KeyError):
        return False


@functools.cache
def adobe_rgb() -> ToSrgb:
    """Adobe RGB (1998) to sRGB: its primaries as ICC profiles state them, its gamma 563/256."""
    return ToSrgb(np.array(ADOBE_RGB_COLORANTS), [(np.arange(256) / 255) ** (563 / 256)] * 3)


def _xyz(tag: bytes) -> list[float]:
    """An XYZType tag's three numbers (ICC's signed 16.16 fixed point)."""
    if tag[:4] != b"XYZ " or len(tag) < 20:
        raise ValueError("no primaries")
    return [int.from_bytes(tag[at:at + 4], "big", signed=True) / 65536 for at in (8, 12, 16)]


def _curve(tag: bytes, x: np.ndarray) -> np.ndarray:
    """A tone curve (curveType: none, a gamma or a table; parametricCurveType 0-4) at ``x`` in 0-1."""
    if tag[:4] == b"curv":
        count = int.from_bytes(tag[8:12], "big")
        if count == 0:
            return x
        if count == 1:
            return x ** (int.from_bytes(tag[12:14], "big") / 256)
        table = np.frombuffer(tag[12:12 + 2 * count], ">u2")
        if len(table) < count:
            raise ValueError("a tone curve cut short")
        return np.interp(x, np.linspace(0, 1, count), table / 65535)
    if tag[:4] == b"para" and int.from_bytes(tag[8:10], "big") in PARAMETERS:
        kind = int.from_bytes(tag[8:10], "big")
        numbers = [int.from_bytes(tag[at:at + 4], "big", signed=True) / 65536
                   for at in range(12, 12 + 4 * PARAMETERS[kind], 4)]
        g, a, b, c, d, e, f = numbers + [0.0] * (7 - len(numbers))
        if kind == 0:
            return x ** g
        if kind in (1, 2):  # from (a x + b)^g (+ c), c (0 for type 1) below x = -b/a
            d, c = -b / a, (c if kind == 2 else 0.0)
            return np.where(x >= d, np.maximum(a * x + b, 0) ** g + c, c)
        return np.where(x >= d, np.maximum(a * x + b, 0) ** g + e, c * x + f)  # types 3 and 4 (3: e = f = 0)
    raise ValueError("not a tone curve")
