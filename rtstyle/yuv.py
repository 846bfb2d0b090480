"""RGB <-> yuv420p for PyAV frames through OpenCV's vectorised converters.

PyAV's own conversion (libswscale) took 2.5-5 ms per 640x360 frame each way on the
two-core test machine, up to a quarter of a 30 fps frame budget for decode plus encode;
OpenCV's converters take ~0.1 ms. They use BT.601 limited range, the matrix swscale uses
for untagged and BT.601 frames, so colours stay the same (mean difference < 1 level).
Frames they do not fit (other pixel formats, BT.709, untagged HD, odd sizes, full range) go through
swscale as before, and HDR frames (PQ, HLG) are tone-mapped to SDR (rtstyle.hdr).

OpenCV's RGB -> I420 takes each 2x2 block's chroma from one of its pixels. The fast style
nets paint through a pixel shuffle, whose output has a 2-pixel periodic pattern: that
sampling aliased it into a colour cast of up to 32 grey levels (issue 16). ``from_rgb``
averages each block's colour first, still faster than swscale
(benchmarks/colours.py, docs/colours.txt).
"""
from __future__ import annotations

import av
import cv2
import numpy as np

from rtstyle import hdr

# AVColorSpace values for which swscale's matrix is BT.601: unspecified, BT470BG, SMPTE170M.
_BT601 = (2, 5, 6)
UNSPECIFIED = 2
_ACCURATE = (av.video.reformatter.Interpolation.BILINEAR | av.video.reformatter.Interpolation.ACCURATE_RND
             | av.video.reformatter.Interpolation.FULL_CHR_H_INT)
# What the written frames are, and what the sink tags them as: BT.601 (SMPTE 170M) in limited range,
# of RGB in BT.709's primaries and transfer (sRGB's, what the networks paint).
WRITTEN_COLORSPACE, WRITTEN_RANGE = 6, 1
WRITTEN_PRIMARIES = WRITTEN_TRANSFER = 1
FULL_RANGE = 2  # AVCOL_RANGE_JPEG: 0-255 luma (OpenCV's converters take 16-235)
LINEAR = 8  # AVCOL_TRC_LINEAR: what FFmpeg marks an OpenEXR picture's floats (scene-linear light)
# Full-range chroma (0-255 around 128) -> limited range (16-240), the scale yuv420p's BT.601 uses.
_LIMITED_CHROMA = np.clip(np.round((np.arange(256) - 128) * 224 / 255 + 128), 16, 240).astype(np.uint8)


def is_hd(width: int, height: int) -> bool:
    """Whether players take an untagged video of this size for BT.709 (else BT.601): mpv's
    rule, which VLC and Kodi share."""
    return width >= 1280 or height > 576


def to_rgb(frame: av.VideoFrame, straight: bool = False) -> np.ndarray:
    """Decoded frame -> RGB uint8 H x W x 3 (SDR), in the colours a player shows. With
    ``straight`` (an output keeps the alpha), an OpenEXR's colours are divided by its alpha
    (EXR stores them premultiplied): the colours of the thing itself, not of it over black,
    whose edges would come out dark twice over.

    A frame that does not say its matrix is read as players read it: BT.709 at HD sizes
    (what HD video is made in), BT.601 below; swscale alone would take BT.601 for all.
    """
    if frame.color_trc in hdr.TRANSFERS:
        return hdr.to_sdr(frame)
    if is_linear_light(frame):  # OpenEXR renders: shown through sRGB's curve
        return srgb(_linear_rgb(frame, straight))
    if hdr.is_wide_sdr(frame):
        return hdr.wide_to_bt709(frame)
    untagged_hd = frame.colorspace == UNSPECIFIED and is_hd(frame.width, frame.height)
    if frame.format.name == "yuv420p" and frame.colorspace in _BT601 and frame.color_range != FULL_RANGE and not (
            frame.width % 2 or frame.height % 2 or untagged_hd):
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    # swscale's default rounding reads every channel 1-1.5 levels dark; accurate rounding with
    # full chroma interpolation does not, for 3.0 ms a 1280x720 frame instead of 0.35 (a fast
    # style paints it in 169: benchmarks/encoders.py, docs/encoders.txt).
    return frame.to_ndarray(format="rgb24", src_colorspace="ITU709" if untagged_hd else None,
                            interpolation=_ACCURATE)


