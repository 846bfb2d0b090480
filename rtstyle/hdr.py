"""HDR video frames (PQ or HLG, BT.2020), and SDR ones in BT.2020 colours, to the SDR BT.709 RGB
the style networks were trained on.

Phones record HDR by default (iPhones HLG, many Android phones PQ). Read as if it were SDR, an
HDR frame comes out flat and grey with washed-out colours, and so does its painting. The
conversion follows ITU-R BT.2408: HDR reference white (203 cd/m², HLG's 75 % signal) becomes SDR
white, the colours go from BT.2020 to BT.709 primaries, the highlights above SDR white are rolled
off smoothly instead of clipped, and the result is encoded with the BT.1886 gamma (2.4).

- PQ (SMPTE ST 2084, BT.2100): the signal is absolute display light, 0-10,000 cd/m².
- HLG (ARIB STD-B67, BT.2100): the signal is scene light; the display light is the BT.2100 OOTF
  for a 1,000 cd/m² display (system gamma 1.2, on the pixel's luminance, not per channel).

The YUV matrix is the one the frame is tagged with (BT.2020 in practice), and so are the
primaries: BT.2020 unless tagged BT.709 (some cameras record HLG in BT.709 colours) or Display P3
(P3-D65, SMPTE EG 432: Apple's wide colours). A 1080p frame costs 0.14x what candy_fast takes to
paint it (benchmarks/hdr.py, docs/hdr_cost.txt); only HDR sources pay it. An SDR frame in BT.2020
or Display P3 colours (UHD broadcast, cameras' BT.2020 colour mode, a Mac's wide-colour exports)
is turned into BT.709's as players do (BT.1886's 2.4 gamma, then the primaries' matrix).
"""
from __future__ import annotations

import av
import cv2
import numpy as np

PQ, HLG = 16, 18  # AVColorTransferCharacteristic values
TRANSFERS = {PQ: "PQ", HLG: "HLG"}
SDR_TRANSFERS = {1, 2, 6, 14, 15}  # BT.709's curve (as BT.601's and BT.2020's 10- and 12-bit), or none said
REFERENCE_WHITE = 203.0  # cd/m², BT.2408: what SDR white (100 %) corresponds to
HLG_PEAK = 1000.0        # cd/m², the display the HLG OOTF is taken for
KNEE = 0.8               # SDR linear light above which the highlights are rolled off

BT709, BT2020, DISPLAY_P3 = 1, 9, 12  # AVColorPrimaries (12: SMPTE 432, P3-D65); any other is read as BT.2020
NAMES = {BT2020: "BT.2020", DISPLAY_P3: "Display P3"}
# Per primaries: linear light to BT.709 (BT.2087 for BT.2020; P3-D65's from its chromaticities, the
# same white), and the luminance weights of the HLG OOTF.
_TO_BT709 = {BT709: np.eye(3, dtype=np.float32),
             BT2020: np.array([[1.6605, -0.5876, -0.0728],
                               [-0.1246, 1.1329, -0.0083],
                               [-0.0182, -0.1006, 1.1187]], np.float32),
             DISPLAY_P3: np.array([[1.2249, -0.2249, 0.0],
                                   [-0.0421, 1.0421, 0.0],
                                   [-0.0196, -0.0786, 1.0983]], np.float32)}
_LUMA = {BT709: np.array([0.2126, 0.7152, 0.0722], np.float32),
         BT2020: np.array([0.2627, 0.6780, 0.0593], np.float32),
         DISPLAY_P3: np.array([0.2290, 0.6917, 0.0793], np.float32)}

# Constants of the two transfer functions (BT.2100, Table 4 and 5).
_M1, _M2, _C1, _C2, _C3 = 2610 / 16384, 2523 / 4096 * 128, 3424 / 4096, 2413 / 4096 * 32, 2392 / 4096 * 32
_A, _B, _C = 0.17883277, 0.28466892, 0.55991073


def pq_to_nits(signal: np.ndarray) -> np.ndarray:
    """PQ EOTF: non-linear signal 0-1 -> display light in cd/m²."""
    p = np.power(signal, 1 / _M2)
    return 10000.0 * np.power(np.maximum(p - _C1, 0) / (_C2 - _C3 * p), 1 / _M1)


