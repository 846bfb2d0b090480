"""MP4 and MOV outputs play however their writing ends (rtstyle.fragments): a killed writer's
file plays up to its last second, a finished one is one regular file, in step with its sound."""
from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

import rtstyle
from conftest import decode_video, stream_info
from tools.bad_inputs import CLIP  # 30 frames at 10 fps with a tone, B-frames in its H.264

ROOT = Path(__file__).resolve().parents[1]


def top_level_boxes(path: Path) -> list[str]:
    """The types of the file's top-level ISO boxes, read from their headers (not through FFmpeg)."""
    boxes, data = [], path.read_bytes()
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8:at + 16])[0]
        boxes.append(kind.decode("latin-1"))
        at += size if size else len(data)
    return boxes


def first_times(path: Path) -> tuple[float, float]:
    """When the first video frame and the first sound are shown (seconds), as decoded."""
    with av.open(str(path)) as c:
        video = next(c.decode(video=0))
    with av.open(str(path)) as c:
        sound = next(c.decode(audio=0))
    return float(video.pts * video.time_base), float(sound.pts * sound.time_base)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".m4v"])
def test_a_finished_file_is_one_regular_file_in_step_with_its_sound(suffix: str, data: Path, tmp_path: Path, style):
    """Written in fragments, then copied into one file: its index (moov) before the packets
    (mdat), as web video has it, no fragment (moof) left; B-frames' delay kept out of sight by the
    index (the first frame shows at 0, as the input's, beside the sound), and nothing left beside it."""
    out = tmp_path / f"out{suffix}"
    report = rtstyle.render(data / CLIP, out, style, smooth="none")
    assert report.check.ok, report.check.summary()
    boxes = top_level_boxes(out)
    assert "moof" not in boxes and boxes.index("moov") < boxes.index("mdat"), boxes
    assert first_times(out) == pytest.approx(first_times(data / CLIP), abs=1e-3)
    assert stream_info(out)["frames"] == 30
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


KILLED_WRITER = """
import os, signal, sys
from fractions import Fraction
import av
from rtstyle.sinks import VideoFileSink
from rtstyle.yuv import to_rgb

src, dst, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
with av.open(src) as c:
    pictures = [to_rgb(f) for f in c.decode(video=0)][:frames]
h, w = pictures[0].shape[:2]
sink = VideoFileSink(dst, w, h, Fraction(1, 10), Fraction(10), carry_from=src)
for i, rgb in enumerate(pictures):
    sink.write(rgb, i)
os.kill(os.getpid(), signal.SIGKILL)  # as the system stops a process out of memory: nothing closed
"""


def test_a_killed_writer_leaves_a_file_that_plays_with_its_sound(data: Path, tmp_path: Path):
    """A writer killed after 60 of a 9-second clip's 90 frames (nothing closed, no index written at
    the end): the file plays up to its last fragment (all but the fragment under way and the frames
    the encoder held back, more on more cores: 40 frames on two, at least one fragment counted on),
    its frames are the clip's own in order, and its sound starts with them and ends with them,
    within the fifth of a second by which the muxer's interleaving holds sound back."""
    from tools.bad_inputs import SIZE, clip_frames, write_video

    frames = clip_frames(data, 30, SIZE)
    src = write_video(tmp_path / "clip.mp4", (frames + frames[-2:0:-1]) * 2)  # there and back: 9 s
    out = tmp_path / "killed.mp4"
    r = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(src), str(out), "60"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == -9, r.stderr
    written = decode_video(out)
    source = decode_video(src)
    assert 10 <= len(written) <= 60, len(written)  # 40 on two cores
    for i, frame in enumerate(written):  # the source's frame at its place, not a neighbour
        diffs = [np.abs(frame.astype(np.int16) - source[j]).mean() for j in (i - 1, i, i + 1) if j >= 0]
        assert min(diffs) == diffs[-2] and diffs[-2] < 3.0, (i, diffs)
    assert first_times(out) == pytest.approx(first_times(src), abs=1e-3)
    info = stream_info(out)
    assert info["audio_duration"] == pytest.approx(info["video_duration"], abs=0.25), info


def test_a_file_that_cannot_be_finished_keeps_its_fragments(data: Path, tmp_path: Path, tiny_model: Path):
    """Where the regular file cannot be written beside it (a folder in the way stands in for a full
    disk), the render says so in one line, exits 1, and the fragmented file plays whole."""
    out = tmp_path / "out.mp4"
    (tmp_path / ".out.finishing.mp4").mkdir()
    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(data / CLIP), str(out), "--style",
                        str(tiny_model), "--smooth", "none"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"error: cannot finish {out}: ") and "the file plays as written, in fragments" in last
    assert "moof" in top_level_boxes(out)
    info = stream_info(out)
    assert info["frames"] == 30 and info["audio_duration"] == pytest.approx(3.0, abs=0.1), info


def test_a_link_to_the_output_still_leads_to_the_finished_file(data: Path, tmp_path: Path, style):
    """An output named through a link (a project folder linked to a media disk) is finished where
    the link leads, with the permissions the file had; the link stays a link."""
    target = tmp_path / "disk" / "real.mp4"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o640)
    link = tmp_path / "out.mp4"
    link.symlink_to(target)
    assert rtstyle.render(data / CLIP, link, style, smooth="none", overwrite=True).check.ok
    assert link.is_symlink() and "moof" not in top_level_boxes(target) and stream_info(target)["frames"] == 30
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["real.mp4"]
