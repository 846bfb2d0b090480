"""render's sound in each container: copied where the container's muxer takes the codec as it
is, encoded again where not, in a channel layout the encoder takes (rtstyle.carry).

Each input is written here by PyAV's encoders (a tone in chosen channels); each output's sound is
decoded again and compared with the input's: its length, which channel holds which tone, and for
a copy, every sample.
"""
from __future__ import annotations

import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import rtstyle
from conftest import DATA
from rtstyle import avcheck

SECONDS = 1.0


def tones(layout: str, rate: int, hz: dict[int, float]) -> np.ndarray:
    """SECONDS of sound in ``layout`` (channels x samples): channel i a sine at ``hz[i]``, the others silent."""
    t = np.arange(round(rate * SECONDS)) / rate
    samples = np.zeros((len(av.AudioLayout(layout).channels), t.size), np.float32)
    for channel, frequency in hz.items():
        samples[channel] = 0.3 * np.sin(2 * np.pi * frequency * t)
    return samples


def sound_clip(path: Path, codec: str, rate: int, layout: str, samples: np.ndarray, video_codec: str = "mpeg4",
               bit_rate: int | None = None) -> None:
    """A 10 fps clip of SECONDS, ``samples`` (channels x samples, floats) its sound in ``codec``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(video_codec, rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        sound = out.add_stream(codec, rate=rate, layout=layout)
        if bit_rate:
            sound.codec_context.bit_rate = bit_rate
        for i in range(round(10 * SECONDS)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 20 * i, np.uint8), format="rgb24")
            frame.pts = i
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        chunk = sound.codec_context.frame_size or 1024
        for start in range(0, samples.shape[1], chunk):
            interleaved = np.ascontiguousarray(samples[:, start:start + chunk].T).reshape(1, -1)  # PyAV: 8 planes fail
            frame = av.AudioFrame.from_ndarray(interleaved, format="flt", layout=layout)
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))


def decoded_sound(path: Path) -> tuple[np.ndarray, int, str]:
    """The first audio stream decoded: channels x samples (floats), its rate and layout."""
    to_float = av.AudioResampler(format="fltp")
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        frames = [f for decoded in c.decode(stream) for f in to_float.resample(decoded)] + to_float.resample(None)
        rate, layout = stream.codec_context.rate, stream.codec_context.layout.name
    return np.concatenate([f.to_ndarray() for f in frames], axis=1), rate, layout


def tone(channel: np.ndarray, rate: int) -> float:
    """The loudest frequency of a channel, Hz; 0 for a silent one."""
    if np.abs(channel).max() < 0.02:
        return 0.0
    return float(np.argmax(np.abs(np.fft.rfft(channel))) * rate / channel.size)


@pytest.mark.parametrize("codec, rate, layout, source, output, action", [
    # A muxer that refuses a codec players take elsewhere: the render failed (MOV: Opus and FLAC,
    # MP4's own; .m4v: MP3) or dropped the sound with a wrong hint (Matroska: A-law, a phone's AMR).
    ("flac", 44100, "stereo", "in.mkv", "out.mov", "transcoded flac -> aac"),
    ("libopus", 48000, "stereo", "in.mkv", "out.mov", "transcoded opus -> aac"),
    ("libmp3lame", 44100, "stereo", "in.mkv", "out.m4v", "transcoded mp3 -> aac"),
    ("pcm_alaw", 8000, "mono", "in.mov", "out.mkv", "transcoded pcm_alaw -> aac"),
    ("libopencore_amrnb", 8000, "mono", "in.3gp", "out.mkv", "transcoded amr_nb -> aac"),
    # A phone's 8 kHz AAC (128 ms a packet, the encoder's priming one of them) into WebM's Opus (20 ms).
    ("aac", 8000, "mono", "in.mp4", "out.webm", "transcoded aac -> opus"),
    # Where it takes them, as they are.
    ("flac", 44100, "stereo", "in.mkv", "out.mp4", "copied (flac)"),
    ("libopus", 48000, "stereo", "in.mkv", "out.webm", "copied (opus)"),
    # MP3 of MPEG-2's rates copied into AVI was timed by its bytes: 1 s played in 0.35 s.
    ("libmp3lame", 22050, "mono", "in.avi", "out.avi", "transcoded mp3 -> mp3"),
    ("libmp3lame", 44100, "mono", "in.avi", "out.avi", "copied (mp3)"),
])
def test_sound_is_copied_where_the_muxer_takes_it_else_encoded(codec: str, rate: int, layout: str, source: str,
                                                               output: str, action: str, tmp_path: Path, style):
    if codec in av.codecs_available:
        sound_clip(tmp_path / source, codec, rate, layout, tones(layout, rate, {0: 440.0}))
    else:  # PyAV 18.1.1's wheels have no AMR encoder: the same clip, written by PyAV 18.1.0
        shutil.copy(DATA / "amr_nb_tone.3gp", tmp_path / source)
    report = rtstyle.render(tmp_path / source, tmp_path / output, style, smooth="none")
    assert report.audio == action and report.check.ok, (report.audio, report.check.summary())
    got, got_rate, _ = decoded_sound(tmp_path / output)
    wanted, wanted_rate, _ = decoded_sound(tmp_path / source)
    assert abs(got.shape[1] / got_rate - wanted.shape[1] / wanted_rate) < 0.15  # AAC at 8 kHz: 128 ms a packet
    assert abs(tone(got[0], got_rate) - 440) < 5


@pytest.mark.parametrize("codec", ["pcm_s16le", "pcm_s24le", "pcm_alaw"])
def test_a_mov_keeps_pcm_as_recorded(codec: str, tmp_path: Path, style):
    """A camera's (or an editing program's) PCM in a .mov output, as editors take it: copied,
    every sample as the input's (it was encoded as AAC); MP4 has no PCM players take: AAC there."""
    rate = 8000 if codec == "pcm_alaw" else 48000
    layout = "stereo" if codec != "pcm_alaw" else "mono"
    sound_clip(tmp_path / "in.mov", codec, rate, layout, tones(layout, rate, {0: 440.0}))
    report = rtstyle.render(tmp_path / "in.mov", tmp_path / "out.mov", style, smooth="none")
    assert report.audio == f"copied ({codec})" and report.check.ok, (report.audio, report.check.summary())
    assert np.array_equal(decoded_sound(tmp_path / "out.mov")[0], decoded_sound(tmp_path / "in.mov")[0])
    report = rtstyle.render(tmp_path / "in.mov", tmp_path / "out.mp4", style, smooth="none")
    assert report.audio == f"transcoded {codec} -> aac" and report.check.ok


