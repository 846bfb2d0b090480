"""A picture file's EXIF orientation, and the display matrices FFmpeg makes of orientations.

FFmpeg 8 turns a JPEG's, TIFF's, PNG's or WebP's EXIF orientation into a display matrix on each
frame, beside the EXIF itself; PyAV 18 has no name for that EXIF side data and then reads none of
the frame's, so a picture sequence's orientation is read here from its first picture's header.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import BinaryIO

import numpy as np

ORIENTATION_TAG = 0x0112
TIFF_MAGIC = (b"II*\0", b"MM\0*")  # a TIFF file's first four bytes (little- or big-endian)
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
            head = f.read(12)
            if head[:4] in TIFF_MAGIC:
                return _ifd0_orientation(f, 0)
            if head[:2] == b"\xff\xd8":
                return _jpeg_orientation(f)
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                return _chunk_orientation(f, 8, b"eXIf", length_first=True)
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _chunk_orientation(f, 12, b"EXIF", length_first=False)
    except (OSError, ValueError):
        pass
    return None


def _jpeg_orientation(f: BinaryIO) -> int | None:
    """From the APP1 ``Exif`` segment, among those before the picture data."""
    position = 2
    while True:
        f.seek(position)
        marker = f.read(4)
        if len(marker) < 4 or marker[0] != 0xFF or marker[1] in (0xD9, 0xDA):  # end of image, start of scan
            return None
        if marker[1] == 0xE1 and f.read(6) == b"Exif\0\0":
            return _ifd0_orientation(f, position + 10)
        position += 2 + int.from_bytes(marker[2:], "big")


def _chunk_orientation(f: BinaryIO, position: int, name: bytes, length_first: bool) -> int | None:
    """From a PNG's ``eXIf`` chunk (length, name, big-endian) or a WebP's ``EXIF`` (name, length,
    little-endian; padded to even), which hold the EXIF's TIFF block."""
    while True:
        f.seek(position)
        header = f.read(8)
        if len(header) < 8:
            return None
        if length_first:
            size, kind, start = int.from_bytes(header[:4], "big"), header[4:], position + 8
            after = start + size + 4  # the CRC
        else:
            kind, size, start = header[:4], int.from_bytes(header[4:], "little"), position + 8
            after = start + size + size % 2
        if kind == name:
            return _ifd0_orientation(f, start)
        position = after


def _ifd0_orientation(f: BinaryIO, base: int) -> int | None:
    """The orientation tag of a TIFF block's first directory (``base``: where the block starts)."""
    f.seek(base)
    header = f.read(8)
    order = {b"II": "little", b"MM": "big"}.get(header[:2])
    if order is None or len(header) < 8:
        return None
    f.seek(base + int.from_bytes(header[4:], order))
    count = int.from_bytes(f.read(2), order)
    entries = f.read(12 * count)
    for at in range(0, len(entries) - 11, 12):
        tag, kind = int.from_bytes(entries[at:at + 2], order), int.from_bytes(entries[at + 2:at + 4], order)
        if tag == ORIENTATION_TAG and kind == 3:  # SHORT: the value in the entry's first two bytes
            value = int.from_bytes(entries[at + 8:at + 10], order)
            return value if value in TURNS else None
    return None
