"""The fast tier's network: a small encoder-decoder distilled from the teacher (tools/distil.py).

Stride-2 convolutions take the frame down to 1/16 size (most channels where pixels are
fewest), depthwise-separable residual blocks paint there, and the decoder comes back with
bilinear upsampling followed by convolutions (resize-convolution), with skips from the
encoder and the input picture itself fed to the last, full-size 1x1 convolution. Of the shapes
measured side by side with ONNX Runtime at 640x368 (docs/teacher.md), this one was as fast
as the 3-level one with fewer channels and had the widest receptive field. Nothing in it repeats with a
2-pixel period: the earlier fast net's pixel shuffle painted a 2-pixel grid (3-4.7 grey
levels of checkerboard), which bilinear upsampling cannot.

Two choices are for ONNX Runtime's CPU kernels, measured with its profiler at 640x368 on 2
cores: convolutions pad with zeros inside the Conv (a reflection pad is a separate copy of
every feature map: 5.4 of 37 ms), and the full-size convolution is 1x1 (its blocked layout
pads 11 input and 3 output channels to 16 each, so a 3x3 there cost 4.9 ms). Together they
take the student from 33 to 25 ms per frame, the time of the fast net it replaces.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F


@dataclass(frozen=True)
class StudentConfig:
    """Architecture; stored in the model card and the checkpoint so a student can be rebuilt."""

    widths: tuple[int, ...] = (16, 32, 64, 128)  # channels at 1/2, 1/4, 1/8... size: one stride-2 conv each
    blocks: int = 3      # residual blocks at the smallest size
    full: int = 8        # channels brought up to full size for the last convolution

    def to_dict(self) -> dict:
        return {"widths": list(self.widths), "blocks": self.blocks, "full": self.full}

    @classmethod
    def from_dict(cls, d: dict) -> "StudentConfig":
        return cls(tuple(int(w) for w in d["widths"]), int(d["blocks"]), int(d["full"]))

    @property
    def stride(self) -> int:
        """Input sides must be multiples of this."""
        return 2 ** len(self.widths)

    def describe(self) -> str:
        sizes = ", ".join(f"{w} at 1/{2 ** (i + 1)}" for i, w in enumerate(self.widths))
        return (f"distilled student: stride-2 encoder ({sizes} size), {self.blocks} depthwise-separable residual "
                f"blocks, bilinear-upsample + conv decoder with skips, {self.full} channels at full size "
                "(no pixel shuffle)")


def conv(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, padding=k // 2, groups=groups))


def norm(c: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(c, affine=True, eps=1e-3)


class Block(nn.Module):
    """Depthwise 3x3 + pointwise, twice, around an identity."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(conv(c, c, groups=c), nn.Conv2d(c, c, 1), norm(c), nn.ReLU(inplace=True),
                                  conv(c, c, groups=c), nn.Conv2d(c, c, 1), norm(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Student(nn.Module):
    """RGB [0, 1] NCHW -> stylized RGB [0, 1], same size (sides multiples of ``cfg.stride``)."""

    def __init__(self, cfg: StudentConfig = StudentConfig()):
        super().__init__()
        self.cfg = cfg
        w = cfg.widths
        relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
        self.down = nn.ModuleList(nn.Sequential(conv(cin, cout, 3, 2), norm(cout), relu())
                                  for cin, cout in zip((3, *w[:-1]), w))
        self.blocks = nn.Sequential(*[Block(w[-1]) for _ in range(cfg.blocks)])
        self.up = nn.ModuleList(nn.Sequential(conv(cin, cout), norm(cout), relu())
                                for cin, cout in zip(w[:0:-1], w[-2::-1]))
        self.squeeze = nn.Conv2d(w[0], cfg.full, 1)  # few channels cross to full size: that is where the traffic is
        self.out = nn.Conv2d(cfg.full + 3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, skips = x * 2.0 - 1.0, []
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = self.blocks(h)
        for layer, skip in zip(self.up, skips[-2::-1]):
            h = layer(F.interpolate(h, scale_factor=2.0, mode="bilinear", align_corners=False)) + skip
        h = F.interpolate(self.squeeze(h), scale_factor=2.0, mode="bilinear", align_corners=False)
        y = self.out(torch.cat([h, x], 1)) * 0.5 + 0.5
        return y if self.training else y.clamp(0.0, 1.0)


def macs_per_pixel(cfg: StudentConfig) -> int:
    """Multiply-accumulates per input pixel, counted from the layer shapes."""
    w, total = cfg.widths, 0.0
    for i, (cin, cout) in enumerate(zip((3, *w[:-1]), w)):
        area = 4.0 ** -(i + 1)
        total += area * cin * cout * 9                       # encoder
        if i:
            total += 4.0 ** -i * cout * cin * 9              # decoder conv back to cin at the size above
    deep = 4.0 ** -len(w)
    total += deep * cfg.blocks * 2 * (w[-1] * 9 + w[-1] ** 2)
    total += w[0] * cfg.full / 4 + (cfg.full + 3) * 3
    return int(round(total))
