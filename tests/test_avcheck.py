"""The A/V check against an independent probe of the input (issue 16), and the timing and
audio cases it caught: timestamps stored as decode times, variable-rate AVI, transcoded
audio with a start offset, audio as the first stream. Inputs come from tools.bad_inputs."""
from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner, Result

import rtstyle
from conftest import decode_sound
from test_render import tagged_copy
from rtstyle import avcheck
from rtstyle.cli import main
from rtstyle.pipeline import render_video
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource
from rtstyle.painter import Painter
from tools.bad_inputs import CLIP, SIZE, cases, clip_frames, write_video

CASES = {case.id: case for case in cases()}


def render_case(case_id: str, data: Path, work: Path, model: Path) -> tuple[Result, Path, Path]:
    p = CASES[case_id].make(data, work)
    r = CliRunner().invoke(main, ["render", str(p.src), str(p.dst), "--style", str(model), "--threads", "2",
                                  "--smooth", "none", *p.args])
    assert "Traceback" not in r.stderr, r.stderr
    return r, p.src, p.dst


def video_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return sorted(float(f.pts * f.time_base) for f in c.decode(video=0))


def chunk_times(path: Path) -> list[float]:
    """An AVI's frame times: its chunks' (FFmpeg's pts there are a parser's guess)."""
    with av.open(str(path)) as c:
        return sorted(float(p.dts * p.time_base) for p in c.demux(video=0) if p.size)


def first_audio_packet(path: Path) -> float:
    with av.open(str(path)) as c:
        p = next(p for p in c.demux(c.streams.audio[0]) if p.size)
        return float(p.pts * p.time_base)


def test_a_sink_that_drops_the_audio_fails_the_check(data: Path, tmp_path: Path, tiny_model: Path):
    """The expected audio streams come from the input, not from what the sink chose to carry."""
    source = VideoFileSource(data / CLIP)
    sink = VideoFileSink(tmp_path / "out.mp4", source.width, source.height, source.time_base, source.fps)
    report = render_video(source, sink, *Painter.of(rtstyle.load_style(tiny_model, threads=2)))
    assert report.frames_out == 30 and not report.check.ok
    assert "0 audio streams written, the input has 1" in report.check.summary()


def test_the_check_fails_on_a_mismatch(data: Path, tmp_path: Path):
    """Frame count, span, intervals and audio of a real file against another file's probe."""
    frames = clip_frames(data, 12, SIZE)
    out = write_video(tmp_path / "out.mp4", frames[:10], times=[i / 1000 for i in range(10)], audio=())
    ref = avcheck.probe(write_video(tmp_path / "ref.mp4", frames, audio=("aac", "aac")))
    check = avcheck.verify(out, ref)
    text = check.summary()
    assert not check.ok and text.startswith("FAILED"), text
    assert "10 video frames written, 12 expected" in text
    assert "video lasts" in text and "9 of 9 frame intervals are shorter than half" in text
    assert "0 audio streams written, the input has 2" in text
    assert avcheck.verify(tmp_path / "ref.mp4", ref).ok


def test_timestamps_stored_as_decode_times_get_the_stream_rate(data: Path, tmp_path: Path, tiny_model: Path):
    """B-frames with pts == dts: decoded pts go back and forth. Every interval of the output
    is one frame at the stream's rate, and one note says why."""
    r, src, dst = render_case("timestamps-pts stored as dts, B-frames, mp3", data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "timestamps go backwards" in ln]
    assert len(notes) == 1 and notes[0].startswith("note: ") and "10 fps" in notes[0], r.stderr
    with av.open(str(src)) as c:
        decoded = [f.pts for f in c.decode(video=0)]
    assert any(b < a for a, b in zip(decoded, decoded[1:])), "the input must really run backwards"
    assert np.allclose(np.diff(video_times(dst)), 0.1, atol=1e-3)


@pytest.mark.parametrize("case_id", ["variable-rate AVI-h264 in avi (FFmpeg's pts a frame late)",
                                     "AVI output-aac from an avi"])
