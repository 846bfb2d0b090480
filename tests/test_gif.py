"""Animated GIF output (rtstyle.gif): rendered and recorded GIFs read back two ways, by
OpenCV's own GIF decoder (not FFmpeg's, which wrote them) and by walking the file's blocks
as the GIF89a spec lays them out."""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

import rtstyle
from conftest import decode_video
from rtstyle.cli import main
from rtstyle.gif import GifSink
from tools.bad_inputs import CLIP, _gif_input, clip_frames, limit_file_size, write_video

ROOT = Path(__file__).resolve().parent.parent


def gif_blocks(path: Path) -> tuple[bool, list[tuple[int, bool]], int | None]:
    """Walk a GIF89a file: whether it has a global colour table, each frame's (delay in
    hundredths, whether it brings its own colour table), and its NETSCAPE2.0 loop count."""
    d = path.read_bytes()
    assert d[:6] == b"GIF89a", d[:6]

    def table(flags: int) -> int:
        return 3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0

    def sub_blocks(pos: int) -> int:
        while d[pos]:
            pos += d[pos] + 1
        return pos + 1

    global_table, pos = bool(d[10] & 0x80), 13 + table(d[10])
    frames: list[tuple[int, bool]] = []
    delay, loop = 0, None
    while d[pos] != 0x3B:  # the trailer
        if d[pos] == 0x21:  # an extension: graphic control (the delay) or application (the loop)
            if d[pos + 1] == 0xF9:
                delay = int.from_bytes(d[pos + 4:pos + 6], "little")
            elif d[pos + 1] == 0xFF and d[pos + 3:pos + 14] == b"NETSCAPE2.0":
                loop = int.from_bytes(d[pos + 16:pos + 18], "little")
            pos = sub_blocks(pos + 2)
        else:
            assert d[pos] == 0x2C, f"unexpected block {d[pos]:#x} at {pos}"
            frames.append((delay, bool(d[pos + 9] & 0x80)))
            pos = sub_blocks(pos + 11 + table(d[pos + 9]))  # past the descriptor, its table, the LZW code size
    return global_table, frames, loop


def opencv_frames(path: Path) -> tuple[list[np.ndarray], list[int]]:
    """RGB frames and their durations (ms), by OpenCV's GIF decoder."""
    ok, animation = cv2.imreadanimation(str(path))
    assert ok, path
    return [cv2.cvtColor(f, cv2.COLOR_BGRA2RGB) for f in animation.frames], list(animation.durations)


def render(src: Path, dst: Path, model: Path, *args: str):
    return CliRunner().invoke(main, ["render", str(src), str(dst), "--style", str(model), "--threads", "2", *args])


def test_a_gif_holds_the_network_s_frames_in_one_palette(data: Path, tmp_path: Path, tiny_model: Path):
    out = tmp_path / "walk.gif"
    r = render(data / CLIP, out, tiny_model, "--smooth", "none")
    assert r.exit_code == 0, r.stderr
    assert "note: audio stream 1 (aac) left out: a GIF has no sound" in r.stderr
    assert "the GIF is written when the last frame is painted (one palette from all of them)" in r.stderr
    assert "A/V check: ok: 30 frames, video 3.00 s, audio none match the input (a GIF has no sound)" in r.stderr
    painter = rtstyle.load_style(tiny_model, threads=2)
    painted = [painter(frame) for frame in decode_video(data / CLIP)]
    frames, durations = opencv_frames(out)
    assert len(frames) == len(painted) == 30 and durations == [100] * 30
    diffs = np.array([[np.abs(g.astype(np.int16) - p).mean() for p in painted] for g in frames])
    assert (diffs.argmin(axis=1) == np.arange(30)).all(), "each frame is the painting of its own input frame"
    assert diffs.diagonal().max() < 6, diffs.diagonal()  # 256 colours, dithered
    global_table, blocks, loop = gif_blocks(out)
    assert global_table and not any(local for _, local in blocks), "one palette for every frame"
    assert [delay for delay, _ in blocks] == [10] * 30 and loop == 0, "10 fps, the last frame too; loops forever"
    assert [p.name for p in tmp_path.iterdir()] == ["walk.gif"], "the frames kept for the palette are removed"


def test_a_60_fps_video_plays_at_its_own_speed(data: Path, tmp_path: Path, tiny_model: Path):
    """Browsers show a GIF frame of under 2 hundredths for 10: frames that would come sooner
    are left out, and the others keep their times."""
    src = write_video(tmp_path / "fast.mp4", clip_frames(data, 30), times=[i / 60 for i in range(30)], audio=())
    out = tmp_path / "fast.gif"
    r = render(src, out, tiny_model)
    assert r.exit_code == 0, r.stderr
    assert "A/V check: ok: 20 frames" in r.stderr and "10 of 30 frames left out" in r.stderr, r.stderr
    delays = [delay for delay, _ in gif_blocks(out)[1]]
    assert min(delays) >= 2 and len(delays) == 20, delays
    shown = np.cumsum([0, *delays[:-1]]) / 100
    kept = [i / 60 for i in range(30) if i % 3 != 2]  # at 0, 2, 3.33 -> 3 (too soon), 5, 6.67 -> 7...
    assert np.abs(shown - kept).max() <= 0.005 and sum(delays) == 50, (shown, kept)


