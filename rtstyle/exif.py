"""A picture file's EXIF: its orientation, what a painting keeps of it, and the display matrices
FFmpeg makes of orientations.

FFmpeg 8 turns a JPEG's, TIFF's, PNG's or WebP's EXIF orientation into a display matrix on each
frame, beside the EXIF itself; PyAV 18 has no name for that EXIF side data and then reads none of
the frame's, so a picture sequence's orientation is read here from its first picture's header,
with walkers over the headers' parts (JPEG segments, PNG and WebP chunks, a TIFF directory) that
rtstyle.icc reads the colour profile with too. A painting gets a new EXIF block with the photo's
date, place and camera (:func:`kept`), written into the file OpenCV encoded (:func:`embed`).
"""
from __future__ import annotations

import io
import math
import re
import zlib
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import BinaryIO

import numpy as np

ORIENTATION_TAG = 0x0112
TIFF_MAGIC = (b"II*\0", b"MM\0*")  # a TIFF file's first four bytes (little- or big-endian)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG, WEBP = (8, True), (12, False)  # where a file's first chunk is, and whether its length comes first (chunks)
# Each EXIF orientation as FFmpeg's av_exif_orientation_to_matrix makes it: a rotation, then a mirror.
TURNS = {1: (0, False), 2: (0, True), 3: (180, False), 4: (180, True), 5: (90, True), 6: (90, False), 7: (-90, True),
         8: (-90, False)}
EXIF_POINTER, GPS_POINTER, COLOUR_SPACE_TAG = 0x8769, 0x8825, 0xA001
# Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, SBYTE, UNDEFINED, SSHORT, SLONG,
# SRATIONAL, FLOAT, DOUBLE).
TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
# What a painting keeps of its photo's EXIF, by directory: what photo libraries file and show a picture by (when
# and where it was taken, with what camera, whose it is). IFD0: Make, Model, DateTime, Artist, Copyright. EXIF:
# its version, DateTimeOriginal and Digitized, their time zones and fractions of a second. GPS: all of it (None).
# Not the thumbnail (the photo unpainted), nor maker notes (offsets into the old file), nor the orientation.
KEPT: dict[int, set[int] | None] = {0: {0x010F, 0x0110, 0x0132, 0x013B, 0x8298},
                                    EXIF_POINTER: {0x9000, 0x9003, 0x9004, 0x9010, 0x9011, 0x9012, 0x9290, 0x9291,
                                                   0x9292},
                                    GPS_POINTER: None}
Entry = tuple[int, int, int, bytes]  # tag, type, count, the value's bytes
# A video's recording date: an iPhone's own key says it in local time with the zone; FFmpeg's
# creation_time (MP4's, Matroska's) in UTC. Its place: ISO 6709 ("+48.8584+002.2945+035.000/").
VIDEO_DATES = ("com.apple.quicktime.creationdate", "creation_time")
VIDEO_CAMERA = {0x010F: ("com.apple.quicktime.make", "com.android.manufacturer", "make"),
                0x0110: ("com.apple.quicktime.model", "com.android.model", "model")}
_ISO_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
_ISO_6709 = re.compile(r"([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)?")


def display_matrix(angle: float, mirrored: bool = False) -> np.ndarray:
    """FFmpeg's display matrix for ``angle`` degrees counterclockwise (av_display_rotation_set),
    mirrored left to right after (av_display_matrix_flip)."""
    c, s = round(math.cos(math.radians(-angle))), round(math.sin(math.radians(-angle)))
    matrix = np.array([c << 16, -s << 16, 0, s << 16, c << 16, 0, 0, 0, 1 << 30])
    if mirrored:
        matrix[[0, 3, 6]] *= -1
    return matrix


def orientation(path: Path) -> int | None:
    """The EXIF orientation (1-8) a JPEG, TIFF, PNG or WebP file's header says; None where it
    says none, the file is none of these, or cannot be read."""
    try:
        with open(path, "rb") as f:
            base = tiff_block(f)
            return None if base is None else _orientation_of(f, base)
    except (OSError, ValueError):
        return None


def tiff_block(f: BinaryIO) -> int | None:
    """Where a JPEG's, TIFF's, PNG's or WebP's EXIF (a TIFF block: a TIFF file is one) starts;
    None where it has none."""
    f.seek(0)
    head = f.read(12)
    if head[:4] in TIFF_MAGIC:
        return 0
    if head[:2] == b"\xff\xd8":
        for marker, start, _ in jpeg_segments(f):
            f.seek(start)
            if marker == 0xE1 and f.read(6) == b"Exif\0\0":
                return start + 6
    elif head[:8] == PNG_MAGIC:
        return next((start for kind, start, _ in chunks(f, PNG) if kind == b"eXIf"), None)
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return next((start for kind, start, _ in chunks(f, WEBP) if kind == b"EXIF"), None)
    return None


