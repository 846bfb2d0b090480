"""Bad inputs and outputs through `rtstyle render` (issue #8): every case either renders an
output that passes the renderer's A/V check or stops with one `error:` line and exit 1,
never a traceback, and leaves no damaged output behind.

The inputs are made at test time from the real clips in tests/data by tools.bad_inputs
(benchmarks/bad_inputs.py prints the same cases as a table).
"""
from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner, Result

import rtstyle
from conftest import decode_sound, loudest_frequency
from rtstyle import avcheck
from rtstyle.cli import main
from tools.bad_inputs import CLIP, COVER, FONT, SIZE, Case, cases, clip_frames, limit_file_size

ROOT = Path(__file__).resolve().parent.parent
CASES = {case.id: case for case in cases()}
IN_PROCESS = {name: case for name, case in CASES.items() if not case.file_size_limit}


def render(src: Path, dst: Path, model: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["render", str(src), str(dst), "--style", str(model), "--threads", "2", *args])


def run_case(case: Case, data: Path, work: Path, model: Path, *args: str) -> tuple[Result, Path]:
    work.mkdir(parents=True, exist_ok=True)
    p = case.make(data, work)
    return render(p.src, p.dst, model, *p.args, *args), p.dst


@pytest.mark.parametrize("case", IN_PROCESS.values(), ids=IN_PROCESS.keys())
def test_case(case: Case, data: Path, tmp_path: Path, tiny_model: Path):
    p = case.make(data, tmp_path)
    before = p.dst.read_bytes() if p.dst.is_file() else None
    r = render(p.src, p.dst, tiny_model, *p.args)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.stderr
    assert "Traceback" not in r.stderr
    if case.expect == "render":
        assert r.exit_code == 0, r.stderr
        assert "A/V check: ok" in r.stderr, r.stderr
        assert avcheck.probe(p.dst).frames > 0
    else:
        errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
        assert r.exit_code == 1 and len(errors) == 1, r.stderr
        assert case.message.lower() in errors[0].lower()
        if before is not None:
            assert p.dst.read_bytes() == before, "an existing file was changed"
        else:
            assert not p.dst.is_file(), "a failed render left a file behind"


def covers(path: Path) -> list[bytes]:
    """The bytes of each cover picture (an attached picture) in a file."""
    with av.open(str(path)) as c:
        return [bytes(next(p for p in c.demux(s) if p.size)) for s in c.streams.video
                if s.disposition & av.stream.Disposition.attached_pic]


def attachments(path: Path) -> dict[str, tuple[str, bytes]]:
    with av.open(str(path)) as c:
        return {s.name: (s.mimetype, bytes(s.data)) for s in c.streams if s.type == "attachment"}


FONT_NOTE = "attachment font.ttf not carried over: {} keeps none (try an .mkv output)"


