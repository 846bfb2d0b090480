"""rtstyle.guided's fast guided upsampling, rewritten in torch so that training can see it.

A net that runs at a reduced internal scale (a model card's ``internal_scale``)
paints strokes at its own pixel scale, which the upsampling then enlarges; trained at full
scale, its strokes come out too large and its fine texture is lost. Training through the
same downscale -> net -> guided upsampling as the runtime (``tools.train --internal-scale``)
makes the losses judge what the user will see. Same maths and defaults as
rtstyle.guided.guided_upsample (area downscale, mirror-padded box filter, bilinear
upsampling of the linear map), on RGB NCHW float tensors in [0, 1], differentiable.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

GREY = (0.299, 0.587, 0.114)  # OpenCV's RGB2GRAY weights


def downscale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Area-averaged downscale (OpenCV's INTER_AREA for integer factors)."""
    h, w = (max(1, round(s * scale)) for s in x.shape[-2:])
    return F.interpolate(x, size=(h, w), mode="area")


def symmetric_pad(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mirror padding that repeats the edge pixel (OpenCV's BORDER_REFLECT)."""
    x = torch.cat([x[..., :r].flip(-1), x, x[..., -r:].flip(-1)], -1)
    return torch.cat([x[..., :r, :].flip(-2), x, x[..., -r:, :].flip(-2)], -2)


def guided_upsample(low: torch.Tensor, guide: torch.Tensor, radius: int = 1, eps: float = 1e-3) -> torch.Tensor:
    """Upsample ``low`` (N,3,h,w) to the size of ``guide`` (N,3,H,W) along the guide's edges."""
    weights = torch.tensor(GREY, dtype=guide.dtype, device=guide.device).view(1, 3, 1, 1)
    g = (guide * weights).sum(1, keepdim=True)
    g_low = F.interpolate(g, size=low.shape[-2:], mode="area")

    def box(a: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(symmetric_pad(a, radius), 2 * radius + 1, stride=1)

    mean_g = box(g_low)
    var_g = box(g_low * g_low) - mean_g * mean_g
    mean_p = box(low)
    a = (box(low * g_low) - mean_p * mean_g) / (var_g + eps)
    b = mean_p - a * mean_g
    size = guide.shape[-2:]
    up = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False)  # noqa: E731
    return up(a) * g + up(b)
