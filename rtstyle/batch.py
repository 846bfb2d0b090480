"""Many videos (or pictures) in one command: which outputs they get, one result per file, a summary table.

One failing input is recorded and the others go on; the caller reports the failures at
the end. Used by the one-machine render and by the distributed one (rtstyle.distributed).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rtstyle.avcheck import AVCheck
from rtstyle.errors import RtstyleError, SinkError, SourceError
from rtstyle.pipeline import RenderReport
from rtstyle.sequences import files_in
from rtstyle.sinks import PICTURE_SUFFIXES
from rtstyle.sources import FFMPEG_PICTURES, IMAGE_SUFFIXES, VIDEO_SUFFIXES, not_found


@dataclass
class FileResult:
    """How one input of a batch went: ``error`` is None when its output was written and checked."""

    src: Path
    dst: Path
    frames: int = 0
    seconds: float = 0.0
    segments: int = 0  # the pieces it was rendered in (0: it failed before)
    check: AVCheck | None = None
    error: str | None = None
    kept: bool = False  # complete from an earlier run (render --resume): left as it is

    @property
    def ok(self) -> bool:
        return self.error is None and (self.kept or self.check is not None and self.check.ok)


def holds_videos(path: str | Path) -> bool:
    """Whether ``path`` is a folder with video files in it: a batch (a folder of pictures is one video)."""
    p = Path(path)
    return p.is_dir() and bool(files_in(p, VIDEO_SUFFIXES))


def pair_outputs(inputs: Sequence[str | Path], out_dir: Path, pictures: bool = False,
                 suffix: str = ".mp4") -> list[tuple[Path, Path]]:
    """Inputs (files, or folders whose videos are taken by suffix) -> (input, out_dir/NAME.mp4,
    or NAME with another ``suffix``); ``pictures``: still pictures, each written in its own
    format (out_dir/NAME.jpg for a .jpg; OpenEXR too), or as PNG where it is one not written here
    (DPX, Targa) or a video (one frame of it painted)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise SinkError(f"output folder is a file: {out_dir}")
    suffixes, kind = (IMAGE_SUFFIXES, "pictures") if pictures else (VIDEO_SUFFIXES, "video files")
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = files_in(item, suffixes)
            if not found:
                sequence = "" if pictures else f"; a folder of numbered pictures is one video: render {item} OUT.mp4"
                raise SourceError(f"no {kind} in {item} (looked for {', '.join(sorted(suffixes))}){sequence}")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise not_found(item)
    def written_as(f: Path) -> str:
        if not pictures:
            return f.stem + suffix
        return f.stem + ".png" if f.suffix.lower() in (FFMPEG_PICTURES - PICTURE_SUFFIXES) | VIDEO_SUFFIXES else f.name

    pairs = [(f, out_dir / written_as(f)) for f in files]
    seen: dict[Path, Path] = {}
    for src, dst in pairs:
        if dst in seen:
            raise SinkError(f"{seen[dst].name} and {src.name} would both be written to {dst.name}")
        seen[dst] = src
    return pairs


def left_out(inputs: Sequence[str | Path], out_dir: Path, pictures: bool = False) -> list[str]:
    """What each folder among the inputs holds that is not painted, named so that nothing is
    skipped without a word: its folders (not walked into; the output folder aside) and files of
    other kinds (an iPhone's Live Photo videos and .AAE edits beside its photos)."""
    suffixes, kind, verb = (IMAGE_SUFFIXES, "pictures", "painted") if pictures else (VIDEO_SUFFIXES, "videos", "rendered")
    notes = []
    for folder in (Path(item) for item in inputs if Path(item).is_dir()):
        taken = set(files_in(folder, suffixes))
        shown = sorted(f for f in folder.iterdir() if not f.name.startswith(".") and f not in taken)
        folders = [f.name + "/" for f in shown if f.is_dir() and f.resolve() != out_dir.resolve()]
        others = [f.name for f in shown if f.is_file()]
        said = [f"{_names(folders)} (folders are not walked into: give one as SRC too)"] if folders else []
        said += [f"{_names(others)} (not {kind})"] if others else []
        if said:
            notes.append(f"{folder}: not {verb}: {'; '.join(said)}")
    return notes


def _names(names: list[str], most: int = 5) -> str:
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def render_each(pairs: Sequence[tuple[Path, Path]],
                render: Callable[[Path, Path], RenderReport | None]) -> list[FileResult]:
    """Render the files one after another; a user error (bad input, unwritable output) fails only its file.
    ``render`` returns None for an output it left as it was (complete from an earlier run)."""
    results = []
    for src, dst in pairs:
        result = FileResult(src, dst)
        try:
            report = render(src, dst)
        except RtstyleError as e:
            result.error = str(e)
        else:
            if report is None:
                result.kept = True
                results.append(result)
                continue
            result.frames, result.seconds, result.check = report.frames_out, report.seconds, report.check
            result.segments = 1
            if report.check and not report.check.ok:
                result.error = f"A/V check {report.check.summary()} (the file is kept)"
        results.append(result)
    return results


def summary_table(results: Sequence[FileResult]) -> str:
    """One row per input: frames, time, fps, segments, and the check or the error."""
    rows = [("input", "frames", "seconds", "fps", "segments", "result")]
    for r in results:
        fps = f"{r.frames / r.seconds:.1f}" if r.seconds else "-"
        outcome = "kept (rendered before)" if r.kept else "ok" if r.ok else f"FAILED: {r.error}"
        rows.append((r.src.name, str(r.frames), f"{r.seconds:.1f}", fps, str(r.segments), outcome))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1] for row in rows)