@pytest.mark.parametrize("case_id, suffix, fonts, notes", [
    ("cover and attachments-cover in mp4", ".mp4", False, []),
    ("cover and attachments-font and cover in mkv", ".mkv", True, []),
    ("cover and attachments-font and cover in mkv", ".mp4", False, [FONT_NOTE.format("MP4 (MPEG-4 Part 14)")]),
    ("cover and attachments-font and cover in mkv", ".webm", False,
     [FONT_NOTE.format("WebM"), "cover picture (stream 3) not carried over: WebM keeps none (try an .mkv output)"]),
])
def test_a_cover_and_fonts_go_with_the_video(case_id: str, suffix: str, fonts: bool, notes: list[str], data: Path,
                                            tmp_path: Path, tiny_model: Path):
    """A cover picture (an MP4's 'covr', a Matroska image attachment) and the fonts of styled
    subtitles were left out with a note each: they are carried byte for byte where the
    container keeps them, and only there is a note left. The cover is not taken for the video."""
    p = CASES[case_id].make(data, tmp_path)
    dst = p.dst.with_suffix(suffix)
    r = render(p.src, dst, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok: 30 frames" in r.stderr, r.stderr
    assert [line.removeprefix("note: ") for line in r.stderr.splitlines() if line.startswith("note: ")] == notes
    assert covers(dst) == ([] if suffix == ".webm" else [(data / COVER).read_bytes()])
    assert attachments(dst) == ({"font.ttf": ("font/ttf", FONT)} if fonts else {})


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("case, note", [
    ("90", "rotated 90° to upright"), ("180", "rotated 180° to upright"), ("270", "rotated 270° to upright"),
    ("mirrored", "mirrored left to right, as the file says players show it"),
    ("upside down", "flipped upside down, as the file says players show it"),
    ("90 and mirrored", "turned a quarter and mirrored, as the file says players show it")])
def test_rotated_video_comes_out_upright(case: str, note: str, data: Path, tmp_path: Path, tiny_model: Path):
    """Strength 0 writes the input itself: it must be the clip as a viewer sees it, the display
    matrix's flips too (QuickTime's Flip Horizontal was read as turned 180 degrees, its Flip
    Vertical not at all)."""
    r, dst = run_case(CASES[f"rotation-{case}"], data, tmp_path, tiny_model, "--strength", "0", "--smooth", "none")
    assert r.exit_code == 0, r.stderr
    assert f"note: {note}" in r.stderr
    upright = clip_frames(data, 8, SIZE)
    out = frames_of(dst)
    assert out[0].shape == upright[0].shape
    diffs = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(out, upright)]
    assert max(diffs) < 6, diffs
    assert np.abs(np.rot90(out[0], 2).astype(int) - upright[0].astype(int)).mean() > 15, "test clip is symmetric"


def test_variable_frame_rate_keeps_every_timestamp(data: Path, tmp_path: Path, tiny_model: Path):
    r, dst = run_case(CASES["variable frame rate-40-250 ms gaps"], data, tmp_path, tiny_model)
    assert r.exit_code == 0, r.stderr
    src = next(tmp_path.glob("vfr.mp4"))

    def times(path: Path) -> list[float]:
        with av.open(str(path)) as c:
            return sorted(float(f.pts * f.time_base) for f in c.decode(video=0))

    assert np.allclose(times(dst), times(src), atol=1e-3)
    assert len(set(np.round(np.diff(times(dst)), 3))) >= 3, "the gaps should really vary"


def test_grayscale_stays_grey_and_alpha_is_reported(data: Path, tmp_path: Path, tiny_model: Path):
    r, dst = run_case(CASES["grayscale-ffv1 gray"], data, tmp_path / "g", tiny_model, "--strength", "0")
    assert r.exit_code == 0, r.stderr
    frame = frames_of(dst)[0].astype(int)
    assert np.abs(frame[..., 0] - frame[..., 2]).mean() < 3 and frame.std() > 20
    r, _ = run_case(CASES["alpha-qtrle argb"], data, tmp_path / "a", tiny_model)
    assert "note: alpha channel dropped" in r.stderr
    r, _ = run_case(CASES["10-bit-hevc yuv420p10le"], data, tmp_path / "h", tiny_model)
    assert "note: 10-bit video converted to 8-bit" in r.stderr


def test_every_audio_stream_is_kept(data: Path, tmp_path: Path, tiny_model: Path):
    """Decision: all audio streams (languages, commentary) are carried over, in order."""
    r, dst = run_case(CASES["multiple audio streams-aac + pcm in mkv"], data, tmp_path, tiny_model)
    assert r.exit_code == 0, r.stderr
    assert "audio copied (aac), transcoded pcm_s16le -> aac" in r.stderr
    with av.open(str(dst)) as c:
        assert [s.codec_context.name for s in c.streams.audio] == ["aac", "aac"]
    assert all(abs(a - 0.8) < 0.05 for a in avcheck.probe(dst).audio)