def test_an_animated_gif_renders_without_an_alpha_note(data: Path, tmp_path: Path, tiny_model: Path):
    """FFmpeg decodes a GIF with alpha though every pixel is opaque: no note about it."""
    p = _gif_input(data, tmp_path)
    r = render(p.src, p.dst, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok: 10 frames, video 1.00 s" in r.stderr, r.stderr
    assert "alpha" not in r.stderr


def test_the_palette_comes_from_every_frame(data: Path, tmp_path: Path):
    """A clip whose colours change half way (a cut, a fade-in) keeps them after the change."""
    clip = clip_frames(data, 10)
    frames = clip[:5] + [255 - f for f in clip[5:]]
    out = tmp_path / "cut.gif"
    with GifSink(out, 320, 240, Fraction(1, 10), Fraction(10)) as sink:
        for i, frame in enumerate(frames):
            sink.write(frame, i)
    errors = [np.abs(g.astype(np.int16) - f).mean() for g, f in zip(opencv_frames(out)[0], frames, strict=True)]
    assert max(errors) < 6, errors  # with the first frame's palette alone: 15.6 after the change


def test_an_animated_gif_given_to_image_says_only_its_first_frame_is_painted(data: Path, tmp_path: Path,
                                                                           tiny_model: Path):
    p = _gif_input(data, tmp_path)
    r = CliRunner().invoke(main, ["image", str(p.src), str(tmp_path / "still.png"), "--style", str(tiny_model)])
    assert r.exit_code == 0, r.stderr
    assert "note: input.gif holds 10 pictures: only the first was painted (`rtstyle render input.gif OUT.gif` " \
           "paints them all)" in r.stderr
    r = CliRunner().invoke(main, ["image", str(data / "messi5.jpg"), str(tmp_path / "m.png"), "--style",
                                  str(tiny_model)])
    assert "note:" not in r.stderr


def test_a_gif_cut_short_keeps_the_frames_done(data: Path, tmp_path: Path):
    out = tmp_path / "cut.gif"
    sink = GifSink(out, 320, 240, Fraction(1, 1000), Fraction(30))
    for i, frame in enumerate(clip_frames(data, 5)):
        sink.write(frame, 33 * i)
    sink.close(complete=False)
    assert len(opencv_frames(out)[0]) == 5
    empty = GifSink(tmp_path / "none.gif", 320, 240, Fraction(1, 1000), Fraction(30))
    empty.close()
    assert [p.name for p in tmp_path.iterdir()] == ["cut.gif"], "no GIF of no frames, no frames file left"


def test_a_full_disk_leaves_nothing_behind(data: Path, tmp_path: Path, tiny_model: Path):
    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(data / CLIP), str(tmp_path / "out.gif"),
                        "--style", str(tiny_model), "--threads", "2"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300, preexec_fn=lambda: limit_file_size(60_000))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot write") and "disk full or file size limit" in last, r.stderr
    assert last.endswith("nothing was written") and not list(tmp_path.iterdir())


def test_a_live_recording_as_a_gif(data: Path, tmp_path: Path, tiny_model: Path):
    rec, log = tmp_path / "live.gif", tmp_path / "log.json"
    r = CliRunner().invoke(main, ["live", "--source", str(data / CLIP), "--fps", "10", "--duration", "1.5",
                                  "--threads", "1", "--no-window", "--record", str(rec), "--style", str(tiny_model),
                                  "--log-json", str(log)])
    assert r.exit_code == 0, r.output
    shown = json.loads(log.read_text())["frames_shown"]
    frames, durations = opencv_frames(rec)
    assert len(frames) == shown >= 5 and frames[0].shape == (240, 320, 3)
    assert min(durations) >= 20


def test_writing_the_gif_after_the_last_frame_is_shown(data: Path, tmp_path: Path, tiny_model: Path):
    """The GIF is written when every frame is painted (one palette from all): that part has its
    own progress, a frame at a time, on the command line a second bar."""
    told: list[tuple[int, int]] = []
    rtstyle.render(data / CLIP, tmp_path / "walk.gif", rtstyle.load_style(tiny_model, threads=2), smooth="none",
                   on_finishing=lambda done, total: told.append((done, total)))
    assert told == [(i, 30) for i in range(1, 31)]
    r = render(data / CLIP, tmp_path / "again.gif", tiny_model)
    assert r.exit_code == 0 and "writing the GIF" in r.stderr, r.stderr