def jpeg_segments(f: BinaryIO) -> Iterator[tuple[int, int, int]]:
    """Each segment of a JPEG file before its picture data: (marker, where its payload starts,
    the payload's size)."""
    position = 2
    while True:
        f.seek(position)
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xD9, 0xDA):  # end of image, start of scan
            return
        size = int.from_bytes(marker[2:], "big")
        yield marker[1], position + 4, size - 2
        position += 2 + size


def chunks(f: BinaryIO, layout: tuple[int, bool]) -> Iterator[tuple[bytes, int, int]]:
    """Each chunk of a PNG (:data:`PNG`: length, name, big-endian, a CRC after) or a WebP file
    (:data:`WEBP`: name, length, little-endian, padded to even): (name, where its data starts,
    its size)."""
    position, png = layout
    while True:
        f.seek(position)
        header = f.read(8)
        if len(header) < 8:
            return
        if png:
            size, kind = int.from_bytes(header[:4], "big"), header[4:]
        else:
            kind, size = header[:4], int.from_bytes(header[4:], "little")
        yield kind, position + 8, size
        position += 8 + size + (4 if png else size % 2)


def ifd(f: BinaryIO, base: int, at: int | None = None) -> tuple[str, list[Entry]]:
    """A TIFF block's byte order and the entries of its directory at ``at`` (from the block's
    start; None: its first one): (tag, type, count, the value or where it is, as stored);
    ``base``: where the block starts."""
    f.seek(base)
    header = f.read(8)
    order = {b"II": "little", b"MM": "big"}.get(header[:2])
    if order is None or len(header) < 8:
        raise ValueError("not a TIFF block")
    f.seek(base + (int.from_bytes(header[4:], order) if at is None else at))
    count = int.from_bytes(f.read(2), order)
    entries = f.read(12 * count)
    return order, [(int.from_bytes(entries[at:at + 2], order), int.from_bytes(entries[at + 2:at + 4], order),
                    int.from_bytes(entries[at + 4:at + 8], order), entries[at + 8:at + 12])
                   for at in range(0, len(entries) - 11, 12)]


def entry(entries: list[Entry], tag: int) -> tuple[int, int, bytes]:
    """A directory's entry for ``tag`` (:func:`ifd`): its type, count and value field (the value,
    or where it is); KeyError where the directory has none."""
    for found, kind, count, value in entries:
        if found == tag:
            return kind, count, value
    raise KeyError(tag)


def pointed(f: BinaryIO, base: int, order: str, entries: list[Entry], tag: int) -> list[Entry]:
    """The entries of the directory that ``tag`` of ``entries`` points to (EXIF's, GPS's, the
    Interoperability one); KeyError where there is no such tag."""
    return ifd(f, base, int.from_bytes(entry(entries, tag)[2], order))[1]


def _orientation_of(f: BinaryIO, base: int) -> int | None:
    """The orientation tag of a TIFF block's first directory."""
    order, entries = ifd(f, base)
    try:
        kind, _, value = entry(entries, ORIENTATION_TAG)
    except KeyError:
        return None
    said = int.from_bytes(value[:2], order)  # SHORT (type 3): the value in the field's first two bytes
    return said if kind == 3 and said in TURNS else None


def for_painting(path: str | Path) -> bytes | None:
    """What a painting of the picture at ``path`` keeps of its EXIF (:func:`kept`); a HEIC's is
    read through pillow-heif (rtstyle[heic]). None where there is nothing to keep."""
    try:
        with open(path, "rb") as f:
            if f.read(8)[4:8] != b"ftyp":
                return kept(f)
        import pillow_heif
        data = pillow_heif.open_heif(path).info.get("exif")
    except (ImportError, OSError, ValueError, RuntimeError):  # no pillow-heif, or libheif's errors
        return None
    return kept(io.BytesIO(data)) if data else None


