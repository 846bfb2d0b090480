"""Image sequences: the numbered pictures that 3D, animation and compositing programs render
(Blender's ``0001.png``, After Effects' ``comp_00000.tif``), read as one video.

A sequence is named as FFmpeg names one, by a printf pattern (``frames/shot_%04d.png``), or
by its folder. The pictures are read by FFmpeg's image2 demuxer, so that they are frames of
a video like any other: seeks, parts and the A/V check work the same. Pictures carry no
frame rate: the caller gives one, else FFmpeg's 25 fps. image2 stops at the first number
missing: a sequence with a gap is refused here, before any frame is painted, instead of
being rendered cut short.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from rtstyle.errors import SourceError

DEFAULT_RATE = Fraction(25)  # FFmpeg's image2 default: what pictures with no rate play at
SHOT_CHANGE = 10.0  # grey levels two neighbouring frames of a shot differ by at most (two photos: 30 and more)
# What FFmpeg decodes into frames: formats of single pictures that renderers write.
SEQUENCE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr", ".dpx", ".tga"}
# The NTSC rates people write as decimals: 23.976 means 24000/1001, as an editor would read it.
_NTSC = {round(n * 1000 / 1001, 2): Fraction(n * 1000, 1001) for n in (24, 30, 48, 60, 120)}
_PRINTF = re.compile(r"%(0?\d*)d")
_NUMBERED = re.compile(r"^(.*?)(\d+)(\.[^.]+)$")  # the last run of digits before the suffix


@dataclass(frozen=True)
class ImageSequence:
    """Pictures ``first`` .. ``first + count - 1`` of a printf ``pattern``, played at ``rate``."""

    pattern: Path
    first: int
    count: int
    rate: Fraction

    @property
    def name(self) -> str:
        return self.pattern.name

    def picture(self, number: int) -> Path:
        return self.pattern.with_name(self.pattern.name % number)

    def files(self) -> list[Path]:
        return [self.picture(n) for n in range(self.first, self.first + self.count)]

    def describe(self) -> str:
        last = self.first + self.count - 1
        return (f"image sequence {self.name}: {self.count} pictures ({self.picture(self.first).name} to "
                f"{self.picture(last).name}) at {float(self.rate):g} fps")

    def is_a_shot(self) -> bool:
        """Whether the pictures are the frames of one shot, not photos a camera numbered: the first
        two nearly the same (at 64x64 in grey, SHOT_CHANGE)."""
        try:
            with self.open() as c:
                pictures = [f.reformat(64, 64, "gray").to_ndarray().astype(np.int16)
                            for f in itertools.islice(c.decode(video=0), 2)]
        except av.error.FFmpegError:
            return False
        return len(pictures) == 2 and float(np.abs(pictures[0] - pictures[1]).mean()) < SHOT_CHANGE

    def open(self) -> av.container.InputContainer:
        """The pictures as a video container (FFmpeg's image2 demuxer)."""
        return av.open(str(self.pattern), "r", format="image2",
                       options={"start_number": str(self.first), "framerate": str(self.rate),
                                "pattern_type": "sequence"})


def parse_rate(text: str | float | Fraction) -> Fraction:
    """``25``, ``23.976`` (24000/1001, as for every NTSC rate), ``30000/1001`` -> a positive rate."""
    try:
        rate = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        raise SourceError(f"not a frame rate: {text!r} (e.g. 24, 23.976 or 30000/1001)") from None
    if not 0 < rate <= 1000:
        raise SourceError(f"frame rate out of range: {text} (0 < rate <= 1000)")
    return _NTSC.get(round(float(rate), 2), rate) if rate.denominator != 1001 else rate


def is_pattern(path: str | Path) -> bool:
    """Whether a path is a printf pattern of numbered pictures (``%04d``) and not a file's own name."""
    return "://" not in str(path) and bool(_PRINTF.search(Path(path).name)) and not Path(path).is_file()


def is_sequence(path: str | Path) -> bool:
    """Whether a path names an image sequence rather than a video file: a pattern or a folder.
    Says nothing about whether the pictures are there (:func:`find`)."""
    return is_pattern(path) or "://" not in str(path) and Path(path).is_dir()


def pattern_problem(name: str) -> str | None:
    """Why a file name is no pattern FFmpeg reads (None: it is one)."""
    if "%" in _PRINTF.sub("", name.replace("%%", ""), count=1):
        return (f"{name}: a sequence's pattern has one number in it (%d, %04d...); "
                "a % that is part of the name is written %%")
    return None


def find(path: str | Path, rate: Fraction | float | str | None = None) -> ImageSequence:
    """The sequence a pattern or a folder (:func:`is_sequence`) names, checked: every number
    from the first to the last is there, written the one way the pattern writes it."""
    p = Path(path)
    if _PRINTF.search(p.name):
        folder, pattern = p.parent, p.name
        if pattern_problem(pattern):
            raise SourceError(pattern_problem(pattern))
        if not folder.is_dir():
            raise SourceError(f"input not found: {folder} (the folder of {pattern})")
        found = numbers(p)
        if not found:
            raise SourceError(f"input not found: no pictures named {pattern} in {folder}")
    else:
        folder = p
        pattern, found = _only_sequence(folder)
    first, last = min(found), max(found)
    sequence = ImageSequence(folder / pattern, first, len(found), DEFAULT_RATE if rate is None else parse_rate(rate))
    if len(found) != last - first + 1:
        missing = sorted(set(range(first, last + 1)) - set(found))
        raise SourceError(f"{pattern}: {len(missing)} of the pictures from {sequence.picture(first).name} to "
                          f"{sequence.picture(last).name} are missing (the first: "
                          f"{sequence.picture(missing[0]).name}); FFmpeg would stop there: render them again, or "
                          "number the pictures without gaps")
    return sequence


def numbers(pattern: Path) -> list[int]:
    """The numbers of the files in the pattern's folder that the pattern (printf) writes exactly."""
    spec = _PRINTF.search(pattern.name)
    width = int(spec.group(1) or 0)
    head, tail = pattern.name[:spec.start()].replace("%%", "%"), pattern.name[spec.end():].replace("%%", "%")
    found = []
    for f in pattern.parent.iterdir():
        digits = f.name[len(head):len(f.name) - len(tail)]
        if (f.name.startswith(head) and f.name.endswith(tail) and digits.isdigit()
                and digits == str(int(digits)).zfill(width) and f.is_file()):
            found.append(int(digits))
    return found


def files_in(folder: Path, suffixes: set[str]) -> list[Path]:
    """A folder's files with these suffixes, sorted by name, as every folder of pictures or
    videos is read; hidden ones left out (macOS leaves an unreadable ._NAME beside each file it
    copies to an exFAT or network drive)."""
    return sorted(f for f in folder.iterdir()
                  if f.suffix.lower() in suffixes and not f.name.startswith(".") and f.is_file())


def _only_sequence(folder: Path) -> tuple[str, list[int]]:
    """The one numbered sequence of pictures in a folder, as a printf pattern and its numbers."""
    pictures = [f.name for f in files_in(folder, SEQUENCE_SUFFIXES)]
    if not pictures:
        held = "holds no pictures" if any(f.is_file() for f in folder.iterdir()) else "is empty"
        raise SourceError(f"{folder} {held} to render as one video (numbered {', '.join(sorted(SEQUENCE_SUFFIXES))}); "
                          "a folder of videos renders into a folder: rtstyle render FOLDER OUT_DIR")
    groups: dict[tuple[str, str], list[str]] = {}
    unnumbered = []
    for name in pictures:
        m = _NUMBERED.match(name)
        if m:
            groups.setdefault((m.group(1), m.group(3)), []).append(m.group(2))
        else:
            unnumbered.append(name)
    patterns = {_pattern(head, tail, digits): digits  # the longest first
                for (head, tail), digits in sorted(groups.items(), key=lambda group: -len(group[1]))}
    if len(patterns) != 1 or unnumbered:
        named = ", ".join([f"{p}: {len(d)}" for p, d in patterns.items()] + unnumbered[:3])
        raise SourceError(f"{folder} holds more than one sequence of pictures ({named}): name the one to render, "
                          f"e.g. {folder / next(iter(patterns), 'frame_%04d.png')}")
    (pattern, digits), = patterns.items()
    numbers = [int(d) for d in digits]
    if len(set(numbers)) != len(numbers) or any(str(n).zfill(_width(digits)) != d for n, d in zip(numbers, digits)):
        raise SourceError(f"the pictures in {folder} are numbered in more than one way ({', '.join(digits[:3])}...): "
                          "name the sequence by a pattern, e.g. frame_%04d.png")
    return pattern, numbers


def _width(digits: list[str]) -> int:
    """The zero padding of a sequence's numbers: the shortest written (``%d`` when none is padded)."""
    shortest = min(digits, key=len)
    return len(shortest) if shortest.startswith("0") or len({len(d) for d in digits}) == 1 else 0


def _pattern(head: str, tail: str, digits: list[str]) -> str:
    width = _width(digits)
    spec = f"%0{width}d" if width > 1 else "%d"
    return head.replace("%", "%%") + spec + tail.replace("%", "%%")
