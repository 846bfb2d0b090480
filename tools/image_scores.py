"""Per-image scores of the quality report: closeness to a reference, kept structure, periodic grid.

All take RGB uint8 images of one size. Kept apart from the report so each can be tested on
images whose answer is known (a synthetic checkerboard, an image against itself).
"""
from __future__ import annotations

import cv2
import numpy as np

# Pixels per side of the blocks the grid amplitude is measured in. A net's grid has the same phase
# over large areas, brush texture has not: on the report's photos, 8 px blocks read 0.64 grey levels
# for the teacher's Van Gogh strokes, 32 px blocks 0.21 (the photos themselves: 0.33 and 0.19),
# while candy_fast's grid reads 7.0 and 7.6.
GRID_BLOCK = 32


def luminance(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma in grey levels (0-255), float64."""
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over all channels (inf for identical images)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(255.0 ** 2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM (Wang et al. 2004) over the channels: Gaussian window (sigma 1.5, 11 px), K1 0.01, K2 0.03.

    The same definition as scikit-image's ``structural_similarity`` with ``gaussian_weights=True``,
    ``use_sample_covariance=False`` and ``data_range=255``, border pixels left out of the mean.
    """
    c1, c2, pad = (0.01 * 255) ** 2, (0.03 * 255) ** 2, 5

    def blur(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    x, y = a.astype(np.float64), b.astype(np.float64)
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s[pad:-pad, pad:-pad].mean())


def grid_amplitude(rgb: np.ndarray) -> dict[str, float]:
    """Amplitude in grey levels of the 2-pixel-period luminance patterns a net's upsampling can paint.

    ``checker`` is a * (-1)^(x+y), ``columns`` a * (-1)^x (vertical stripes), ``rows`` a * (-1)^y.
    A second difference [1, -2, 1] / 4 along the pattern's axes maps the pattern to itself
    (up to sign) and removes smooth shading; its product with the pattern, averaged over
    ``GRID_BLOCK`` square blocks, is the local amplitude; the median over blocks ignores the
    few blocks where edges of the picture itself alias into the pattern. A pure pattern of amplitude a
    (a smooth image plus a * pattern) gives a.
    """
    y = luminance(rgb)
    h, w = (s - s % GRID_BLOCK for s in y.shape)
    yy, xx = np.mgrid[:h, :w]
    d2 = np.array([[0.25, -0.5, 0.25]])
    one = np.array([[1.0]])
    out = {}
    for name, kx, ky, sign in (("checker", d2, d2, (-1.0) ** (xx + yy)), ("columns", d2, one, (-1.0) ** xx),
                               ("rows", one, d2, (-1.0) ** yy)):
        f = cv2.sepFilter2D(y, cv2.CV_64F, kx, ky, borderType=cv2.BORDER_REFLECT_101)[:h, :w] * sign
        blocks = f.reshape(h // GRID_BLOCK, GRID_BLOCK, w // GRID_BLOCK, GRID_BLOCK).mean(axis=(1, 3))
        out[name] = float(np.median(np.abs(blocks)))
    return out


def edge_correlation(photo: np.ndarray, output: np.ndarray) -> float:
    """Pearson correlation of the two images' gradient magnitudes (grey, Gaussian sigma 1, Sobel).

    1 when every edge of the photo is where the output's edges are, with the same relative
    strength; near 0 when the output's strokes ignore the photo's structure. The blur keeps
    pixel-level noise and a 2-pixel grid out of the figure.
    """
    def magnitude(rgb: np.ndarray) -> np.ndarray:
        g = cv2.GaussianBlur(luminance(rgb), (0, 0), 1.0)
        return np.hypot(cv2.Sobel(g, cv2.CV_64F, 1, 0), cv2.Sobel(g, cv2.CV_64F, 0, 1)).ravel()

    return float(np.corrcoef(magnitude(photo), magnitude(output))[0, 1])
