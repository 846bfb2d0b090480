"""HDR phone video (PQ, HLG) is painted from what it shows on an SDR screen, not from its raw signal.

The HDR clips are made here from a real SDR picture with colour-science's BT.2100 functions (an
implementation independent of rtstyle.hdr): SDR white at 203 cd/m², BT.709 colours in BT.2020,
encoded as 10-bit HEVC tagged as phones tag it. Rendered at strength 0 (the frame itself, through
the whole pipeline) and decoded again, the output must look like the SDR picture.
"""
from __future__ import annotations

import sys
import types
from fractions import Fraction
from pathlib import Path

import av
import colour
import numpy as np
import pytest
from click.testing import CliRunner

# Without matplotlib, importing colour-science puts a stand-in (a MagicMock) for it in sys.modules,
# for the whole test session: the other tests would then take matplotlib for installed
# (test_bench's --plot test ran, and failed, under `pip install ".[test]"` alone).
if not isinstance(sys.modules.get("matplotlib", types.ModuleType("matplotlib")), types.ModuleType):
    del sys.modules["matplotlib"]

from rtstyle import hdr
from rtstyle.cli import main
from rtstyle.sources import read_image
from tools.image_scores import psnr

BT709, BT2020 = colour.RGB_COLOURSPACES["ITU-R BT.709"], colour.RGB_COLOURSPACES["ITU-R BT.2020"]
WIDE = {"bt2020": BT2020, "smpte432": colour.RGB_COLOURSPACES["P3-D65"]}  # x265's names: colour-science's spaces
SDR_BT2020, SDR_BT709 = 14, 1  # AVColorTransferCharacteristic bt2020-10 and bt709: SDR, BT.709's curve
X265_TRANSFER = {hdr.PQ: "smpte2084", hdr.HLG: "arib-std-b67", SDR_BT2020: "bt2020-10", SDR_BT709: "bt709"}


def hdr_signal(sdr: np.ndarray, transfer: int, primaries: str) -> np.ndarray:
    """SDR RGB uint8 -> the BT.2100 signal (0-1, in ``primaries``) that shows it on an HDR display
    (BT.2408); for SDR_BT2020 and SDR_BT709, the SDR signal in those colours that shows it (BT.1886's
    2.4 gamma)."""
    linear = (sdr / 255.0) ** 2.4
    if primaries in WIDE:
        linear = np.maximum(colour.RGB_to_RGB(linear, BT709, WIDE[primaries]), 0)
    if transfer in (SDR_BT2020, SDR_BT709):
        return linear ** (1 / 2.4)
    nits = linear * hdr.REFERENCE_WHITE
    if transfer == hdr.PQ:
        return colour.models.eotf_inverse_BT2100_PQ(nits)
    # colour-science's HLG OOTF takes the luminance with BT.2020 weights; BT.709 colours need BT.709's.
    weights = {"bt2020": None, "bt709": BT709.matrix_RGB_to_XYZ[1],
               "smpte432": WIDE["smpte432"].matrix_RGB_to_XYZ[1]}[primaries]
    with np.errstate(divide="ignore", invalid="ignore"):  # its OOTF divides by the luminance: black is 0/0
        if weights is None:
            return np.nan_to_num(colour.models.eotf_inverse_BT2100_HLG(nits, L_B=0, L_W=hdr.HLG_PEAK))
        luma = np.maximum(nits @ weights, 1e-9)[..., None] / hdr.HLG_PEAK
        scene = nits / hdr.HLG_PEAK * luma ** (1 / 1.2 - 1)  # the OOTF inverted: E = (Fd / Lw) * Yd^((1-g)/g)
        return colour.models.oetf_ARIBSTDB67(12 * scene)


