"""render --codec: HEVC, ProRes and VP9 beside the default H.264 (rtstyle.encoders).

Each output is read back by OpenCV's VideoCapture (a decoder apart from the PyAV path that
wrote it) and compared with the network's own painting of each input frame; the stream says
what it is in the way players and editing programs look for it.
"""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import rtstyle
from conftest import decode_video, transparent_shot, vp9_alphas
from rtstyle.cli import main
from rtstyle.sources import VideoFileSource

CLIP = "walk_tone.mp4"  # 30 frames 320x240 at 10 fps, AAC


def read_back(path: Path) -> list[np.ndarray]:
    """Every frame of a video as RGB, decoded by OpenCV."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _alphas(path: Path) -> list[np.ndarray]:
    """Each frame's alpha, decoded by FFmpeg's own decoder."""
    with av.open(str(path)) as c:
        return [frame.to_ndarray(format="rgba")[..., 3] for frame in c.decode(video=0)]


@pytest.fixture(scope="module")
def painted(data: Path, style) -> list[np.ndarray]:
    with VideoFileSource(data / CLIP) as source:
        return [style(frame.image) for frame in source.frames()]


@pytest.mark.parametrize("codec, name, tag, pix_fmt, profile", [
    ("h264", "out.mp4", "avc1", "yuv420p", "High"),
    ("hevc", "out.mp4", "hvc1", "yuv420p", "Main"),  # hvc1, not hev1: QuickTime and iPhones play only that
    ("hevc", "out.mkv", None, "yuv420p", "Main"),
    ("vp9", "out.mkv", None, "yuv420p", "Profile 0"),
    ("prores", "out.mov", "apch", "yuv422p10le", "HQ"),
    ("prores", "out.mkv", "apch", "yuv422p10le", "HQ"),
])
def test_each_codec_holds_the_networks_frames(codec: str, name: str, tag: str | None, pix_fmt: str, profile: str,
                                              data: Path, tmp_path: Path, style, painted: list[np.ndarray]):
    report = rtstyle.render(data / CLIP, tmp_path / name, style, smooth="none", codec=codec)
    assert report.check.ok and report.audio == "copied (aac)", report.check.summary()
    with av.open(str(tmp_path / name)) as c:
        video = c.streams.video[0]
        said = video.codec_context
        assert (said.name, said.pix_fmt, said.profile) == (codec, pix_fmt, profile)
        if tag:
            assert video.codec_tag == tag
        packets = [(bytes(p), p.is_keyframe) for p in c.demux(video) if p.size]
    keyframes = sum(key for _, key in packets)
    assert keyframes == (30 if codec == "prores" else 1), "ProRes: every picture on its own"
    if codec == "prores":  # each frame names its encoder (size, "icpf", header size, version, vendor): Apple's
        assert all(p[4:8] == b"icpf" and p[12:16] == b"apl0" for p, _ in packets)
    got = read_back(tmp_path / name)
    assert len(got) == len(painted) == 30
    assert min(cv2.PSNR(a, b) for a, b in zip(got, painted)) > 33


def test_a_transparent_input_becomes_prores_4444_with_its_alpha(data: Path, tmp_path: Path, style):
    """--codec prores of an input with transparency: ProRes 4444 with the alpha (each frame's, read
    back by PyAV, within a level of the input's), the colours the network's (read back by
    OpenCV), a note saying so; into H.264 the alpha is dropped, and the note says where it is kept."""
    alpha = transparent_shot(decode_video(data / CLIP)[:6], tmp_path / "rgba")
    report = rtstyle.render(tmp_path / "rgba", tmp_path / "out.mov", style, smooth="none", codec="prores")
    assert report.check.ok and "its transparency kept: ProRes 4444 with alpha" in report.notes, report.notes
    with av.open(str(tmp_path / "out.mov")) as c:
        said = c.streams.video[0].codec_context
        assert (said.profile, said.pix_fmt.startswith("yuva444p")) == ("4444", True)
    alphas = _alphas(tmp_path / "out.mov")
    assert len(alphas) == 6 and max(np.abs(a.astype(int) - alpha).max() for a in alphas) <= 1
    with VideoFileSource(data / CLIP) as source:
        expected = [style(frame.image) for _, frame in zip(range(6), source.frames())]
    assert min(cv2.PSNR(a, b) for a, b in zip(read_back(tmp_path / "out.mov"), expected)) > 33
    report = rtstyle.render(tmp_path / "rgba", tmp_path / "out.mp4", style, smooth="none")
    assert any(n.startswith("alpha channel dropped") and "--codec prores (ProRes 4444)" in n for n in report.notes)


def test_a_sequence_whose_first_picture_is_opaque_keeps_its_later_alpha(data: Path, tmp_path: Path, style):
    """A render whose first frame an object covers wholly (its first picture opaque, the others
    with a transparent background): ProRes 4444 still, each frame's alpha the picture's own (the
    first frame alone decided: ProRes 422 HQ, the alpha dropped without a note)."""
    alpha = transparent_shot(decode_video(data / CLIP)[:6], tmp_path / "rgba")
    first = cv2.imread(str(tmp_path / "rgba" / "c_0001.png"), cv2.IMREAD_UNCHANGED)
    first[..., 3] = 255
    cv2.imwrite(str(tmp_path / "rgba" / "c_0001.png"), first)
    report = rtstyle.render(tmp_path / "rgba", tmp_path / "out.mov", style, smooth="none", codec="prores")
    assert report.check.ok and "its transparency kept: ProRes 4444 with alpha" in report.notes, report.notes
    alphas = _alphas(tmp_path / "out.mov")
    wanted = [np.full_like(alpha, 255)] + [alpha] * 5
    assert len(alphas) == 6 and max(np.abs(a.astype(int) - w).max() for a, w in zip(alphas, wanted)) <= 1


def test_a_transparent_input_into_webm_keeps_its_alpha_in_vp9(data: Path, tmp_path: Path, style):
    """A .webm of an input with transparency (no --codec: WebM's own VP9) keeps the alpha, as
    browsers and OBS play an overlay: the stream says so (``alpha_mode``, which players look
    for), libvpx's decoder reads each frame's alpha within 3 levels of the input's (VP9 is
    lossy), the colours are the network's (read back by OpenCV), and a note says it; VP9 in MP4
    (which drops VP9's alpha) keeps none, and the note says where it is kept."""
    alpha = transparent_shot(decode_video(data / CLIP)[:6], tmp_path / "rgba")
    report = rtstyle.render(tmp_path / "rgba", tmp_path / "out.webm", style, smooth="none")
    assert report.check.ok and "its transparency kept: VP9 with alpha" in report.notes, report.notes
    with av.open(str(tmp_path / "out.webm")) as c:
        assert c.streams.video[0].metadata.get("alpha_mode") == "1"
    alphas = vp9_alphas(tmp_path / "out.webm")
    assert len(alphas) == 6 and max(np.abs(a.astype(int) - alpha).max() for a in alphas) <= 3
    with VideoFileSource(data / CLIP) as source:
        expected = [style(frame.image) for _, frame in zip(range(6), source.frames())]
    assert min(cv2.PSNR(a, b) for a, b in zip(read_back(tmp_path / "out.webm"), expected)) > 33
    report = rtstyle.render(tmp_path / "rgba", tmp_path / "vp9.mp4", style, smooth="none", codec="vp9")
    assert any(n.startswith("alpha channel dropped") and "a .webm (VP9)" in n for n in report.notes), report.notes
    assert set(vp9_alphas(tmp_path / "vp9.mp4")[0].ravel()) == {255}


def test_a_transparent_webm_is_read_with_its_alpha(data: Path, tmp_path: Path, style):
    """A WebM with transparency (encoded here by PyAV's libvpx, as OBS and browsers' overlays
    are): FFmpeg's own VP9 decoder reads no alpha, so it was painted as opaque and nothing said
    so. Into numbered PNGs, each keeps the alpha libvpx decodes from the input, level for level."""
    alpha = transparent_shot(decode_video(data / CLIP)[:6], tmp_path / "rgba")
    _transparent_video(tmp_path / "in.webm", _shot_pictures(tmp_path / "rgba"), "libvpx-vp9", "yuva420p")
    wanted = vp9_alphas(tmp_path / "in.webm")
    assert max(np.abs(a.astype(int) - alpha).max() for a in wanted) <= 3  # the input holds the shot's alpha
    report = rtstyle.render(tmp_path / "in.webm", tmp_path / "p_%04d.png", style, smooth="none")
    assert report.check.ok and not any("alpha" in n for n in report.notes), report.notes
    got = [cv2.imread(str(tmp_path / f"p_{n:04d}.png"), cv2.IMREAD_UNCHANGED) for n in range(1, 7)]
    assert all(g.shape == (240, 320, 4) and np.array_equal(g[..., 3], w) for g, w in zip(got, wanted))


def _shot_pictures(folder: Path) -> list[np.ndarray]:
    """The six RGBA pictures :func:`transparent_shot` wrote, as arrays."""
    return [cv2.cvtColor(cv2.imread(str(folder / f"c_{n:04d}.png"), cv2.IMREAD_UNCHANGED), cv2.COLOR_BGRA2RGBA)
            for n in range(1, 7)]


def _transparent_video(path: Path, pictures: list[np.ndarray], codec: str, pix_fmt: str) -> None:
    """RGBA pictures as a video at 10 fps (OBS's and editing programs' overlays); VP9 at CRF 10
    (PyAV 18.1.1's libvpx at CRF 20 put a transparent edge 26 levels off)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=10, options={"crf": "10", "b": "0", "deadline": "realtime"}
                                if codec == "libvpx-vp9" else {"profile": "4"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, pix_fmt
        for n, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgba")
            frame.pts = n
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.parametrize("name, codec, pix_fmt", [("in.webm", "libvpx-vp9", "yuva420p"),
                                                  ("in.mov", "prores_ks", "yuva444p10le")])
def test_a_video_whose_first_frame_is_opaque_keeps_its_later_alpha(name: str, codec: str, pix_fmt: str, data: Path,
                                                                   tmp_path: Path, style):
    """A transparent video (VP9 in WebM, one keyframe; ProRes 4444, all keyframes) whose first
    frame is wholly opaque, the others with a transparent background (an overlay that wipes in):
    with --codec prores each frame keeps the alpha decoded from the input, within a level (the
    first frame alone decided: ProRes 422 HQ, the alpha dropped without a note). A part is looked
    at itself: one whose second frame alone is transparent, in a video opaque after it."""
    alpha = transparent_shot(decode_video(data / CLIP)[:6], tmp_path / "rgba")
    pictures = _shot_pictures(tmp_path / "rgba")
    pictures[0][..., 3] = 255
    _transparent_video(tmp_path / name, pictures, codec, pix_fmt)
    wanted = vp9_alphas(tmp_path / name) if codec == "libvpx-vp9" else _alphas(tmp_path / name)
    assert set(wanted[0].ravel()) == {255} and max(np.abs(w.astype(int) - alpha).max() for w in wanted[1:]) <= 16
    report = rtstyle.render(tmp_path / name, tmp_path / "out.mov", style, smooth="none", codec="prores")
    assert report.check.ok and "its transparency kept: ProRes 4444 with alpha" in report.notes, report.notes
    got = _alphas(tmp_path / "out.mov")
    assert len(got) == 6 and max(np.abs(g.astype(int) - w).max() for g, w in zip(got, wanted)) <= 1
    for picture in pictures[2:]:
        picture[..., 3] = 255
    _transparent_video(tmp_path / f"part_{name}", pictures, codec, pix_fmt)
    report = rtstyle.render(tmp_path / f"part_{name}", tmp_path / "part.mov", style, smooth="none", codec="prores",
                            duration=0.15)
    assert "its transparency kept: ProRes 4444 with alpha" in report.notes, report.notes
    got = _alphas(tmp_path / "part.mov")
    assert len(got) == 2 and set(got[0].ravel()) == {255} and np.abs(got[1].astype(int) - alpha).max() <= 16


@pytest.mark.parametrize("codec, name, message", [
    ("prores", "out.mp4", "out.mp4: MP4 (MPEG-4 Part 14) does not hold ProRes video: give a file ending in .mov or .mkv"),
    ("hevc", "out.webm", "out.webm: WebM does not hold HEVC video: give a file ending in .mp4, .mov, .mkv or .ts"),
    ("vp9", "out.avi", "out.avi: AVI (Audio Video Interleaved) does not hold VP9 video: give a file ending in .webm, "
                       ".mkv or .mp4"),
    ("hevc", "out.gif", "out.gif: --codec is for a video file (a GIF and numbered pictures have their own)"),
    ("prores", "out_%04d.png", "out_%04d.png: --codec is for a video file (a GIF and numbered pictures have their "
                               "own)"),
])
def test_a_codec_the_output_cannot_hold_is_one_line_before_any_work(codec: str, name: str, message: str, data: Path,
                                                                     tmp_path: Path, tiny_model: Path):
    r = CliRunner().invoke(main, ["render", str(data / CLIP), str(tmp_path / name), "--style", str(tiny_model),
                                  "--codec", codec])
    assert r.exit_code == 1 and r.stderr.splitlines() == [f"error: {message}"], r.stderr
    assert not list(tmp_path.iterdir())


def test_hevc_of_frames_smaller_than_its_smallest_is_one_line(data: Path, tmp_path: Path, style):
    """x265 takes no frame side under 16 pixels: said before any frame, no file left."""
    from tools.bad_inputs import clip_frames, write_video

    src = write_video(tmp_path / "tiny.mp4", clip_frames(data, 3, (12, 8)))
    with pytest.raises(rtstyle.SinkError, match=r"HEVC takes frames of at least 16x16 pixels, these are 12x8"):
        rtstyle.render(src, tmp_path / "out.mp4", style, codec="hevc")
    assert not (tmp_path / "out.mp4").exists()


def test_a_codec_for_a_stream_only_is_refused(data: Path, tiny_model: Path):
    """--codec with --stream and no file: the stream goes in H.264 whatever is asked, so it is said, not ignored."""
    r = CliRunner().invoke(main, ["render", str(data / CLIP), "--stream", "udp://127.0.0.1:9", "--style",
                                  str(tiny_model), "--codec", "hevc"])
    assert r.exit_code == 2 and "--codec is for DST, a video file: a stream is sent in H.264" in r.stderr, r.stderr
    with pytest.raises(rtstyle.SinkError, match="a codec is for a video file"):
        rtstyle.render(data / CLIP, None, tiny_model, outputs={"stream": "udp://127.0.0.1:9"}, codec="hevc")


def test_a_live_recording_in_prores(data: Path, tmp_path: Path, tiny_model: Path):
    """`live --record session.mov --codec prores`: a painted webcam session kept for an editing
    program; a container that does not hold the codec is one line before the camera opens."""
    rec = tmp_path / "session.mov"
    r = CliRunner().invoke(main, ["live", "--source", str(data / CLIP), "-s", str(tiny_model), "--no-window",
                                  "--duration", "1", "--record", str(rec), "--codec", "prores", "--threads", "2"])
    assert r.exit_code == 0, r.output
    with av.open(str(rec)) as c:
        said = c.streams.video[0].codec_context
        assert (said.name, said.pix_fmt, said.profile) == ("prores", "yuv422p10le", "HQ")
    assert len(read_back(rec)) >= 5
    wrong = CliRunner().invoke(main, ["live", "--camera", "/dev/video-none", "-s", str(tiny_model), "--no-window",
                                      "--record", str(tmp_path / "session.mp4"), "--codec", "prores"])
    assert wrong.exit_code == 1 and wrong.stderr.splitlines() == [
        "error: session.mp4: MP4 (MPEG-4 Part 14) does not hold ProRes video: give a file ending in .mov or .mkv"]
