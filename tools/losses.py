"""Perceptual losses on VGG16 features, shared by training, the optimization method and the report.

One definition everywhere, so that a feed-forward model and a per-image optimization are
measured with the same yardstick: content as feature MSE on one layer, style as the MSE
between normalised Gram matrices summed over ``STYLE_LAYERS`` (Gatys et al. 2016,
Johnson et al. 2016), plus an optional total-variation term.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from .vgg import VGG16Features, gram

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")
CONTENT_LAYER = "relu2_2"


def fit(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downsize an image so that its long side is at most ``max_side`` (never enlarges)."""
    if max_side and max(rgb.shape[:2]) > max_side:
        s = max_side / max(rgb.shape[:2])
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), interpolation=cv2.INTER_AREA)
    return rgb


def to_rgb01(rgb: np.ndarray, max_side: int | None = None) -> torch.Tensor:
    """RGB uint8 HxWx3 -> (1, 3, H, W) float in [0, 1], downsized to ``max_side`` if larger."""
    rgb = np.ascontiguousarray(fit(rgb, max_side))
    return torch.from_numpy(rgb).permute(2, 0, 1)[None].float().contiguous() / 255.0


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) float in [0, 1] -> RGB uint8 HxWx3 (clamped, rounded)."""
    return (x.detach()[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255.0 + 0.5).astype(np.uint8)


def load_rgb01(path: Path, max_side: int | None = None) -> torch.Tensor:
    """Image file -> (1, 3, H, W) float RGB in [0, 1], optionally downsized."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(f"cannot read image {path}")
    return to_rgb01(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), max_side)


def total_variation(y: torch.Tensor) -> torch.Tensor:
    return (y[..., 1:, :] - y[..., :-1, :]).abs().mean() + (y[..., :, 1:] - y[..., :, :-1]).abs().mean()


class PerceptualLoss(torch.nn.Module):
    """Weighted content, style and TV losses against one style image; the loss network is frozen."""

    def __init__(self, vgg: VGG16Features, style: torch.Tensor, content_weight: float = 1.0,
                 style_weight: float = 1.0, tv_weight: float = 0.0, content_layer: str = CONTENT_LAYER):
        super().__init__()
        missing = {content_layer, *STYLE_LAYERS} - set(vgg.layers)
        if missing:
            raise ValueError(f"loss network lacks layers {sorted(missing)}")
        self.vgg = vgg
        self.content_layer = content_layer
        with torch.no_grad():
            self.style_grams = {k: gram(v.float()) for k, v in vgg(style).items() if k in STYLE_LAYERS}
        self.cw, self.sw, self.tw = content_weight, style_weight, tv_weight

    def content_target(self, x: torch.Tensor) -> torch.Tensor:
        """Features of the content image that the output must match (computed once per image)."""
        with torch.no_grad():
            return self.vgg(x)[self.content_layer]

    def forward(self, y: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        fy = self.vgg(y)
        content = torch.nn.functional.mse_loss(fy[self.content_layer].float(), target.float())
        style = sum(self.style_terms(fy).values())
        return {"content": self.cw * content, "style": self.sw * style, "tv": self.tw * total_variation(y)}

    def style_terms(self, features: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """The unweighted style loss layer by layer, from the output's VGG ``features``."""
        return {k: torch.nn.functional.mse_loss(gram(features[k].float()), g.expand(features[k].shape[0], -1, -1))
                for k, g in self.style_grams.items()}