def from_rgb(rgb: np.ndarray) -> av.VideoFrame:
    """RGB uint8 H x W x 3 -> a frame a yuv420p encoder takes without converting again:
    BT.601 in limited range (``WRITTEN_COLORSPACE``, ``WRITTEN_RANGE``; the sink tags the stream so)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        return av.VideoFrame.from_ndarray(rgb, format="rgb24")
    # Chroma from each 2x2 block's mean colour (the conversion is linear: mean RGB -> mean U, V),
    # through OpenCV's full-range YCrCb at half size, scaled to limited range by a table.
    # Luma at full resolution; its one-pixel chroma is overwritten below. A luma-only
    # cv2.transform costs more than this whole conversion (0.29 vs 0.13 ms at 640x360).
    i420 = cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)
    crcb = cv2.LUT(cv2.cvtColor(cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA),
                                cv2.COLOR_RGB2YCrCb), _LIMITED_CHROMA)
    planes = i420.reshape(-1)  # U and V follow Y; a plane need not fill whole rows of w
    size = (h // 2) * (w // 2)
    cv2.extractChannel(crcb, 2, dst=planes[h * w:h * w + size].reshape(h // 2, w // 2))  # U (Cb)
    cv2.extractChannel(crcb, 1, dst=planes[h * w + size:].reshape(h // 2, w // 2))       # V (Cr)
    return av.VideoFrame.from_ndarray(i420, format="yuv420p")


def is_linear_light(frame: av.VideoFrame) -> bool:
    """An OpenEXR picture's floats in scene-linear light: half (what 3D programs write by default)
    or single precision, RGB(A) or grey."""
    return frame.color_trc == LINEAR and frame.format.name in _FLOATS


_FLOATS = {"gbrpf32le", "gbrapf32le", "gbrpf16le", "gbrapf16le", "grayf32le", "grayf16le"}


def _linear_rgb(frame: av.VideoFrame, straight: bool) -> np.ndarray:
    """Linear-light floats H x W x 3, grey spread to three channels; with ``straight``, divided by
    the alpha where there is one (none where it is 0: nothing is there)."""
    if frame.format.name.startswith("gray"):
        return np.dstack([_float_plane(frame, 0)] * 3)
    green, blue, red = (_float_plane(frame, i) for i in range(3))
    rgb = np.dstack([red, green, blue])
    if straight and len(frame.planes) == 4:
        alpha = _float_plane(frame, 3)[..., None]
        rgb = np.where(alpha > 0, rgb / np.maximum(alpha, 1e-6), 0.0).astype(np.float32)
    return rgb


def _float_plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """Plane ``index`` of a float frame (G, B, R, A; or Y) as a float32 array, read as stored. Not
    through swscale: it moves half floats' levels between channels (by up to 2 of 255) and reads
    grey floats as limited-range luma (0.087 as 0.028)."""
    dtype = np.dtype(np.float16 if "f16" in frame.format.name else np.float32)
    plane = frame.planes[index]
    stored = np.frombuffer(plane, dtype).reshape(plane.height, plane.line_size // dtype.itemsize)
    return stored[:, :plane.width].astype(np.float32)


def alpha(frame: av.VideoFrame) -> np.ndarray | None:
    """A frame's transparency as uint8 H x W (255 = opaque); None when it has no alpha channel."""
    if not any(c.is_alpha for c in frame.format.components):
        return None
    if is_linear_light(frame):
        return np.round(np.clip(_float_plane(frame, 3), 0.0, 1.0) * 255).astype(np.uint8)
    return frame.to_ndarray(format="rgba")[..., 3]


def linear(rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded RGB uint8 -> linear-light float32 (1 = white): what :func:`srgb` reads back
    as the same levels."""
    return _TO_LINEAR[rgb]


_LEVELS = np.arange(256) / 255
_TO_LINEAR = np.where(_LEVELS <= 0.04045, _LEVELS / 12.92, np.power((_LEVELS + 0.055) / 1.055, 2.4)).astype(np.float32)


def srgb(linear: np.ndarray) -> np.ndarray:
    """Linear-light floats (1 = white) -> sRGB-encoded RGB uint8, as an image viewer shows an
    OpenEXR file (above white clipped); the raw floats would look dark and flat."""
    v = np.clip(linear, 0.0, 1.0)
    encoded = np.where(v <= 0.0031308, 12.92 * v, 1.055 * np.power(v, 1 / 2.4) - 0.055)
    return np.round(encoded * 255).astype(np.uint8)