def test_a_films_surround_sound_goes_into_webm(tmp_path: Path, style):
    """AC-3 5.1 with side channels (a film's, a DVD's) into WebM: Opus takes 5.1 with back
    channels only, and the render failed before any frame (`Invalid argument`). Each channel's
    sound comes out where a player puts it: the centre's in the centre, the left side's at the
    back left, the bass in the LFE."""
    centre_bass_left_side = tones("5.1(side)", 48000, {2: 440.0, 3: 60.0, 4: 1000.0})
    sound_clip(tmp_path / "in.mkv", "ac3", 48000, "5.1(side)", centre_bass_left_side)
    report = rtstyle.render(tmp_path / "in.mkv", tmp_path / "out.webm", style, smooth="none")
    assert report.audio == "transcoded ac3 -> opus" and report.check.ok, (report.audio, report.check.summary())
    got, rate, layout = decoded_sound(tmp_path / "out.webm")
    assert layout == "5.1" and [c.name for c in av.AudioLayout(layout).channels] == ["FL", "FR", "FC", "LFE", "BL",
                                                                                       "BR"]
    assert [round(tone(channel, rate), -1) for channel in got] == [0, 0, 440, 60, 1000, 0]


def test_seven_one_sound_goes_into_avi_as_five_one(tmp_path: Path, style):
    """7.1 sound into AVI, which takes surround as AC-3, at most 5.1: mixed down to it (the
    encoder refused 7.1, and the render failed before any frame), the centre kept in the centre."""
    sound_clip(tmp_path / "in.mkv", "aac", 48000, "7.1", tones("7.1", 48000, {2: 440.0}))
    report = rtstyle.render(tmp_path / "in.mkv", tmp_path / "out.avi", style, smooth="none")
    assert report.audio == "transcoded aac -> ac3" and report.check.ok, (report.audio, report.check.summary())
    got, rate, layout = decoded_sound(tmp_path / "out.avi")
    assert len(got) == 6 and round(tone(got[2], rate), -1) == 440


