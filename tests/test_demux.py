"""A URL input is read once (rtstyle.demux): its sound and subtitles are carried from the
source's own reading, not from a second connection that downloads the file again, starts a
live stream later than the picture, or is refused (a listening or UDP input)."""
from __future__ import annotations

import re
import threading
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from click.testing import CliRunner

import rtstyle
from rtstyle.carry import StreamCarrier
from rtstyle.cli import main
from rtstyle.demux import SharedDemux
from rtstyle.sources import PacedSource, VideoFileSource
from test_avcheck import FileServer
from test_stream import free_port


def audio_packets(path: Path) -> list[tuple[int | None, bytes]]:
    """The first audio stream's packets with data: their times and bytes."""
    with av.open(str(path)) as c:
        return [(p.pts, bytes(p)) for p in c.demux(c.streams.audio[0]) if p.size]


def test_a_network_input_is_requested_once_and_its_sound_carried_as_it_is(data: Path, tmp_path: Path,
                                                                          tiny_model: Path):
    """Three requests before (a probe, the source, the sound's own reader): a file downloaded twice."""
    server = FileServer((data / "walk_pcm.mkv").read_bytes())  # 20 frames, PCM audio
    try:
        report = rtstyle.render(server.url, tmp_path / "out.mkv", rtstyle.load_style(tiny_model, threads=2),
                                stream_timeout=5, smooth="none")
    finally:
        server.close()
    assert server.requests == 1
    assert report.frames_out == 20 and report.audio == "copied (pcm_s16le)" and report.check.ok, report.check.summary()
    assert [b for _, b in audio_packets(tmp_path / "out.mkv")] == [b for _, b in audio_packets(data / "walk_pcm.mkv")]


def send_mpegts(url: str, frames: int, stop: threading.Event) -> None:
    """Connect to ``url`` once it listens, and send ``frames`` frames at 10 fps (a bar moving
    across) with a 440 Hz tone under them, in MPEG-TS, as a camera or OBS would."""
    while not stop.is_set():
        out = av.open(url, "w", format="mpegts")
        video = out.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        audio = out.add_stream("aac", rate=48000, layout="mono")
        try:
            out.start_encoding()
            break
        except OSError:  # not listening yet
            out.close()
            time.sleep(0.05)
    else:
        return
    sample = 0
    for i in range(frames):
        picture = np.zeros((120, 160, 3), np.uint8)
        picture[:, i * 5:] = 200
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        frame.pts, frame.time_base = i, Fraction(1, 10)
        out.mux(video.encode(frame))
        while sample < (i + 1) * 4800:
            tone = 0.3 * np.sin(2 * np.pi * 440 * (sample + np.arange(1024)) / 48000)
            sound = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp", layout="mono")
            sound.sample_rate, sound.pts, sound.time_base = 48000, sample, Fraction(1, 48000)
            sample += 1024
            out.mux(audio.encode(sound))
    out.mux(video.encode(None))
    out.mux(audio.encode(None))
    out.close()


def test_a_listening_input_is_rendered_with_its_sound(tmp_path: Path, tiny_model: Path):
    """`render tcp://HOST:PORT?listen=1`: the sender connects once; a second listener for the
    sound waited for a connection that never came, and the render failed."""
    port, stop = free_port(), threading.Event()
    sender = threading.Thread(target=send_mpegts, args=(f"tcp://127.0.0.1:{port}", 30, stop), daemon=True)
    sender.start()
    try:
        report = rtstyle.render(f"tcp://127.0.0.1:{port}?listen=1", tmp_path / "out.mp4",
                                rtstyle.load_style(tiny_model, threads=2), stream_timeout=20, smooth="none")
    finally:
        stop.set()
        sender.join(30)
    assert report.frames_out == 30 and report.audio == "copied (aac)" and report.check.ok, report.check.summary()
    with av.open(str(tmp_path / "out.mp4")) as c:
        samples = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.fft.rfftfreq(len(samples), 1 / 48000)[spectrum.argmax()] - 440) < 2  # the tone sent