def test_a_webm_output_is_vp9_with_the_sound_as_opus(data: Path, tmp_path: Path, tiny_model: Path):
    """WebM players take VP9 and Opus only: the video is VP9, AAC becomes Opus at 48 kHz, and
    the sound decoded from the file is the input's (its tone at the same pitch, as long)."""
    r, dst = run_case(CASES["output containers-webm (VP9, Opus)"], data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "audio transcoded aac -> opus" in r.stderr, r.stderr

    def sound(path: Path) -> tuple[str, float, float]:
        codec, rate, _, samples = decode_sound(path)
        return codec, loudest_frequency(samples, rate), len(samples) / rate

    with av.open(str(dst)) as c:
        assert c.streams.video[0].codec_context.name == "vp9"
    (_, pitch_in, seconds_in), (codec, pitch, seconds) = sound(data / CLIP), sound(dst)
    assert codec == "opus" and abs(pitch - pitch_in) < 2 and abs(seconds - seconds_in) < 0.05, (pitch, pitch_in)


def test_subtitles_kept_where_the_container_takes_them(data: Path, tmp_path: Path, tiny_model: Path):
    case = CASES["subtitle or data streams-srt in mkv"]
    p = case.make(data, tmp_path)
    r = render(p.src, tmp_path / "out.mkv", tiny_model)
    assert r.exit_code == 0, r.stderr
    with av.open(str(tmp_path / "out.mkv")) as c:
        assert [s.type for s in c.streams] == ["video", "audio", "subtitle"]
        cues = [pk for pk in c.demux(c.streams.subtitles[0]) if pk.size]
    assert len(cues) == 4
    r = render(p.src, tmp_path / "out.avi", tiny_model)  # AVI takes no subtitles: said, not silently lost
    assert r.exit_code == 0 and "note: subtitle stream 2 (srt) not carried over: 'avi' format does not support " \
                                "'srt' codec (try an .mkv, an .mp4, a .mov or a .webm output)" in r.stderr, r.stderr


def cues(path: Path) -> list[tuple[float, float, str]]:
    """Each subtitle cue's start, duration and words with their ASS style tags, as FFmpeg's decoder
    for its codec reads them (empty cues, which MP4 puts in the gaps, left out). From the ASS event
    line, the text after its eight fields: PyAV 18.1.1's ``dialogue`` leaves the style tags out."""
    with av.open(str(path)) as c:
        stream = c.streams.subtitles[0]
        found = [(p.pts * p.time_base, p.duration * p.time_base,
                  [r.ass.decode().split(",", 8)[-1].replace("\\N", "\n") for r in p.decode()])
                 for p in c.demux(stream) if p.size]
    return [(round(float(t), 3), round(float(d), 3), "\n".join(words)) for t, d, words in found if any(words)]


def subtitled(path: Path, codec: str, texts: list[str]) -> Path:
    """A 2 s clip with a cue at 0.2 s and 1.2 s, 0.6 s each, ``texts`` as ``codec`` stores them."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        subtitles = out.add_mux_stream(codec)
        subtitles.time_base = Fraction(1, 1000)
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start, text in zip((200, 1200), texts):
            cue = av.Packet(text.encode())
            cue.stream, cue.pts, cue.dts, cue.duration, cue.time_base = subtitles, start, start, 600, Fraction(1, 1000)
            out.mux(cue)
    return path


# A mov_text cue whose first word is in italics: its length, its text, a 'styl' box of one record
# (characters 0-5, font 1, italic, size 16, white), as QuickTime writes one.
ITALIC_MOV_TEXT = "\x00\x0bHello\nthere\x00\x00\x00\x16styl\x00\x01\x00\x00\x00\x05\x00\x01\x02\x10\xff\xff\xff\xff"


@pytest.mark.parametrize("codec, texts, suffix, action, first", [
    # An iPhone's or QuickTime's mov_text (the text's length, then the text, then its styles) into Matroska.
    ("mov_text", [ITALIC_MOV_TEXT, "\x00\x0bWorld again"], ".mkv", "converted mov_text -> subrip",
     "{\\i1}Hello{\\i0}\nthere"),
    # A film's SubRip, with its italics, into MP4 and WebM (mov_text's italics end with {\r} as FFmpeg reads them).
    ("subrip", ["<i>Hello</i>\nthere", "World again"], ".mp4", "converted subrip -> mov_text",
     "{\\i1}Hello{\\r}\nthere"),
    ("subrip", ["<i>Hello</i>\nthere", "World again"], ".webm", "converted subrip -> webvtt",
     "{\\i1}Hello{\\i0}\nthere"),
    # An anime's ASS: its override tags (bold and underline, reset), line breaks, the text after eight fields.
    ("ass", ["0,0,Default,,0,0,0,,{\\b1\\u1}Hello{\\r}\\Nthere", "1,0,Default,,0,0,0,,World again"], ".mov",
     "converted ass -> mov_text", "{\\b1}{\\u1}Hello{\\r}\nthere"),
])
def test_text_subtitles_go_into_any_container_with_text_subtitles(codec: str, texts: list[str], suffix: str,
                                                                   action: str, first: str, tmp_path: Path,
                                                                   tiny_model: Path):
    """Text subtitles the output cannot hold as they are become its own text subtitles, each cue
    at its time with its words in their bold, italics and underline, as FFmpeg's command line
    converts them (they were left out: a film's SubRip in an .mp4, an iPhone's mov_text in an
    .mkv; then the styling was). Read back by FFmpeg's decoder for the output's codec, as ASS."""
    src = subtitled(tmp_path / f"in{'.mp4' if codec == 'mov_text' else '.mkv'}", codec, texts)
    r = render(src, tmp_path / f"out{suffix}", tiny_model)
    assert r.exit_code == 0 and f"audio {action}" in r.stderr and "not carried over" not in r.stderr, r.stderr
    assert cues(tmp_path / f"out{suffix}") == [(0.2, 0.6, first), (1.2, 0.6, "World again")]
    if suffix in (".mp4", ".mov"):  # a sample description with a font table, which Apple's players read a track by
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            assert b"ftab" in c.streams.subtitles[0].codec_context.extradata


@pytest.mark.parametrize("suffix", [".mkv", ".mp4"])
def test_a_parts_subtitles_start_with_it(suffix: str, tmp_path: Path, tiny_model: Path):
    """A part from 0.5 s of a clip whose first cue shows from 0.2 to 0.8 s: the part opens on that
    cue's last 0.3 s, and the next one comes 0.7 s in (copied into Matroska, the whole track
    came 0.3 s late, as the muxer moved the cue that started before zero; into MP4 that cue
    ended at zero, unseen)."""
    src = subtitled(tmp_path / "in.mkv", "subrip", ["Hello", "World"])
    r = render(src, tmp_path / f"part{suffix}", tiny_model, "--start", "0.5", "--duration", "1")
    assert r.exit_code == 0, r.stderr
    assert cues(tmp_path / f"part{suffix}") == [(0.0, 0.3, "Hello"), (0.7, 0.6, "World")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(data: Path, tmp_path: Path, tiny_model: Path):
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    r = render(data / CLIP, folder / "out.mp4", tiny_model)
    assert r.exit_code == 1 and r.stderr.strip().splitlines()[-1].startswith("error: output folder is not writable")


@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_disk_full_mid_write(suffix: str, data: Path, tmp_path: Path, tiny_model: Path):
    """A file size limit stands in for a full disk: one error line, and the partial file
    plays (Matroska as it is, an MP4 because it is written in fragments: rtstyle.fragments)."""
    case = CASES[f"disk full-{suffix} output"]
    p = case.make(data, tmp_path)
    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(p.src), str(p.dst), "--style", str(tiny_model),
                        "--smooth", "none", "--threads", "2"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: limit_file_size(case.file_size_limit))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot write") and "disk full or file size limit" in last, r.stderr
    assert case.message in last
    assert 0 < avcheck.probe(p.dst).frames < 30


def test_a_picture_on_a_full_disk_is_one_line_and_no_file(data: Path, tmp_path: Path, tiny_model: Path):
    dst = tmp_path / "painted.png"
    r = subprocess.run([sys.executable, "-m", "rtstyle", "image", str(data / "messi5.jpg"), str(dst), "--style",
                        str(tiny_model)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       preexec_fn=lambda: limit_file_size(20_000))
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last == f"error: cannot write {dst}: File too large (disk full or file size limit)"
    assert not dst.exists()


def test_interrupted_render_is_checked_against_its_video(data: Path, tmp_path: Path, tiny_model: Path):
    import threading

    stop = threading.Event()
    report = rtstyle.render(data / CLIP, tmp_path / "cut.mp4", tiny_model, stop=stop,
                            on_frame=lambda r: stop.set() if r.frames_out == 10 else None)
    assert report.interrupted and report.check.ok and report.check.frames == 10, report.check.summary()
