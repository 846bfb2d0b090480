"""A picture file's EXIF orientation, and the display matrices FFmpeg makes of orientations.

FFmpeg 8 turns a JPEG's, TIFF's, PNG's or WebP's EXIF orientation into a display matrix on each
frame, beside the EXIF itself; PyAV 18 has no name for that EXIF side data and then reads none of
the frame's, so a picture sequence's orientation is read here from its first picture's header,
with walkers over the headers' parts (JPEG segments, PNG and WebP chunks, a TIFF directory) that
rtstyle.icc reads the colour profile with too.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
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


def ifd(f: BinaryIO, base: int, at: int | None = None) -> tuple[str, list[tuple[int, int, int, bytes]]]:
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


def entry(entries: list[tuple[int, int, int, bytes]], tag: int) -> tuple[int, int, bytes]:
    """A directory's entry for ``tag`` (:func:`ifd`): its type, count and value field (the value,
    or where it is); KeyError where the directory has none."""
    for found, kind, count, value in entries:
        if found == tag:
            return kind, count, value
    raise KeyError(tag)


def _orientation_of(f: BinaryIO, base: int) -> int | None:
    """The orientation tag of a TIFF block's first directory."""
    order, entries = ifd(f, base)
    try:
        kind, _, value = entry(entries, ORIENTATION_TAG)
    except KeyError:
        return None
    said = int.from_bytes(value[:2], order)  # SHORT (type 3): the value in the field's first two bytes
    return said if kind == 3 and said in TURNS else None
