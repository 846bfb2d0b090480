"""Fast RGB <-> yuv420p conversion: same colours as PyAV's own (swscale) conversion."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import numpy as np
import pytest

from rtstyle import yuv
from rtstyle.sources import VideoFileSource


def first_frame(path: Path) -> av.VideoFrame:
    with av.open(str(path)) as c:
        return next(c.decode(video=0))


def mean_abs(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_decoded_frames_match_swscale(data: Path):
    frame = first_frame(data / "walk_tone.mp4")
    assert frame.format.name == "yuv420p"
    rgb = yuv.to_rgb(frame)
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert mean_abs(rgb, frame.to_ndarray(format="rgb24")) < 1.5


def test_bt709_frames_keep_their_matrix(data: Path):
    frame = first_frame(data / "walk_tone.mp4")
    frame.colorspace = 1  # BT.709
    assert colour_error(yuv.to_rgb(frame), bt601_rgb(frame, BT709)) < 0.3
    assert colour_error(yuv.to_rgb(frame), bt601_rgb(frame, BT601)) > 1.0


def test_full_range_frames_keep_their_blacks_and_whites():
    """A yuv420p frame flagged full range (0-255 luma: VP9 and AV1 from phones and screen
    recorders) is a grey ramp equal to its luma; read as limited range, its shadows and
    highlights were clipped and its mid-greys lifted (128 read as 130)."""
    frame = av.VideoFrame(256, 16, "yuv420p")
    luma = np.tile(np.arange(256, dtype=np.uint8), (16, 1))
    for plane, values in zip(frame.planes, (luma, np.full((8, 128), 128, np.uint8), np.full((8, 128), 128, np.uint8))):
        plane.update(np.ascontiguousarray(values))
    frame.color_range, frame.colorspace = yuv.FULL_RANGE, 5
    assert np.abs(yuv.to_rgb(frame)[0].astype(int) - luma[0, :, None]).max() <= 1


def test_encoder_frames_round_trip(data: Path):
    rgb = first_frame(data / "walk_tone.mp4").to_ndarray(format="rgb24")
    frame = yuv.from_rgb(rgb)
    assert frame.format.name == "yuv420p" and (frame.width, frame.height) == (320, 240)
    assert mean_abs(frame.to_ndarray(format="rgb24"), rgb) < 1.5
    odd = yuv.from_rgb(np.ascontiguousarray(rgb[:239, :319]))  # yuv420p needs even sides: left to swscale
    assert odd.format.name == "rgb24" and (odd.width, odd.height) == (319, 239)


# Luma weights (Kr, Kb) of the two matrices, ITU-R BT.601 and BT.709.
BT601, BT709 = (0.299, 0.114), (0.2126, 0.0722)


def bt601_rgb(frame: av.VideoFrame, weights: tuple[float, float] = BT601) -> np.ndarray:
    """A decoded yuv420p (or ProRes's yuv422p10le) frame -> RGB float by the limited-range
    formula in numpy (BT.601 unless ``weights`` say otherwise): a decoder independent of OpenCV
    (rtstyle's path) and of swscale (whose unscaled path rounds about one level low on its own)."""
    h, w = frame.height, frame.width
    if frame.format.name == "yuv422p10le":  # chroma half as wide, full height; 10 bits: four steps a level
        y, u, v = (np.frombuffer(bytes(p), np.uint16).reshape(p.height, p.line_size // 2)[:, :p.width] / 4
                   for p in frame.planes)
        u, v = (np.repeat(c, 2, 1) for c in (u, v))
    else:
        i420 = frame.to_ndarray().astype(np.float64)
        y = i420[:h]
        u, v = (np.repeat(np.repeat(c.reshape(h // 2, w // 2), 2, 0), 2, 1)
                for c in (i420[h:h + h // 4], i420[h + h // 4:]))
    y = (y - 16) * 255 / 219
    u, v = (u - 128) * 255 / 224, (v - 128) * 255 / 224
    kr, kb = weights
    r, b = y + 2 * (1 - kr) * v, y + 2 * (1 - kb) * u
    rgb = np.dstack([r, (y - kr * r - kb * b) / (1 - kr - kb), b])
    return np.clip(rgb, 0, 255)


def player_rgb(frame: av.VideoFrame) -> np.ndarray:
    """What a player shows: the matrix the stream is tagged with, else mpv's (and VLC's)
    guess, BT.709 for video 1280 wide or more or taller than 576."""
    assert frame.color_range in (0, 1), "limited range"
    if frame.colorspace in (5, 6):
        return bt601_rgb(frame, BT601)
    if frame.colorspace == 1 or (frame.colorspace == 2 and (frame.width >= 1280 or frame.height > 576)):
        return bt601_rgb(frame, BT709)
    return bt601_rgb(frame, BT601)


def encoded_and_decoded(rgb: np.ndarray, path: Path) -> np.ndarray:
    """``rgb`` through the render's own sink (H.264, crf 18), read back independently."""
    from fractions import Fraction

    from rtstyle.sinks import VideoFileSink

    sink = VideoFileSink(path, rgb.shape[1], rgb.shape[0], Fraction(1, 10), Fraction(10))
    sink.write(rgb, 0)
    sink.close()
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
    assert frame.format.name == "yuv420p"
    return bt601_rgb(frame)


STYLES = [c.name for c in __import__("rtstyle").list_models() if c.role == "style"]


@pytest.mark.parametrize("style", STYLES)
def test_stylized_frames_keep_their_colours_when_encoded(style: str, data: Path, tmp_path: Path):
    """Issue 16: the fast nets' 2-pixel pattern (pixel shuffle) must not alias into a colour
    cast when chroma is subsampled: every shipped style, mean shift <= 1 level per channel."""
    import rtstyle

    painted = rtstyle.load_style(style, threads=2)(first_frame(data / "walk_tone.mp4").to_ndarray(format="rgb24"))
    shift = encoded_and_decoded(painted, tmp_path / "out.mp4").mean((0, 1)) - painted.mean((0, 1))
    assert np.all(np.abs(shift) <= 1.0), f"{style}: mean shift R, G, B {np.round(shift, 2)}"


@pytest.mark.parametrize("height, width", [(2, 2), (6, 10), (182, 318), (240, 320)])
def test_encoder_chroma_is_each_blocks_mean(height: int, width: int):
    """U and V of every 2x2 block from its mean colour (BT.601 limited range), whatever the
    size: the planes need not fill whole rows of the frame's width (heights not a multiple of 4)."""
    rgb = np.random.default_rng(height).integers(0, 256, (height, width, 3), np.uint8)
    mean = rgb.reshape(height // 2, 2, width // 2, 2, 3).astype(float).mean((1, 3))
    u = 128 + mean @ np.array([-37.797, -74.203, 112.0]) / 255
    v = 128 + mean @ np.array([112.0, -93.786, -18.214]) / 255
    flat = yuv.from_rgb(rgb).to_ndarray().reshape(-1)
    n = (height // 2) * (width // 2)
    for got, want in [(flat[height * width:height * width + n], u), (flat[height * width + n:], v)]:
        diff = got.reshape(want.shape) - want
        assert np.abs(diff).max() <= 1.5 and abs(diff.mean()) < 0.8, (np.abs(diff).max(), diff.mean())


def colour_error(a: np.ndarray, b: np.ndarray) -> float:
    """Mean difference in grey levels of the two pictures at 1/16 size: a colour bias (a wrong
    matrix), not the encoder's noise in the texture, which averages out."""
    import cv2

    size = (a.shape[1] // 16, a.shape[0] // 16)
    small = [cv2.resize(x.astype(np.float32), size, interpolation=cv2.INTER_AREA) for x in (a, b)]
    return float(np.abs(small[0] - small[1]).mean())


def hd_clip(data: Path, path: Path, matrix: str, size: tuple[int, int] = (1280, 720)) -> np.ndarray:
    """Two frames of a colourful photo encoded with ``matrix`` and no colour tags (as many
    encoders leave them); returns the photo."""
    import cv2

    photo = cv2.cvtColor(cv2.resize(cv2.imread(str(data / "starry_night_256.jpg")), size, interpolation=cv2.INTER_AREA),
                         cv2.COLOR_BGR2RGB)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10, options={"crf": "12"})
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(2):
            f = av.VideoFrame.from_ndarray(photo, format="rgb24").reformat(format="yuv420p", dst_colorspace=matrix,
                                                                           dst_color_range="MPEG")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    assert first_frame(path).colorspace == 2, "untagged"
    return photo


@pytest.mark.parametrize("size, matrix", [((1280, 720), "ITU709"), ((640, 360), "ITU601")])
def test_untagged_video_is_read_as_players_show_it(size: tuple[int, int], matrix: str, data: Path, tmp_path: Path):
    """HD video without colour tags was made in BT.709 (players read it so); smaller video in
    BT.601. Read with the other matrix, the grass and shirts shift by several levels."""
    photo = hd_clip(data, tmp_path / "in.mp4", matrix, size)
    with VideoFileSource(tmp_path / "in.mp4") as source:
        read = next(source.frames()).image
    assert colour_error(read, photo) < 0.6


@pytest.mark.parametrize("name, codec", [("out.mp4", None), ("out.mov", "prores")])
def test_an_hd_render_shows_the_networks_colours_in_a_player(name: str, codec: str | None, data: Path,
                                                             tmp_path: Path):
    """The sink writes BT.601 and says so in the stream: a player, which would take untagged HD
    video for BT.709, shows the network's colours (candy's reds and yellows: 2.8 levels off
    untagged). ProRes says it in each frame's header (it said nothing), and a MOV in its own
    header ('colr', which QuickTime reads)."""
    import rtstyle

    hd_clip(data, tmp_path / "in.mp4", "ITU709")
    style = rtstyle.load_style("candy_fast", threads=2)
    report = rtstyle.render(tmp_path / "in.mp4", tmp_path / name, style, smooth="none", codec=codec)
    assert report.check.ok, report.check.summary()
    with VideoFileSource(tmp_path / "in.mp4") as source:  # the photo's thin dark frame stays as it is
        painter, look = rtstyle.Painter.of(style)
        painted = painter.paint(next(source.frames()).image, dataclasses.replace(look, picture=source.picture_box()))
    assert colour_error(player_rgb(first_frame(tmp_path / name)), painted) < 1.0
    with av.open(str(tmp_path / name)) as c:
        told = c.streams.video[0].codec_context
        assert (told.colorspace, told.color_range, told.color_primaries, told.color_trc) == (6, 1, 1, 1)
    header = (tmp_path / name).read_bytes()
    colr = header[header.index(b"colr") + 8:][:6]  # MOV's nclc, MP4's nclx: primaries, transfer, matrix
    assert colr == b"\x00\x01\x00\x01\x00\x06"
