"""Johnson-style feed-forward transformer network (Johnson et al. 2016).

Differences from the paper follow later practice: reflection padding instead of zero
padding, instance norm instead of batch norm, and nearest-neighbour upsampling followed
by a convolution instead of transposed convolutions (no checkerboard artefacts).
``depthwise=True`` swaps the 3x3 convolutions of the residual blocks for depthwise
separable ones, which cuts MACs. ``out_kernel`` sizes the last convolution: Johnson's 9x9
there has only 3 output channels, which ONNX Runtime's CPU convolution runs at a fraction of
its peak; 3x3 is about 1.6x faster.

The shipped zoo is no longer trained with this net (tools/bake.py, tools/distil.py); it stays
for perceptual training on a GPU (tools/train.py). Its former half-size variant between a
pixel unshuffle and a pixel shuffle was removed: it painted a 2-pixel grid (issue 15).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class NetConfig:
    """Architecture hyper-parameters; stored in the model card so a model can be rebuilt."""

    widths: tuple[int, int, int] = (32, 64, 128)
    res_blocks: int = 5
    depthwise: bool = False
    out_kernel: int = 9

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "NetConfig":
        return cls(widths=tuple(d["widths"]), res_blocks=int(d["res_blocks"]), depthwise=bool(d["depthwise"]),
                   out_kernel=int(d.get("out_kernel", 9)))

    @property
    def stride(self) -> int:
        """Total downsampling factor: input sizes must be multiples of it."""
        return 4


def conv(cin: int, cout: int, k: int, stride: int = 1, depthwise: bool = False) -> nn.Sequential:
    """Reflection-padded convolution (optionally depthwise separable)."""
    pad = nn.ReflectionPad2d(k // 2)
    if depthwise and cin == cout and k > 1:
        return nn.Sequential(pad, nn.Conv2d(cin, cin, k, stride, groups=cin), nn.Conv2d(cin, cout, 1))
    return nn.Sequential(pad, nn.Conv2d(cin, cout, k, stride))


def norm(c: int) -> nn.InstanceNorm2d:
    # eps 1e-3 (not 1e-5): activations are in the 0-255 scale, and the larger eps caps
    # the gain on flat image regions, which otherwise made training diverge.
    return nn.InstanceNorm2d(c, affine=True, eps=1e-3)


class ResidualBlock(nn.Module):
    def __init__(self, c: int, depthwise: bool):
        super().__init__()
        self.body = nn.Sequential(conv(c, c, 3, depthwise=depthwise), norm(c), nn.ReLU(inplace=True),
                                  conv(c, c, 3, depthwise=depthwise), norm(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Upsample(nn.Module):
    """Nearest-neighbour x2 then conv: avoids the checkerboard of transposed convs."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv = conv(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.up(x))


class TransformerNet(nn.Module):
    """Image -> stylized image. Input and output: RGB, NCHW, float in [0, 1]."""

    def __init__(self, cfg: NetConfig = NetConfig()):
        super().__init__()
        self.cfg = cfg
        a, b, c = cfg.widths
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.body = nn.Sequential(
            conv(3, a, 9), norm(a), relu(),
            conv(a, b, 3, 2), norm(b), relu(),
            conv(b, c, 3, 2), norm(c), relu(),
            *[ResidualBlock(c, cfg.depthwise) for _ in range(cfg.res_blocks)],
            Upsample(c, b), norm(b), relu(),
            Upsample(b, a), norm(a), relu(),
            conv(a, 3, cfg.out_kernel),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The network works on 0-255 internally (as in Johnson's code) which keeps the
        # first layers' activations in a range the instance norms like; output squashed
        # into [0, 1] so exported models have a fixed, documented range.
        y = self.body(x * 255.0) / 255.0
        # Unclamped while training so out-of-range pixels still get gradients.
        return y if self.training else y.clamp(0.0, 1.0)


def macs_per_pixel(cfg: NetConfig) -> int:
    """Multiply-accumulates per input pixel, counted from the layer shapes."""
    net = TransformerNet(cfg)
    total = 0.0
    scale = 1.0  # pixels of the current feature map per input pixel
    for m in net.modules():
        if isinstance(m, nn.Upsample):
            scale *= m.scale_factor ** 2
        elif isinstance(m, nn.Conv2d):
            if m.stride[0] == 2:
                scale /= 4
            k = m.kernel_size[0] * m.kernel_size[1]
            total += scale * m.out_channels * (m.in_channels // m.groups) * k
    return int(round(total))