@pytest.mark.parametrize("muxers", [("webm", "webm"), ("matroska", "mpegts")])
def test_two_readers_of_one_stream_carry_the_same_sound(muxers: tuple[str, str], data: Path, tmp_path: Path):
    """Two outputs of one URL (a file and --stream) each carry its sound from the one reading:
    each gets every packet of its own (a copied packet's times are moved to the part's zero and
    the output's time base as it is written), and the second decodes them with its own decoder
    (fed each packet twice, a shared one garbled both). Checked against a reader of the file
    itself, for a part from 0.5 s: AAC to Opus (WebM), or copied (Matroska, MPEG-TS), what each
    writes is byte for byte and tick for tick what that one writes into its container."""
    clip = data / "walk_tone.mp4"
    with av.open(str(clip)) as probe:
        index = probe.streams.audio[0].index
    alone = []
    for n, muxer in enumerate(muxers):
        with av.open(str(tmp_path / f"alone{n}"), "w", format=muxer) as output:
            carrier = StreamCarrier(str(clip), index, output, 0.5, part=True)
            carrier.finish(None)
            carrier.close()
        alone.append(audio_packets(tmp_path / f"alone{n}"))
    with av.open(str(clip)) as container, av.open(str(tmp_path / "out0"), "w", format=muxers[0]) as one, \
            av.open(str(tmp_path / "out1"), "w", format=muxers[1]) as two:
        shared = SharedDemux(container, container.streams.video[0])
        carriers = [StreamCarrier(shared, index, output, 0.5, part=True) for output in (one, two)]
        shared.seal()
        assert sum(1 for _ in shared.video_packets()) == 30 + 1  # the video's, and the decoder's flush
        for carrier in carriers:
            carrier.finish(None)
            carrier.close()
    assert len(alone[0]) > 50
    assert [audio_packets(tmp_path / f"out{n}") for n in range(2)] == alone


def test_the_sound_is_kept_for_outputs_until_the_first_frame_is_read(data: Path):
    """What is read before the render's first frame (the source opening, a part's start) waits
    for the outputs opened meanwhile; after it nothing is kept for outputs still to come (a live
    run's stream, whose sound nobody carries, would pile up in memory)."""
    server = FileServer((data / "walk_pcm.mkv").read_bytes())
    try:
        with VideoFileSource(server.url, timeout=5) as source:
            index = source.container.streams.audio[0].index
            early = source.shared.subscribe(index)  # an output opened with the source
            frames = source.frames()
            next(frames)
            late = source.shared.subscribe(index)  # too late
            assert sum(1 for _ in frames) == 19
            early_packets, late_packets = [bytes(p) for p in early], [bytes(p) for p in late]
    finally:
        server.close()
    everything = [b for _, b in audio_packets(data / "walk_pcm.mkv")]
    assert [b for b in early_packets if b] == everything
    assert 0 < len([b for b in late_packets if b]) < len(everything)


def test_a_listening_input_is_played_live_from_its_one_connection(tmp_path: Path, tiny_model: Path):
    """`live --source tcp://HOST:PORT?listen=1 --record`: the source was opened to learn its size,
    closed, and opened again for the frames, which waited for a second sender and failed."""
    port, stop = free_port(), threading.Event()
    sender = threading.Thread(target=send_mpegts, args=(f"tcp://127.0.0.1:{port}", 30, stop), daemon=True)
    sender.start()
    try:
        r = CliRunner().invoke(main, ["live", "--source", f"tcp://127.0.0.1:{port}?listen=1", "--no-window",
                                      "--record", str(tmp_path / "rec.mp4"), "-s", str(tiny_model),
                                      "--stream-timeout", "20"])
    finally:
        stop.set()
        sender.join(30)
    assert r.exit_code == 0, r.stderr
    assert "note: the recording has no sound (a live run drops frames" in r.stderr  # the sender's tone
    assert re.search(r"dropped \d+ of 30 ", r.stderr), r.stderr  # every frame sent arrived
    with av.open(str(tmp_path / "rec.mp4")) as c:
        assert c.streams.video[0].frames > 0 and not c.streams.audio


def test_a_live_stream_is_played_as_it_arrives(data: Path):
    """A live stream (no duration) comes at its sender's pace: what arrived while the run started
    (the styles loading) is released at once, not played at the stream's rate for ever after,
    which kept the whole run that far behind. A URL with a duration is a file: played at its pace."""
    port, stop = free_port(), threading.Event()
    sender = threading.Thread(target=send_mpegts, args=(f"tcp://127.0.0.1:{port}", 30, stop), daemon=True)
    sender.start()
    try:
        with PacedSource(f"tcp://127.0.0.1:{port}?listen=1", timeout=20) as source:
            sender.join(30)  # all 30 frames (3 s of them) sent and waiting
            assert source.live and source.describe().endswith("@ 10 fps, live")
            frames = list(source.frames())
    finally:
        stop.set()
    assert len(frames) == 30
    shown, timed = frames[-1].captured_at - frames[0].captured_at, frames[-1].time - frames[0].time
    assert timed > 2.8 and shown < timed - 1.0  # released ahead of the stream's own times
    server = FileServer((data / "walk_pcm.mkv").read_bytes())
    try:
        with PacedSource(server.url, timeout=5) as played:
            assert not played.live
    finally:
        server.close()


