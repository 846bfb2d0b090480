"""Another file's sound under the painting (render --audio): music over a clip, or the mixdown
made for an image sequence.

The input (test_render.staircase_clip) sounds 300, 600 and 900 Hz in its three seconds; the
soundtracks here step 1000, 1500, 2000... Hz, so where each second of the output's sound came
from is heard in it (decoded by PyAV, against the pitches the soundtrack was made with), and
its length is measured against the video's.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import rtstyle
from conftest import decode_sound
from rtstyle import avcheck
from rtstyle.cli import main
from test_render import pitches, staircase_clip

RATE = 44100
PITCHES = [1000, 1500, 2000, 2500, 3000]  # the soundtrack's, one a second


def soundtrack(path: Path, seconds: float, codec: str = "pcm_s16le", rate: int = RATE, chunk: int = 1024) -> Path:
    """``seconds`` of sound at 1000 Hz, 500 Hz higher each second, in ``path`` (a .wav, .m4a...),
    given to the encoder ``chunk`` samples at a time (unless it has its own frame size)."""
    t = np.arange(round(seconds * rate)) / rate
    sound = 0.3 * np.sin(2 * np.pi * np.take(PITCHES, np.floor(t).astype(int)) * t)
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        fmt = stream.codec_context.format.name
        samples = (sound * 32767).astype(np.int16) if fmt.startswith("s16") else sound.astype(np.float32)
        step = stream.codec_context.frame_size or chunk
        for start in range(0, len(samples), step):
            frame = av.AudioFrame.from_ndarray(samples[None, start:start + step], format=fmt, layout="mono")
            frame.sample_rate, frame.pts = rate, start
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def seconds_of_sound(path: Path) -> float:
    _, rate, _, samples = decode_sound(path)
    return len(samples) / rate


def longest_packet(path: Path) -> float:
    with av.open(str(path)) as c:
        return max(float(p.duration * p.time_base) for p in c.demux(c.streams.audio[0]) if p.size)


@pytest.mark.parametrize("suffix, action", [(".mp4", "transcoded pcm_s16le -> aac"), (".mkv", "copied (pcm_s16le)"),
                                            (".webm", "transcoded pcm_s16le -> opus"),
                                            (".avi", "copied (pcm_s16le)")])
def test_the_soundtrack_replaces_the_sound_and_ends_with_the_video(suffix: str, action: str, data: Path,
                                                                   tmp_path: Path, style):
    """A 5 s song under a 3 s clip: its first three seconds are heard (1000, 1500, 2000 Hz, not
    the clip's 300, 600, 900), and the sound ends with the video: exactly where it is encoded
    again, within one of the song's packets where it is copied as it is."""
    src = staircase_clip(data, tmp_path / "clip.mp4")
    song = soundtrack(tmp_path / "song.wav", 5.0)
    dst = tmp_path / f"out{suffix}"
    report = rtstyle.render(src, dst, style, smooth="none", audio=song)
    assert report.check.ok and report.frames_out == 30, report.check.summary()
    assert report.audio == f"song.wav: {action}"
    assert pitches(dst, [(0.1, 0.9), (1.1, 1.9), (2.1, 2.9)]) == pytest.approx(PITCHES[:3], abs=5)
    over = longest_packet(song) if action.startswith("copied") else 0.03  # transcoded: an AAC/Opus frame at most
    assert 3.0 - 0.03 < seconds_of_sound(dst) < 3.0 + over + 0.01


def test_a_part_takes_the_soundtrack_from_its_start(data: Path, tmp_path: Path, style):
    """--start 1 --duration 1: the soundtrack lines up with the input, so its second second is heard."""
    src = staircase_clip(data, tmp_path / "clip.mp4")
    dst = tmp_path / "part.mp4"
    report = rtstyle.render(src, dst, style, smooth="none", start=1.0, duration=1.0,
                            audio=soundtrack(tmp_path / "song.m4a", 5.0, "aac"))
    assert report.check.ok and report.frames_out == 10, report.check.summary()
    assert pitches(dst, [(0.05, 0.95)]) == pytest.approx([PITCHES[1]], abs=5)
    assert seconds_of_sound(dst) == pytest.approx(1.0, abs=0.05)


def test_an_image_sequence_gets_its_mixdown(data: Path, tmp_path: Path, style):
    """Numbered pictures have no sound: a 3D artist's mixdown goes under them, from the first frame."""
    from tools.bad_inputs import clip_frames

    (tmp_path / "frames").mkdir()
    for n, frame in enumerate(clip_frames(data, 15), start=1):
        cv2.imwrite(str(tmp_path / "frames" / f"{n:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    dst = tmp_path / "shot.mp4"
    report = rtstyle.render(tmp_path / "frames", dst, style, smooth="none", rate=Fraction(10),
                            audio=soundtrack(tmp_path / "mix.wav", 3.0))
    assert report.check.ok and report.frames_out == 15, report.check.summary()
    assert pitches(dst, [(0.1, 0.9), (1.05, 1.45)]) == pytest.approx(PITCHES[:2], abs=10)
    assert seconds_of_sound(dst) == pytest.approx(1.5, abs=0.03)


def test_a_shorter_soundtrack_ends_on_its_own_and_the_check_holds_the_output_to_it(data: Path, tmp_path: Path,
                                                                                   style):
    """A 2 s song under the 3 s clip ends after 2 s. The A/V check compares the output with the
    song's own packets, not with what the sink wrote: the clip's 3 s of its own sound fail it."""
    src = staircase_clip(data, tmp_path / "clip.mp4")
    song = soundtrack(tmp_path / "song.wav", 2.0)
    report = rtstyle.render(src, tmp_path / "dubbed.mp4", style, smooth="none", audio=song)
    assert report.check.ok, report.check.summary()
    assert seconds_of_sound(tmp_path / "dubbed.mp4") == pytest.approx(2.0, abs=0.03)
    rtstyle.render(src, tmp_path / "own.mp4", style, smooth="none")
    reference = avcheck.probe(src)
    reference.dub(avcheck.probe(song))
    assert "audio stream 1 lasts 3.0" in avcheck.verify(tmp_path / "own.mp4", reference).summary()
    assert avcheck.verify(tmp_path / "dubbed.mp4", reference).ok


def test_every_video_of_a_batch_gets_the_soundtrack(data: Path, tmp_path: Path, tiny_model: Path):
    """`render a.mp4 b.mkv -o OUT --audio song.wav`: the same music under each (a channel's intro music)."""
    song = soundtrack(tmp_path / "song.wav", 5.0)
    inputs = [staircase_clip(data, tmp_path / "a.mp4"), data / "walk_pcm.mkv"]
    r = CliRunner().invoke(main, ["render", *map(str, inputs), "-o", str(tmp_path / "out"), "--style",
                                  str(tiny_model), "--audio", str(song)])
    assert r.exit_code == 0, r.output
    for name in ("a.mp4", "walk_pcm.mp4"):
        assert pitches(tmp_path / "out" / name, [(0.1, 0.9)]) == pytest.approx([PITCHES[0]], abs=5)


def test_a_network_input_is_checked_against_the_soundtrack(data: Path, tmp_path: Path, style):
    """A URL's account is recorded while it is read: its own sound, read along, is not counted as
    a stream the output should have (the soundtrack's is)."""
    from test_avcheck import FileServer

    server = FileServer((data / "walk_pcm.mkv").read_bytes())  # 20 frames, PCM audio
    try:
        report = rtstyle.render(server.url, tmp_path / "out.mp4", style, smooth="none",
                                audio=soundtrack(tmp_path / "song.wav", 5.0))
    finally:
        server.close()
    assert report.check.ok and report.frames_out == 20, report.check.summary()
    assert pitches(tmp_path / "out.mp4", [(0.1, 0.9)]) == pytest.approx([PITCHES[0]], abs=5)


def test_a_copied_soundtrack_ends_within_its_last_packet(data: Path, tmp_path: Path, style):
    """A Matroska file of PCM in packets of half a second, copied as it is into a Matroska output:
    the sound ends up to one such packet after a 30 fps video's last frame, and the check allows that."""
    from tools.bad_inputs import SIZE, clip_frames, write_video

    src = write_video(tmp_path / "clip.mp4", clip_frames(data, 20, SIZE), audio=(), rate=30)
    song = soundtrack(tmp_path / "song.mkv", 3.0, rate=8000, chunk=4096)
    assert longest_packet(song) > 0.4
    report = rtstyle.render(src, tmp_path / "out.mkv", style, smooth="none", audio=song)
    assert report.check.ok and report.audio == "song.mkv: copied (pcm_s16le)", report.check.summary()
    assert 20 / 30 <= seconds_of_sound(tmp_path / "out.mkv") < 20 / 30 + longest_packet(song) + 0.01


def test_a_batch_with_a_soundtrack_that_cannot_be_used_fails_before_any_work(data: Path, tmp_path: Path,
                                                                           tiny_model: Path):
    """One line for the whole batch, before its first video, not the same failure once a video."""
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(data / "walk_pcm.mkv"), "-o",
                                  str(tmp_path / "out"), "--style", str(tiny_model), "--audio",
                                  str(data / "messi5.jpg")])
    assert r.exit_code == 1 and r.stderr.splitlines() == ["error: messi5.jpg has no sound to put under the video "
                                                          "(--audio takes a file with an audio stream)"], r.stderr
    assert not any((tmp_path / "out").iterdir())


def test_a_part_after_the_soundtrack_ends_has_no_sound(data: Path, tmp_path: Path, style):
    """A 1 s song and --start 2: nothing of it is in the part. The output has no audio stream (not
    an empty one), a note says why, and the check expects none."""
    src = staircase_clip(data, tmp_path / "clip.mp4")
    dst = tmp_path / "part.mkv"
    report = rtstyle.render(src, dst, style, smooth="none", start=2.0, audio=soundtrack(tmp_path / "song.wav", 1.0))
    assert report.check.ok and report.frames_out == 10, report.check.summary()
    assert report.audio == "none"
    assert "song.wav ends before the part rendered starts: the output has nothing of it" in report.notes
    with av.open(str(dst)) as c:
        assert [s.type for s in c.streams] == ["video"]
