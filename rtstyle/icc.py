"""A picture's ICC colour profile, carried from a photo into its painting.

A photo that is not in sRGB says so by the ICC profile in its header: an iPhone's Display P3, a
camera's Adobe RGB. OpenCV reads the levels as stored and writes no profile, so without it the
painting shows duller or shifted colours, against the photo beside it, in every colour-managed
viewer (browsers, Photos, Lightroom). The network paints the levels it is given: the photo's
profile describes the painting's levels as well, and is written into it unchanged.
"""
from __future__ import annotations

import io
import zlib
from pathlib import Path
from typing import BinaryIO

from rtstyle import exif

RGB = b"RGB "  # a profile's colour space field, for RGB pictures (not CMYK or grey ones, which a painting is not)
JPEG_NAME = b"ICC_PROFILE\0"  # an APP2 segment holding a part of the profile, then its number and the count
JPEG_PART = 65519  # the most of a profile one segment holds (65535, less the length, name, number and count)
TIFF_TAG = 34675  # InterColorProfile
WEBP_ICC = 0x20  # the flag of a WebP's extended header (VP8X) that says a profile follows
# Formats written with the profile (write_image); others say it was dropped (rtstyle.stylize_image).
KEEPS = {".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".heic", ".heif"}
# sRGB's red, green and blue as an ICC profile states them (XYZ, adapted to D50), and how near
# another's must be to show the same: then nothing is lost where a profile cannot be written.
SRGB_COLORANTS = ((0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141))
SAME_COLORANT = 0.003


def read(path: str | Path) -> bytes | None:
    """The RGB profile a JPEG, PNG, WebP, TIFF or HEIC file embeds; None where it has none, one
    that is not for RGB or not whole (a JPEG segment of it lost), or the header cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            profile = _heif_profile(path) if head[4:8] == b"ftyp" else _header_profile(f, head)
    except (OSError, ValueError, IndexError, zlib.error):
        return None
    whole = profile and len(profile) == int.from_bytes(profile[:4], "big")  # a profile states its size first
    return profile if whole and profile[16:20] == RGB else None


def _header_profile(f: BinaryIO, head: bytes) -> bytes | None:
    if head[:4] in exif.TIFF_MAGIC:
        order, entries = exif.ifd0(f, 0)
        for tag, _, count, where in entries:
            if tag == TIFF_TAG:
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


def describe(profile: bytes) -> str:
    """The name the profile gives itself ('Display P3'), for the notes."""
    tag = _tag(profile, b"desc")
    if tag[:4] == b"desc":  # ICC v2: ASCII, its length counting the closing zero
        return tag[12:12 + int.from_bytes(tag[8:12], "big")].rstrip(b"\0").decode("latin-1")
    if tag[:4] == b"mluc" and len(tag) >= 28:  # ICC v4: the first of its languages, UTF-16
        size, at = int.from_bytes(tag[20:24], "big"), int.from_bytes(tag[24:28], "big")
        return tag[at:at + size].decode("utf-16-be", "replace").rstrip("\0")
    return "unnamed"


def is_srgb(profile: bytes) -> bool:
    """Whether the profile's primaries are sRGB's (many cameras and phones embed an sRGB profile):
    a picture written without it shows the same colours."""
    colorants = [_tag(profile, name) for name in (b"rXYZ", b"gXYZ", b"bXYZ")]
    if any(len(tag) < 20 or tag[:4] != b"XYZ " for tag in colorants):
        return False  # a profile of tables, not primaries: not to be told apart this way
    return all(abs(int.from_bytes(tag[8 + 4 * i:12 + 4 * i], "big", signed=True) / 65536 - want) <= SAME_COLORANT
               for tag, primary in zip(colorants, SRGB_COLORANTS) for i, want in enumerate(primary))


def _tag(profile: bytes, name: bytes) -> bytes:
    """A tag's data (empty where the profile has no such tag): its table follows the 128-byte header."""
    for at in range(132, 132 + 12 * int.from_bytes(profile[128:132], "big"), 12):
        if profile[at:at + 4] == name:
            start = int.from_bytes(profile[at + 4:at + 8], "big")
            return profile[start:start + int.from_bytes(profile[at + 8:at + 12], "big")]
    return b""


def embed(data: bytes, profile: bytes) -> bytes:
    """A JPEG, PNG, WebP or TIFF file's bytes (as OpenCV writes them) with ``profile`` in its header."""
    if data[:2] == b"\xff\xd8":
        return _jpeg(data, profile)
    if data[:8] == exif.PNG_MAGIC:
        chunk = b"iCCP" + b"ICC profile\0\0" + zlib.compress(profile)
        header_end = 8 + 8 + 13 + 4  # the signature, then IHDR (length, name, 13 bytes, CRC), which must come first
        return (data[:header_end] + (len(chunk) - 4).to_bytes(4, "big") + chunk
                + zlib.crc32(chunk).to_bytes(4, "big") + data[header_end:])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(data, profile)
    if data[:4] in exif.TIFF_MAGIC:
        return _tiff(data, profile)
    raise ValueError("not a JPEG, PNG, WebP or TIFF file")


def _jpeg(data: bytes, profile: bytes) -> bytes:
    """The profile in APP2 segments (as many as it needs), after the JFIF segment."""
    after = 2 + (2 + int.from_bytes(data[4:6], "big") if data[2:4] == b"\xff\xe0" else 0)
    parts = [profile[at:at + JPEG_PART] for at in range(0, len(profile), JPEG_PART)]
    segments = b"".join(b"\xff\xe2" + (2 + len(JPEG_NAME) + 2 + len(part)).to_bytes(2, "big") + JPEG_NAME
                        + bytes([number, len(parts)]) + part for number, part in enumerate(parts, 1))
    return data[:after] + segments + data[after:]


def _webp(data: bytes, profile: bytes) -> bytes:
    """The profile in an ICCP chunk, after the extended header (VP8X) that says it is there:
    OpenCV writes one before a transparent picture's alpha (ALPH), none before an opaque one
    (VP8), whose own header then gives the canvas size."""
    if data[12:16] == b"VP8X":
        header = data[12:20] + bytes([data[20] | WEBP_ICC]) + data[21:30]
        rest = data[30:]
    elif data[12:16] == b"VP8 ":  # after the chunk's header, a frame tag, a start code, 14 bits each of width, height
        width, height = (int.from_bytes(data[at:at + 2], "little") & 0x3FFF for at in (26, 28))
        header = (b"VP8X" + (10).to_bytes(4, "little") + bytes([WEBP_ICC, 0, 0, 0]) + (width - 1).to_bytes(3, "little")
                  + (height - 1).to_bytes(3, "little"))
        rest = data[12:]
    else:
        raise ValueError("not a WebP picture as OpenCV writes one")
    iccp = b"ICCP" + len(profile).to_bytes(4, "little") + profile + b"\0" * (len(profile) % 2)
    body = b"WEBP" + header + iccp + rest
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _tiff(data: bytes, profile: bytes) -> bytes:
    """The profile appended, with a copy of the first directory that points to it appended after
    it (its tag last, as TIFF wants them in order: OpenCV writes none above it); the header
    points to the copy."""
    order = "little" if data[:2] == b"II" else "big"
    _, entries = exif.ifd0(io.BytesIO(data), 0)
    first = int.from_bytes(data[4:8], order)
    next_ifd = data[first + 2 + 12 * len(entries):first + 6 + 12 * len(entries)]
    where = len(data) + len(data) % 2  # TIFF's offsets are even
    ifd_at = where + len(profile) + len(profile) % 2
    entries.append((TIFF_TAG, 7, len(profile), where.to_bytes(4, order)))  # type 7: bytes
    ifd = len(entries).to_bytes(2, order) + b"".join(
        tag.to_bytes(2, order) + kind.to_bytes(2, order) + count.to_bytes(4, order) + value
        for tag, kind, count, value in entries) + next_ifd
    return (data[:4] + ifd_at.to_bytes(4, order) + data[8:] + b"\0" * (len(data) % 2) + profile
            + b"\0" * (len(profile) % 2) + ifd)