def kept(f: BinaryIO) -> bytes | None:
    """A new EXIF block (a TIFF block) with what a painting keeps of a picture's (:data:`KEPT`), in
    its byte order; upright (orientation 1) and in sRGB, as the painting is. ``f`` is a JPEG, TIFF,
    PNG or WebP file, or a HEIC's EXIF as pillow-heif gives it; None where nothing is to be kept."""
    try:
        f.seek(0)
        base = 6 if f.read(6) == b"Exif\0\0" else tiff_block(f)
        if base is None:
            return None
        order, first = ifd(f, base)
        found = {0: _values(f, base, order, first, KEPT[0])}
        for pointer in (EXIF_POINTER, GPS_POINTER):
            try:
                found[pointer] = _values(f, base, order, pointed(f, base, order, first, pointer), KEPT[pointer])
            except (KeyError, ValueError):
                found[pointer] = []
    except (OSError, ValueError):
        return None
    if not any(found.values()):
        return None
    found[0].append((ORIENTATION_TAG, 3, 1, (1).to_bytes(2, order)))
    if found[EXIF_POINTER]:
        found[EXIF_POINTER].append((COLOUR_SPACE_TAG, 3, 1, (1).to_bytes(2, order)))  # 1: sRGB
    return _pack(order, found[0], {tag: found[tag] for tag in (EXIF_POINTER, GPS_POINTER) if found[tag]})


def for_video_frame(tags: Mapping[str, str], seconds: float) -> bytes | None:
    """An EXIF block for a still painted from the frame ``seconds`` into a video with these
    container ``tags``: when that frame was filmed (the recording date moved on, with its time zone,
    UTC where only FFmpeg's creation_time says it), where (the video's place) and with what camera,
    as a photo library files a picture; upright and sRGB. None where the video says neither date nor place."""
    lower = {k.lower(): v for k, v in tags.items()}
    when = next((d for d in (_iso_date(lower.get(key, "")) for key in VIDEO_DATES) if d is not None), None)
    place = _ISO_6709.match(lower.get("location", "").strip())
    if when is None and place is None:
        return None
    order = "little"
    first: list[Entry] = [(ORIENTATION_TAG, 3, 1, (1).to_bytes(2, order))]
    first += [(tag, 2, len(value) + 1, value.encode("ascii", "replace") + b"\0")
              for tag, keys in VIDEO_CAMERA.items() for value in [next((lower[k] for k in keys if lower.get(k)), "")]
              if value]
    exif: list[Entry] = [(0x9000, 7, 4, b"0232"), (COLOUR_SPACE_TAG, 3, 1, (1).to_bytes(2, order))]
    if when is not None:
        when += timedelta(seconds=seconds)
        stamp = when.strftime("%Y:%m:%d %H:%M:%S").encode() + b"\0"
        offset = when.strftime("%z")
        zone = f"{offset[:3]}:{offset[3:]}".encode() + b"\0"
        fraction = f"{when.microsecond // 1000:03d}".encode() + b"\0"
        first.append((0x0132, 2, 20, stamp))  # DateTime
        exif += [(tag, 2, 20, stamp) for tag in (0x9003, 0x9004)]  # DateTimeOriginal, DateTimeDigitized
        exif += [(tag, 2, 7, zone) for tag in (0x9010, 0x9011, 0x9012)]  # OffsetTime, ...Original, ...Digitized
        exif += [(tag, 2, 4, fraction) for tag in (0x9291, 0x9292)]  # SubSecTimeOriginal, ...Digitized
    pointed = {EXIF_POINTER: exif}
    if place is not None:
        pointed[GPS_POINTER] = _gps(place, order)
    return _pack(order, first, pointed)


def _iso_date(text: str) -> datetime | None:
    """An ISO 8601 date and time (a zone-less one taken as UTC, as MP4 keeps its dates); None if not one."""
    match = _ISO_DATE.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    offset = timedelta(0)
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (-1 if zone[0] == "-" else 1) * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        round(float(fraction or 0) * 1e6) % 1000000, timezone(offset))
    except ValueError:  # a 30 February
        return None


def _gps(place: re.Match, order: str) -> list[Entry]:
    """The GPS directory of an ISO 6709 place: latitude, longitude (degrees, minutes, seconds as
    rationals, each with its hemisphere) and, where given, the altitude."""
    def rational(value: float, scale: int) -> bytes:
        return round(value * scale).to_bytes(4, order) + scale.to_bytes(4, order)

    def angle(degrees: float) -> bytes:
        minutes, seconds = divmod(abs(degrees) * 3600, 60)
        whole, minutes = divmod(minutes, 60)
        return rational(whole, 1) + rational(minutes, 1) + rational(seconds, 10000)

    latitude, longitude, altitude = (float(v) if v else None for v in place.groups())
    entries = [(0x0000, 1, 4, bytes([2, 3, 0, 0])),  # GPSVersionID 2.3
               (0x0001, 2, 2, (b"N" if latitude >= 0 else b"S") + b"\0"), (0x0002, 5, 3, angle(latitude)),
               (0x0003, 2, 2, (b"E" if longitude >= 0 else b"W") + b"\0"), (0x0004, 5, 3, angle(longitude))]
    if altitude is not None:  # above sea level (0) or below (1)
        entries += [(0x0005, 1, 1, bytes([altitude < 0])), (0x0006, 5, 1, rational(abs(altitude), 1000))]
    return entries