def hdr_clip(sdr: np.ndarray, transfer: int, path: Path, frames: int = 4, primaries: str = "bt2020") -> Path:
    """A 10-bit HEVC clip of ``sdr`` tagged PQ or HLG and ``primaries`` (phones: BT.2020)."""
    rgb48 = np.round(np.clip(hdr_signal(sdr, transfer, primaries), 0, 1) * 65535).astype(np.uint16)
    frame = av.VideoFrame.from_ndarray(rgb48, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace=av.video.reformatter.Colorspace.BT2020)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx265", rate=10)
        stream.width, stream.height, stream.pix_fmt = sdr.shape[1], sdr.shape[0], "yuv420p10le"
        stream.codec_context.options = {"x265-params": f"colorprim={primaries}:transfer={X265_TRANSFER[transfer]}:"
                                                       "colormatrix=bt2020nc:log-level=error"}
        for i in range(frames):
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decoded(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.fixture(scope="module")
def picture(data: Path) -> np.ndarray:
    return read_image(data / "astronaut_face.jpg")[:96, :128]


@pytest.mark.parametrize("transfer, primaries", [(hdr.PQ, "bt2020"), (hdr.HLG, "bt2020"), (hdr.HLG, "bt709")],
                         ids=["PQ", "HLG", "HLG in BT.709 colours"])
def test_an_hdr_clip_renders_as_it_looks_in_sdr(transfer: int, primaries: str, picture: np.ndarray, tmp_path: Path,
                                               tiny_model: Path):
    src = hdr_clip(picture, transfer, tmp_path / "hdr.mp4", primaries=primaries)
    with av.open(str(src)) as c:
        first = next(c.decode(video=0))
        assert (first.color_trc, first.format.name) == (transfer, "yuv420p10le")
        as_if_sdr = first.to_ndarray(format="rgb24")  # the signal read as SDR: what rtstyle painted before
    dst = tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(src), str(dst), "--style", str(tiny_model), "--strength", "0",
                                  "--smooth", "none", "--threads", "1"])
    assert r.exit_code == 0, r.stderr
    assert f"10-bit {hdr.TRANSFERS[transfer]} HDR video tone-mapped to 8-bit SDR" in r.stderr
    out = decoded(dst)
    assert len(out) == 4
    assert psnr(out[0], picture) >= 28  # 30.5 (PQ), 33.2 and 33.6 (HLG): the rest is 10-bit 4:2:0 HEVC, not the mapping
    assert psnr(out[0], picture) >= psnr(as_if_sdr, picture) + 10  # read as SDR: 13.4, 18.9 and 19.2 dB


@pytest.mark.parametrize("transfer, primaries, name", [(SDR_BT2020, "bt2020", "BT.2020"),
                                                      (SDR_BT709, "smpte432", "Display P3")])
def test_an_sdr_clip_in_wide_colours_renders_as_players_show_it(transfer: int, primaries: str, name: str, data: Path,
                                                                tmp_path: Path, tiny_model: Path):
    """UHD broadcast and cameras' "BT.2020" colour mode, a Mac's Display P3 export: SDR, in wider
    colours than BT.709's. Read as BT.709's the colours were dull (a colourful picture 23.5 dB from
    itself in BT.2020, 28.1 dB in Display P3); converted as players convert them, the picture again,
    its 10-bit 4:2:0 HEVC aside (32.7 and 33.8 dB)."""
    picture = read_image(data / "rubberwhale1.png")[100:196, 200:328]
    src = hdr_clip(picture, transfer, tmp_path / "wide.mp4", primaries=primaries)
    with av.open(str(src)) as c:
        as_709 = next(c.decode(video=0)).to_ndarray(format="rgb24")
    dst = tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(src), str(dst), "--style", str(tiny_model), "--strength", "0",
                                  "--smooth", "none", "--threads", "1"])
    assert r.exit_code == 0, r.stderr
    assert f"note: {name} colours converted to BT.709's, as players show them" in r.stderr
    out = decoded(dst)
    assert psnr(out[0], picture) >= 30 and psnr(out[0], picture) >= psnr(as_709, picture) + 3, \
        (psnr(out[0], picture), psnr(as_709, picture))


def test_hdr_in_display_p3_colours_is_not_read_as_bt2020(data: Path, tmp_path: Path, tiny_model: Path):
    """PQ video tagged Display P3 (P3-D65) primaries: its colours were read as BT.2020's, any tag but
    BT.709 being taken for it, and came out far too strong (a colourful picture 18.2 dB from itself);
    converted from P3, the picture (32.6 dB)."""
    picture = read_image(data / "rubberwhale1.png")[100:196, 200:328]
    src = hdr_clip(picture, hdr.PQ, tmp_path / "p3.mp4", primaries="smpte432")
    dst = tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(src), str(dst), "--style", str(tiny_model), "--strength", "0",
                                  "--smooth", "none", "--threads", "1"])
    assert r.exit_code == 0, r.stderr
    assert psnr(decoded(dst)[0], picture) >= 30


def test_transfer_functions_match_an_independent_implementation():
    signal = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(hdr.pq_to_nits(signal), colour.models.eotf_ST2084(signal), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(hdr.hlg_to_scene(signal), colour.models.oetf_inverse_ARIBSTDB67(signal) / 12,
                               rtol=1e-6, atol=1e-9)


def test_highlights_roll_off_instead_of_clipping():
    light = np.array([0.0, 0.5, hdr.KNEE, 1.0, 2.0, 4.0, 8.0])
    out = hdr.roll_off(light)
    np.testing.assert_array_equal(out[:3], light[:3])   # below the knee: unchanged
    assert np.all(np.diff(out) > 0) and out[-1] <= 1.0  # brighter stays brighter, never past white
    slope = (hdr.roll_off(np.array([hdr.KNEE + 1e-4])) - hdr.KNEE) / 1e-4
    assert abs(slope[0] - 1) < 1e-3                      # no kink at the knee