def test_windows_media_sound_keeps_its_place_after_the_decoders_delay(tmp_path: Path, style):
    """A WMV's sound (WMA 2): its decoder gives nothing for the first two packets (92 ms), so a
    transcoded copy starts there, as players hear the input, and the A/V check failed every WMV
    (`starts at 0.068 s against the video, the input's at 0.000 s`). A click written 0.5 s after
    the first frame is heard 0.5 s after the output's first frame."""
    rate = 44100
    click = np.zeros((1, rate), np.float32)
    click[0, rate // 2:rate // 2 + rate // 100] = 0.8  # 10 ms
    sound_clip(tmp_path / "in.wmv", "wmav2", rate, "mono", click, video_codec="wmv2", bit_rate=128000)
    for suffix in (".mp4", ".mkv"):
        report = rtstyle.render(tmp_path / "in.wmv", tmp_path / f"out{suffix}", style, smooth="none")
        assert report.audio == "transcoded wmav2 -> aac" and report.check.ok, report.check.summary()
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            first_frame = min(float(p.pts * p.time_base) for p in c.demux(video=0) if p.size)
        with av.open(str(tmp_path / f"out{suffix}")) as c:
            decoded = list(c.decode(audio=0))
        start = float(decoded[0].pts * decoded[0].time_base)
        heard = np.concatenate([f.to_ndarray()[0] for f in decoded])  # AAC decodes to planar floats
        click = start + int(np.argmax(np.abs(heard) > 0.3)) / decoded[0].sample_rate
        assert abs(click - first_frame - 0.5) < 0.005, (click, first_frame)
    # The decoder's delay excuses a few packets, not a stream half a second late.
    with av.open(str(tmp_path / "out.mkv")) as c, av.open(str(tmp_path / "late.mkv"), "w") as late:
        copies = {s.index: late.add_stream_from_template(s) for s in c.streams}
        for packet in c.demux():
            if packet.size and packet.stream.type == "audio":
                shift = round(0.5 / packet.time_base)
                packet.pts, packet.dts = packet.pts + shift, packet.dts + shift
            if packet.size:
                packet.stream = copies[packet.stream.index]
                late.mux(packet)
    with av.open(str(tmp_path / "in.wmv")) as c:
        first_packet = next(float(p.pts * p.time_base) for p in c.demux(audio=0) if p.size)
    with av.open(str(tmp_path / "in.wmv")) as c:
        first_sound = next(float(f.pts * f.time_base) for f in c.decode(audio=0))
    assert first_sound - first_packet == pytest.approx(0.092, abs=0.002)  # two packets
    reference = avcheck.probe(tmp_path / "in.wmv")
    assert avcheck.verify(tmp_path / "out.mkv", reference, decoder_delays=[first_sound - first_packet]).ok
    check = avcheck.verify(tmp_path / "late.mkv", reference, decoder_delays=[0.5 + first_sound - first_packet])
    assert not check.ok and "starts at" in check.summary(), check.summary()