def test_an_avi_with_b_frames_is_timed_at_its_rate_without_a_note(case_id: str, data: Path, tmp_path: Path,
                                                                  tiny_model: Path):
    """AVI stores no presentation times, so B-frames' guessed ones running back and forth lose
    nothing: no note that the input's timestamps go backwards (every such AVI had one)."""
    r, src, dst = render_case(case_id, data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    with av.open(str(src)) as c:
        guessed = [f.pts for f in c.decode(video=0)]
    assert any(b <= a for a, b in zip(guessed, guessed[1:])), "the input's guessed times must run back"
    assert "timestamps go backwards" not in r.stderr, r.stderr
    times = chunk_times(dst) if dst.suffix == ".avi" else video_times(dst)
    assert np.allclose(np.diff(times), 0.1, atol=1e-3)


def test_the_check_fails_on_collapsed_intervals(data: Path, tmp_path: Path):
    """What rtstyle wrote before: each backward pts moved 1 tick past the previous one."""
    p = CASES["timestamps-pts stored as dts, B-frames, mp3"].make(data, tmp_path)
    times = [0.0, 0.2, 0.3, 0.301, 0.5, 0.6, 0.601, 0.8]
    out = write_video(tmp_path / "collapsed.mp4", clip_frames(data, len(times), SIZE), times=times, audio=())
    check = avcheck.verify(out, avcheck.probe(p.src), until=0.7)
    assert "frame intervals are shorter than half the input's shortest (100.0 ms)" in check.summary()


def test_the_check_fails_on_video_late_against_its_sound_with_a_stretched_packet(data: Path, tmp_path: Path):
    """The clip copied as `ffmpeg -movflags +frag_keyframe+empty_moov` writes it: no edit list, so its
    video (B-frames) starts 0.2 s after its sound, and the last sound packet stretched to the
    fragment's end (0.2 s). The longest packet set the tolerances, and the check passed."""
    out = tagged_copy(data, tmp_path / "fragmented.mp4", {}, {"movflags": "+frag_keyframe+empty_moov"})
    assert avcheck.probe(out).video_times[0] == pytest.approx(0.2)
    problems = avcheck.verify(out, avcheck.probe(data / CLIP)).problems
    assert problems == ["audio stream 1 lasts 3.200 s, expected 3.023 s",
                        "audio stream 1 starts at -0.200 s against the video, the input's at 0.000 s"]


@pytest.mark.parametrize("case_id", ["variable-rate AVI-cinepak with drop chunks", "variable-rate AVI-mp4 rendered to avi"])
def test_variable_rate_avi_keeps_its_timing(case_id: str, data: Path, tmp_path: Path, tiny_model: Path):
    """Gaps stored as empty chunks are kept; an AVI output keeps the input's intervals."""
    r, src, dst = render_case(case_id, data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    assert np.allclose(np.diff(video_times(dst)), np.diff(video_times(src)), atol=2e-3)


def test_variable_rate_video_into_avi_keeps_its_intervals(data: Path, tmp_path: Path, tiny_model: Path):
    """AVI counts frames at one rate. Gaps of 40-250 ms (each a multiple of 10 ms) are counted
    at 100 fps, the lowest common rate they all fall on, a gap being empty chunks; at the
    average rate (7.4 fps) each 40 ms gap became 135 ms."""
    r, src, dst = render_case("AVI output-40-250 ms gaps", data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    assert min(np.diff(video_times(src))) == pytest.approx(0.04)
    assert np.allclose(chunk_times(dst), video_times(src), atol=1e-3)


def test_an_avis_aac_into_avi_keeps_its_length(data: Path, tmp_path: Path, tiny_model: Path):
    """AAC demuxed from an AVI says no frame size, and an AVI muxer then times it by bytes (it
    read back as 0.23 s of 0.84): it becomes MP3, AVI's own, and lasts as long as the input's."""
    r, src, dst = render_case("AVI output-aac from an avi", data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "transcoded aac -> mp3" in r.stderr and "A/V check: ok" in r.stderr, r.stderr
    (_, rate_in, _, sound_in), (codec, rate_out, _, sound_out) = decode_sound(src), decode_sound(dst)
    assert codec.startswith("mp3")
    assert len(sound_out) / rate_out == pytest.approx(len(sound_in) / rate_in, abs=avcheck.AUDIO_TOLERANCE)


def onset(path: Path) -> float:
    """When the file's sound first gets loud, in seconds after its first video frame (chunk time in AVI)."""
    _, rate, start, samples = decode_sound(path)
    with av.open(str(path)) as c:
        first_frame = min(float((p.dts if c.format.name == "avi" else p.pts) * p.time_base)
                          for p in c.demux(video=0) if p.size)
    return start + int(np.argmax(np.abs(samples) > 0.3 * np.abs(samples).max())) / rate - first_frame


@pytest.mark.parametrize("case_id", ["AVI output-pcm at 0.067 s", "AVI output-mp3 at 0.067 s"])
def test_sound_that_starts_late_starts_late_in_avi(case_id: str, data: Path, tmp_path: Path, tiny_model: Path):
    """AVI stores no start time for a stream: the sound is given silence before it (it played
    from the first frame, 67 ms early). What is heard is late by MP3's priming at most, which an
    AVI keeps (no edit list), as it kept AAC's."""
    r, src, dst = render_case(case_id, data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "-> mp3" in r.stderr and "A/V check: ok" in r.stderr, r.stderr
    assert onset(src) == pytest.approx(0.067, abs=2e-3)
    assert 0 <= onset(dst) - onset(src) <= avcheck.OFFSET_TOLERANCE


@pytest.mark.parametrize("case_id, action", [("audio start offset-pcm at 0.067 s in mkv (transcoded)", "transcoded"),
                                             ("audio start offset-mp3 at 0.067 s in mkv (copied)", "copied (mp3)")])
def test_audio_keeps_its_start_offset(case_id: str, action: str, data: Path, tmp_path: Path, tiny_model: Path):
    """Sound from 0.067 s: transcoded to AAC it starts within one encoder frame of it (it
    started at 0 before); MP3, which MP4 takes, is copied (its decoder's name, mp3float,
    had it transcoded)."""
    r, src, dst = render_case(case_id, data, tmp_path, tiny_model)
    assert r.exit_code == 0 and f"audio {action}" in r.stderr and "A/V check: ok" in r.stderr, r.stderr
    assert first_audio_packet(src) > 0.03
    assert abs(first_audio_packet(dst) - first_audio_packet(src)) <= avcheck.OFFSET_TOLERANCE


def test_audio_as_stream_zero_is_not_reported_as_dropped_video(data: Path, tmp_path: Path, tiny_model: Path):
    r, _, dst = render_case("stream order-audio as stream 0", data, tmp_path, tiny_model)
    assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    assert "not carried over" not in r.stderr, r.stderr


class FileServer:
    """Serves one file over HTTP; once ``stall`` is set, new connections are accepted and
    then get nothing, as from a server that hangs."""

    def __init__(self, payload: bytes, name: str = "clip.mkv"):
        import http.server

        outer = self
        self.stall = threading.Event()
        self.closed = threading.Event()
        self.requests = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                outer.requests += 1
                if outer.stall.is_set():
                    outer.closed.wait(120)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.closed.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def test_the_check_never_reopens_a_network_input(data: Path, tmp_path: Path, tiny_model: Path):
    """Every frame written, then the server hangs: the render still ends, checked against what
    was recorded while reading (audio included), without a new request."""
    server = FileServer((data / "walk_pcm.mkv").read_bytes())  # 20 frames, PCM audio
    result: list = []
    requests_at_stall: list[int] = []

    def on_frame(report: rtstyle.RenderReport) -> None:
        if report.frames_out == 20:
            server.stall.set()
            requests_at_stall.append(server.requests)

    def run() -> None:
        result.append(rtstyle.render(server.url, tmp_path / "out.mp4", rtstyle.load_style(tiny_model, threads=2),
                                     on_frame=on_frame, stream_timeout=2, smooth="none"))

    worker = threading.Thread(target=run, daemon=True)
    try:
        worker.start()
        worker.join(timeout=60)
        assert not worker.is_alive(), "the render hung after its last frame"
    finally:
        server.close()
    report = result[0]
    assert report.frames_out == 20 and report.check.ok, report.check.summary()
    assert report.check.audio_seconds and abs(report.check.audio_seconds[0] - 2.0) < 0.05
    assert requests_at_stall == [server.requests], "the input was requested again"


@pytest.mark.parametrize("suffix, audio", [(".mkv", "copied (pcm_s16le)"), (".mp4", "transcoded pcm_s16le -> aac")])
def test_a_part_of_a_network_input_is_read_from_its_start(suffix: str, audio: str, data: Path, tmp_path: Path,
                                                          tiny_model: Path):
    """A URL is not sought (a server need not take ranges): the frames and the sound before the
    part are read and dropped, and the part checks against what was recorded while reading."""
    server = FileServer((data / "walk_pcm.mkv").read_bytes())  # 20 frames, PCM audio
    try:
        report = rtstyle.render(server.url, tmp_path / f"out{suffix}", rtstyle.load_style(tiny_model, threads=2),
                                stream_timeout=5, smooth="none", start=1.0)
    finally:
        server.close()
    assert report.frames_out == 10 and report.audio == audio and report.check.ok, report.check.summary()
    assert abs(first_audio_packet(tmp_path / f"out{suffix}")) <= avcheck.OFFSET_TOLERANCE


def test_an_mp4_indexed_at_its_end_from_a_server_without_ranges_says_so(data: Path, tmp_path: Path,
                                                                        tiny_model: Path):
    """walk_tone.mp4 has its index (moov) after its frames: FFmpeg reads it there, then cannot
    jump back to the frames through a server that serves no byte ranges. One line that says so
    and what to do, not "the file is damaged or truncated"."""
    server = FileServer((data / "walk_tone.mp4").read_bytes(), "walk_tone.mp4")
    try:
        r = CliRunner().invoke(main, ["render", server.url, str(tmp_path / "out.mp4"), "--style", str(tiny_model)])
    finally:
        server.close()
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.exit_code == 1 and len(errors) == 1, r.stderr
    assert "the server stopped sending before the first frame" in errors[0] and "download the file first" in errors[0]
    assert not (tmp_path / "out.mp4").exists()


def test_an_input_deleted_during_the_render_is_no_error(data: Path, tmp_path: Path, tiny_model: Path):
    src = tmp_path / "in.mp4"
    src.write_bytes((data / CLIP).read_bytes())

    def on_frame(report: rtstyle.RenderReport) -> None:
        if report.frames_out == 5:
            src.unlink()

    report = rtstyle.render(src, tmp_path / "out.mp4", rtstyle.load_style(tiny_model, threads=2), on_frame=on_frame)
    assert not src.exists() and report.frames_out == 30 and report.check.ok, report.check.summary()


@pytest.mark.parametrize("suffix, codec", [(".mp4", "h264"), (".webm", "vp9"), (".mov", "hevc"), (".mov", "prores")])
def test_a_rendered_fast_style_keeps_the_networks_colours(suffix: str, codec: str, data: Path, tmp_path: Path):
    """Issue 16, item 1 end to end: the first frame of a render, decoded independently, has
    the colours of the network's own output for that frame (mean shift <= 1 level), in
    H.264, WebM's VP9, and in the codecs --codec asks for (ProRes: 10-bit 4:2:2)."""
    from rtstyle import yuv
    from test_yuv import bt601_rgb

    style = rtstyle.load_style("starry_night_fast", threads=2)
    report = rtstyle.render(data / CLIP, tmp_path / f"out{suffix}", style, smooth="none",
                            codec=codec if suffix == ".mov" else None)
    assert report.check.ok, report.check.summary()
    with av.open(str(data / CLIP)) as c:
        painted = style(yuv.to_rgb(next(c.decode(video=0))))
    with av.open(str(tmp_path / f"out{suffix}")) as c:
        assert c.streams.video[0].codec_context.name == codec
        decoded = bt601_rgb(next(c.decode(video=0)))
    shift = decoded.mean((0, 1)) - painted.mean((0, 1))
    assert np.all(np.abs(shift) <= 1.0), np.round(shift, 2)


@pytest.mark.parametrize("suffix", [".ts", ".mkv", ".mp4"])
def test_sound_is_judged_against_the_video_not_the_containers_clock(suffix: str, data: Path, tmp_path: Path):
    """MPEG-TS starts its whole timeline after the B-frames' delay (0.2 s here), Matroska moves
    AAC's negative priming to zero: a file in sync passes. The same file with its sound 0.2 s
    late, or early, fails."""
    frames = clip_frames(data, 12, SIZE)
    ref = avcheck.probe(write_video(tmp_path / "ref.mp4", frames, options={"bf": "2"}))
    in_sync = write_video(tmp_path / f"sync{suffix}", frames, options={"bf": "2"})
    assert avcheck.verify(in_sync, ref).ok, avcheck.verify(in_sync, ref).summary()
    late = write_video(tmp_path / f"late{suffix}", frames, options={"bf": "2"}, audio_start=0.2)
    assert "audio stream 1 starts at 0.17" in avcheck.verify(late, ref).summary()  # 0.2 s less AAC's priming
    early = avcheck.probe(write_video(tmp_path / "late_ref.mp4", frames, options={"bf": "2"}, audio_start=0.2))
    early_check = avcheck.verify(in_sync, early).summary()  # from AAC's priming, or (MP4) after it
    assert "audio stream 1 starts at -0.02" in early_check or "audio stream 1 starts at 0.00" in early_check


def test_a_copied_sound_keeps_every_packet_its_priming_included(data: Path, tmp_path: Path, tiny_model: Path):
    """AAC in Matroska starts with its priming packet before zero, often without a duration:
    a whole render copies it too (without it the sound decodes 23 ms late), into MP4 as into
    WebM's Opus (where its loss moved the sound 40 ms)."""
    for suffix in (".mp4", ".webm"):
        p = CASES["10-bit-hevc yuv420p10le"].make(data, tmp_path)
        dst = p.dst.with_suffix(suffix)
        r = CliRunner().invoke(main, ["render", str(p.src), str(dst), "--style", str(tiny_model), "--overwrite"])
        assert r.exit_code == 0 and "A/V check: ok" in r.stderr, r.stderr
    assert first_audio_packet(p.src) < 0, "the input's sound starts with its priming, before zero"
    with av.open(str(p.src)) as c:
        copied_in = sum(1 for pk in c.demux(c.streams.audio[0]) if pk.size)
    with av.open(str(p.dst.with_suffix(".mp4"))) as c:
        copied_out = sum(1 for pk in c.demux(c.streams.audio[0]) if pk.size)
    assert copied_out == copied_in


@pytest.mark.parametrize("stopped, start", [(True, 0.0), (False, 0.0), (True, 1.0)])
def test_a_video_that_starts_between_keyframes_checks_ok_when_stopped(stopped: bool, start: float, data: Path,
                                                                      tmp_path: Path, tiny_model: Path):
    """A recording cut between two keyframes (a DVB or IPTV capture; every live stream joined):
    the decoder gives no frame for the packets before the first keyframe. A render stopped on
    the way (Ctrl-C, SIGTERM) failed its check, expecting those frames too (`10 video frames
    written, 15 expected`); it counts them as undecodable now, as a complete render did (a part
    from 1 s on, which they precede, expects none of them either way)."""
    whole = write_video(tmp_path / "whole.ts", clip_frames(data, 30), options={"g": "10"})
    payload = whole.read_bytes()
    cut = tmp_path / "cut.ts"
    cut.write_bytes(payload[len(payload) // 188 * 35 // 100 * 188:])
    with av.open(str(cut)) as c:
        first = next(p for p in c.demux(video=0) if p.size)
        assert not first.is_keyframe  # the premise: it starts between two keyframes
    stop = threading.Event()

    def on_frame(report: rtstyle.RenderReport) -> None:
        if stopped and report.frames_out == 5:
            stop.set()

    report = rtstyle.render(cut, tmp_path / "out.mp4", rtstyle.load_style(tiny_model, threads=2), stop=stop,
                            on_frame=on_frame, smooth="none", start=start)
    assert report.interrupted == stopped
    assert report.check.ok, report.check.summary()
    assert len(video_times(tmp_path / "out.mp4")) == (5 if stopped else report.frames_in) > 0