def test_a_part_keeps_only_the_sound_near_its_start(data: Path, tmp_path: Path, tiny_model: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    """A URL's part is read from the URL's start (it cannot be sought): the sound before it is
    read and dropped, not kept for the outputs (an hour into a film, an hour of sound), all but
    KEPT_BEFORE_PART seconds of it (here 0.5), which still hold the packet that spans the start."""
    monkeypatch.setattr(rtstyle.sources, "KEPT_BEFORE_PART", 0.5)
    server = FileServer((data / "walk_pcm.mkv").read_bytes())  # 20 frames, PCM audio
    try:
        with VideoFileSource(server.url, timeout=5, start=1.5) as source:
            audio = source.container.streams.audio[0]
            kept = [float(p.pts * p.time_base) - source.start_time for p in source.shared.subscribe(audio.index)
                    if p.size]
        report = rtstyle.render(server.url, tmp_path / "out.mkv", rtstyle.load_style(tiny_model, threads=2),
                                stream_timeout=5, smooth="none", start=1.5)
    finally:
        server.close()
    assert 1.0 - 1e-6 <= kept[0] < 1.5  # from 0.5 s before the start: the packet that spans it too
    assert report.frames_out == 5 and report.check.ok, report.check.summary()
    assert abs(audio_packets(tmp_path / "out.mkv")[0][0]) <= 50  # the output's sound starts with its picture (ms)


def test_the_sink_writes_what_has_come_while_a_live_stream_pauses(tmp_path: Path, tiny_model: Path):
    """While the decoder waits for a live stream's next packet (here the sender pauses), the sink
    takes the sound it already has and writes the frames that came: the reader held the lock
    through its wait, and the sink waited with it (a udp:// render fell seconds behind)."""
    port, go_on, stop = free_port(), threading.Event(), threading.Event()

    def send() -> None:
        while not stop.is_set():
            # Each packet sent as it is muxed, each AAC frame in its own PES: nothing waits in the sender.
            out = av.open(f"tcp://127.0.0.1:{port}", "w", format="mpegts",
                          options={"flush_packets": "1", "pes_payload_size": "0"})
            video = out.add_stream("libx264", rate=10, options={"tune": "zerolatency"})
            video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
            audio = out.add_stream("aac", rate=48000, layout="mono")
            try:
                out.start_encoding()
                break
            except OSError:
                out.close()
                time.sleep(0.05)
        else:
            return
        sample = 0
        for i in range(50):
            if i == 40:
                go_on.wait(60)  # the pause: 40 frames and their sound sent (FFmpeg probes a stream with 20)
            while sample < (i + 2) * 4800:  # the sound a frame ahead of the picture
                tone = 0.3 * np.sin(2 * np.pi * 440 * (sample + np.arange(1024)) / 48000)
                sound = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], format="fltp", layout="mono")
                sound.sample_rate, sound.pts, sound.time_base = 48000, sample, Fraction(1, 48000)
                sample += 1024
                out.mux(audio.encode(sound))
            frame = av.VideoFrame.from_ndarray(np.full((120, 160, 3), i * 5, np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        out.mux(audio.encode(None))
        out.close()

    written: list[int] = []
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    result: list = []
    render = threading.Thread(target=lambda: result.append(rtstyle.render(
        f"tcp://127.0.0.1:{port}?listen=1", tmp_path / "out.mp4", rtstyle.load_style(tiny_model, threads=2),
        stream_timeout=60, smooth="none", on_frame=lambda r: written.append(r.frames_out))), daemon=True)
    render.start()
    try:
        for _ in range(200):  # until nothing more is written for a second
            seen = len(written)
            time.sleep(1.0)
            if seen and len(written) == seen:
                break
        during_pause = written[-1] if written else 0
    finally:
        go_on.set()
        render.join(60)
        stop.set()
    # Of the 40 sent, all but those the decoder holds back (36 here; 30-31 when the sink waited with the
    # reader, the frames queued between them unwritten).
    assert during_pause >= 34, during_pause
    assert result and result[0].frames_out == 50 and result[0].check.ok, result and result[0].check.summary()