def _values(f: BinaryIO, base: int, order: str, entries: list[Entry], wanted: set[int] | None) -> list[Entry]:
    """The entries of a directory that are ``wanted`` (None: all), each with its value's own bytes."""
    out = []
    for tag, kind, count, field in entries:
        if wanted is not None and tag not in wanted or kind not in TYPE_SIZES:
            continue
        size = TYPE_SIZES[kind] * count
        if size > 4:
            f.seek(base + int.from_bytes(field, order))
            field = f.read(size)
        if len(field) >= size:
            out.append((tag, kind, count, field[:size]))
    return out


def _pack(order: str, first: list[Entry], pointed: dict[int, list[Entry]]) -> bytes:
    """A TIFF block: directory ``first``, then the directories it points to by the tags of ``pointed``."""
    placeholders = [(tag, 4, 1, bytes(4)) for tag in pointed]  # LONG offsets: same size once known
    at, rest, offsets = 8 + len(_directory(order, first + placeholders, 8)), b"", {}
    for tag, entries in pointed.items():
        offsets[tag] = at + len(rest)
        rest += _directory(order, entries, offsets[tag])
    pointers = [(tag, 4, 1, offset.to_bytes(4, order)) for tag, offset in offsets.items()]
    return TIFF_MAGIC[order == "big"] + (8).to_bytes(4, order) + _directory(order, first + pointers, 8) + rest


def _directory(order: str, entries: list[Entry], at: int) -> bytes:
    """One TIFF directory that starts ``at`` in its block, entries by tag as TIFF wants them, values
    longer than four bytes after it; no next directory (so no thumbnail)."""
    entries = sorted(entries)
    data_at = at + 2 + 12 * len(entries) + 4
    fields, data = [len(entries).to_bytes(2, order)], b""
    for tag, kind, count, value in entries:
        if len(value) > 4:
            field = (data_at + len(data)).to_bytes(4, order)
            data += value + bytes(len(value) % 2)  # values start on a word boundary
        else:
            field = value.ljust(4, b"\0")
        fields.append(tag.to_bytes(2, order) + kind.to_bytes(2, order) + count.to_bytes(4, order) + field)
    return b"".join(fields) + bytes(4) + data


def embed(data: bytes, block: bytes) -> bytes:
    """A JPEG's, PNG's or WebP's bytes with ``block`` as its EXIF (the file has none: OpenCV's
    encoders write none); other formats' bytes as they are."""
    if data[:2] == b"\xff\xd8":
        payload = b"Exif\0\0" + block
        if len(payload) + 2 > 0xFFFF:
            return data
        at = 2 + (2 + int.from_bytes(data[4:6], "big") if data[2:4] == b"\xff\xe0" else 0)  # after JFIF's APP0
        return data[:at] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + data[at:]
    if data[:8] == PNG_MAGIC:
        at = 8 + 8 + int.from_bytes(data[8:12], "big") + 4  # after IHDR: eXIf comes before the picture
        chunk = b"eXIf" + block
        return data[:at] + len(block).to_bytes(4, "big") + chunk + zlib.crc32(chunk).to_bytes(4, "big") + data[at:]
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_with(data, block)
    return data


def _webp_with(data: bytes, block: bytes) -> bytes:
    """A WebP with an EXIF chunk, which its extended header (VP8X) must announce: OpenCV's lossy
    WebP of an RGBA picture has one (for the alpha), of an RGB one it has none (a simple file, one
    VP8 picture) and gets one, with the picture's size read from its key frame."""
    body = data[12:]
    if body[:4] == b"VP8X":
        body = body[:8] + bytes([body[8] | 0x08]) + body[9:]  # the EXIF flag
    elif body[:4] == b"VP8 ":
        width, height = (int.from_bytes(body[8 + i:10 + i], "little") & 0x3FFF for i in (6, 8))  # after its start code
        header = bytes([0x08, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        body = b"VP8X" + len(header).to_bytes(4, "little") + header + body
    else:
        return data
    body += b"EXIF" + len(block).to_bytes(4, "little") + block + bytes(len(block) % 2)
    return b"RIFF" + (4 + len(body)).to_bytes(4, "little") + b"WEBP" + body