def hlg_to_scene(signal: np.ndarray) -> np.ndarray:
    """HLG inverse OETF: non-linear signal 0-1 -> scene light 0-1."""
    low = signal ** 2 / 3
    high = (np.exp((np.maximum(signal, 0.5) - _C) / _A) + _B) / 12
    return np.where(signal <= 0.5, low, high)


def _linear_lut(transfer: int) -> np.ndarray:
    """Linear light (PQ: cd/m²; HLG: scene light 0-1) of every 10-bit code: the phones' depth; a
    12-bit source is read at 10 bits, still four times finer than the 8-bit output."""
    codes = np.arange(1024, dtype=np.float64) / 1023
    return (pq_to_nits(codes) if transfer == PQ else hlg_to_scene(codes)).astype(np.float32)


def roll_off(light: np.ndarray) -> np.ndarray:
    """SDR linear light with highlights: identity up to KNEE, then an exponential shoulder toward 1
    (continuous in value and slope), so detail above SDR white is compressed, not clipped."""
    over = np.maximum(light - KNEE, 0) / (1 - KNEE)
    return np.where(light <= KNEE, light, KNEE + (1 - KNEE) * (1 - np.exp(-over)))


# SDR linear light -> 8-bit BT.1886 code, indexed by the light's square root in steps of 1/_STEPS: fine
# enough at black (code 1 is 5 steps from 0), and at _BRIGHTEST the shoulder has reached 255.
_STEPS, _BRIGHTEST = 4096, 8.0
_OUTPUT = np.round(np.power(roll_off((np.arange(int(np.sqrt(_BRIGHTEST) * _STEPS) + 1) / _STEPS) ** 2),
                            1 / 2.4) * 255).astype(np.uint8)
_LINEAR = {transfer: _linear_lut(transfer) for transfer in TRANSFERS}


# SDR: every 10-bit code's display light (BT.1886, black at 0: a 2.4 power, as players show it),
# and BT.709 light back to an 8-bit code, indexed as _OUTPUT is, without its highlight shoulder.
_SDR_LINEAR = (np.arange(1024, dtype=np.float32) / 1023) ** 2.4
_SDR_OUTPUT = np.round((np.arange(_STEPS + 1) / _STEPS) ** (2 / 2.4) * 255).astype(np.uint8)


def is_wide_sdr(frame: av.VideoFrame) -> bool:
    """An SDR frame in BT.2020 or Display P3 colours (UHD broadcast, cameras' "BT.2020" colour mode, a
    Mac's wide-colour export), whose colours a player turns into BT.709's: read as BT.709's, they
    would be dull."""
    return frame.color_primaries in NAMES and frame.color_trc in SDR_TRANSFERS


def wide_to_bt709(frame: av.VideoFrame) -> np.ndarray:
    """An SDR frame in BT.2020 or Display P3 colours -> RGB uint8 in BT.709's, colours outside them clipped."""
    codes = frame.to_ndarray(format="rgb48le", src_color_range=frame.color_range)
    light = cv2.transform(_SDR_LINEAR[codes >> 6], _TO_BT709[frame.color_primaries])
    np.clip(light, 0, 1, out=light)
    return _SDR_OUTPUT[(cv2.sqrt(light) * _STEPS).astype(np.uint16)]


def to_sdr(frame: av.VideoFrame) -> np.ndarray:
    """A PQ or HLG frame (any YUV/RGB format FFmpeg decodes, matrix and primaries as tagged) -> RGB uint8."""
    primaries = frame.color_primaries if frame.color_primaries in _TO_BT709 else BT2020
    codes = frame.to_ndarray(format="rgb48le", src_color_range=frame.color_range)
    light = _LINEAR[frame.color_trc][codes >> 6]  # H x W x 3 float32, the frame's primaries
    if frame.color_trc == HLG:
        luma = cv2.transform(light, _LUMA[primaries][None])
        light *= (HLG_PEAK * np.power(np.maximum(luma, 1e-6), 0.2))[..., None]  # OOTF -> cd/m²
    light = cv2.transform(light, _TO_BT709[primaries] / REFERENCE_WHITE)  # 1.0 = SDR white, BT.709 primaries
    np.clip(light, 0, _BRIGHTEST, out=light)
    return _OUTPUT[(cv2.sqrt(light) * _STEPS).astype(np.uint16)]
