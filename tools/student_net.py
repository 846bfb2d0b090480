"""The fast tier's network: the teacher's own layout, cut down to run at 30 fps, starting from its weights.

The teacher (Magenta's arbitrary transformer with the style vector baked in, tools/bake.py) is a
9x9 convolution at full size, two stride-2 convolutions, five residual blocks at 1/4 size with
conditional instance norms (scale and shift computed from the style vector), then two
nearest-upsample + 3x3 convolutions and a 9x9 convolution back to RGB. It runs at 14 fps at
640x360 on 2 cores; ONNX Runtime's profiler puts 29 of its 74 ms in the two full-size 9x9
convolutions. The student keeps the layout with up to three cuts (docs/teacher.md measures them):

- the first convolution is 5x5 and the last 3x3: the centres of the teacher's 9x9 kernels;
- only the first ``blocks`` residual blocks (all five by default; several zoo students keep three);
- padding by replication (``block_padding`` and ``outer_padding``, "replicate" by default) instead
  of the teacher's separate reflection pads ("reflect", the teacher's own, is there too: it brings
  the band along the frame's edges closer to the teacher, docs/teacher.md). The zoo's first
  students padded with zeros inside each convolution (cards without these fields read so): the
  residual blocks' zero padding paints a blot in the top left corner of every frame, and that of
  the convolutions outside them lines a few pixels in from the top and left edges (the stride-2
  convolutions see their padding on those two sides only). A Pad before each convolution costs
  time; ``ExportedStudent`` runs the two upsampling convolutions at the low size, where their Pads
  are a quarter of the size (docs/teacher.md measures both).

It starts as the teacher with those cuts (``from_teacher``), so distillation fine-tunes a painter
instead of learning one from random weights: on candy, 25 minutes of the same training gave
19.6 dB against the teacher from its weights and 18.7 dB from random ones. Nearest upsampling
followed by a 3x3 convolution repeats nothing with a 2-pixel period, so there is no 2-pixel grid.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn
from torch.nn import functional as F

from rtstyle.models import read_card

TEACHER_BLOCKS = 5
PADDINGS = ("zeros", "replicate", "reflect")


@dataclass(frozen=True)
class StudentConfig:
    """Architecture; stored in the model card and the checkpoint so a student can be rebuilt."""

    blocks: int = 5   # the teacher's first residual blocks kept (of 5; 3 in the zoo's first students)
    k_in: int = 5     # first convolution's kernel (the teacher's is 9)
    k_out: int = 3    # last convolution's kernel (the teacher's is 9)
    block_padding: str = "replicate"  # the residual blocks' convolutions: "zeros" or "replicate"
    outer_padding: str = "replicate"  # the convolutions before and after the blocks: "zeros" or "replicate"

    def __post_init__(self) -> None:
        if not 0 <= self.blocks <= TEACHER_BLOCKS or self.k_in % 2 == 0 or self.k_out % 2 == 0 \
                or not 1 <= self.k_in <= 9 or not 1 <= self.k_out <= 9 \
                or self.block_padding not in PADDINGS or self.outer_padding not in PADDINGS:
            raise ValueError(f"no such student: {self}")

    def to_dict(self) -> dict:
        return {"blocks": self.blocks, "k_in": self.k_in, "k_out": self.k_out, "block_padding": self.block_padding,
                "outer_padding": self.outer_padding}

    @classmethod
    def from_dict(cls, d: dict) -> "StudentConfig":
        # cards written before a padding field existed are zero-padded there
        return cls(int(d["blocks"]), int(d["k_in"]), int(d["k_out"]), str(d.get("block_padding", "zeros")),
                   str(d.get("outer_padding", "zeros")))

    stride = 4  # input sides must be multiples of this

    def describe(self) -> str:
        return (f"distilled student in the teacher's layout: {self.k_in}x{self.k_in} conv (8 channels), two stride-2 "
                f"convs (16, 32), {self.blocks} residual blocks ({self.block_padding} padding) with instance norm at 1/4 "
                f"size, two nearest-upsample + 3x3 convs (16, 8), {self.k_out}x{self.k_out} conv to RGB, sigmoid "
                f"({self.outer_padding} padding outside the blocks); initialised from the teacher")


def conv(cin: int, cout: int, k: int, stride: int = 1, padding: str = "zeros") -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride, padding=k // 2, padding_mode=padding)


class Norm(nn.Module):
    """Instance norm with a per-channel scale and shift (the teacher's come from the style vector)."""

    def __init__(self, c: int):
        super().__init__()
        self.scale, self.shift = nn.Parameter(torch.ones(c)), nn.Parameter(torch.zeros(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.instance_norm(x, weight=self.scale, bias=self.shift, eps=1e-5)


class Block(nn.Module):
    def __init__(self, c: int = 32, padding: str = "zeros"):
        super().__init__()
        self.conv1, self.norm1 = conv(c, c, 3, padding=padding), Norm(c)
        self.conv2, self.norm2 = conv(c, c, 3, padding=padding), Norm(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.norm2(self.conv2(F.relu(self.norm1(self.conv1(x)))))


class Student(nn.Module):
    """RGB [0, 1] NCHW -> stylized RGB [0, 1], same size (sides multiples of 4)."""

    def __init__(self, cfg: StudentConfig = StudentConfig()):
        super().__init__()
        self.cfg = cfg
        pad = cfg.outer_padding
        self.contract = nn.ModuleList([conv(3, 8, cfg.k_in, padding=pad), conv(8, 16, 3, 2, pad),
                                       conv(16, 32, 3, 2, pad)])
        self.blocks = nn.Sequential(*[Block(padding=cfg.block_padding) for _ in range(cfg.blocks)])
        self.expand = nn.ModuleList([conv(32, 16, 3, padding=pad), conv(16, 8, 3, padding=pad),
                                     conv(8, 3, cfg.k_out, padding=pad)])
        self.norms = nn.ModuleList([Norm(16), Norm(8), Norm(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for c in self.contract:
            h = F.relu(c(h))
        h = self.blocks(h)
        for c, n in zip(self.expand[:2], self.norms[:2]):
            h = F.relu(n(c(self._up(h))))
        return torch.sigmoid(self.norms[2](self.expand[2](h)))

    def _up(self, h: torch.Tensor) -> torch.Tensor:
        return F.interpolate(h, scale_factor=2.0, mode="nearest")


# Nearest upsampling x2 then a 3x3 convolution is, exactly, a 3x3 convolution at the low size to four
# times the channels (one set per output pixel's position in its 2x2 cell) then depth-to-space: each
# row (column) of the high-size kernel lands on the low-size tap of the row (column) it reads.
_TAPS = torch.tensor([[[1., 0, 0], [0, 1, 1], [0, 0, 0]],   # even output rows: low taps (-1, 0, +1)
                      [[0., 0, 0], [1, 1, 0], [0, 0, 1]]])  # odd output rows


def to_low_size(w: torch.Tensor) -> torch.Tensor:
    """(O, C, 3, 3) kernel after a nearest x2 upsampling -> (4 O, C, 3, 3) at the low size, output channel
    o * 4 + 2 * row parity + column parity (pixel_shuffle's and ONNX DepthToSpace CRD's order)."""
    return torch.einsum("arh,bsw,ochw->oabcrs", _TAPS, _TAPS, w).reshape(-1, *w.shape[1:])


def from_low_size(k: torch.Tensor) -> torch.Tensor:
    """The inverse of ``to_low_size`` (least squares, exact to float rounding)."""
    m = to_low_size(torch.eye(9).reshape(9, 1, 3, 3)).reshape(9, 4, 9).permute(1, 2, 0).reshape(36, 9).double()
    o, c = k.shape[0] // 4, k.shape[1]
    flat = k.double().reshape(o, 4, c, 9).permute(0, 2, 1, 3).reshape(o, c, 36)
    return (flat @ torch.linalg.pinv(m).T).reshape(o, c, 3, 3).float()


class LowSizeUp(nn.Module):
    """``conv(upsample_nearest_x2(x))`` computed at the low size: the same function, without the
    upsampled copy of the input and with the padding done at the low size, which matters most when
    that padding is a Pad (replicate) of the whole map (docs/teacher.md measures it)."""

    def __init__(self, c: nn.Conv2d):
        super().__init__()
        # Reflecting a nearest-upsampled map by one pixel repeats its edge pixel: at the low size, replication.
        self.padding = "replicate" if c.padding_mode == "reflect" else c.padding_mode
        self.weight = nn.Parameter(to_low_size(c.weight.detach()))
        self.bias = nn.Parameter(c.bias.detach().repeat_interleave(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == "zeros":
            return F.pixel_shuffle(F.conv2d(x, self.weight, self.bias, padding=1), 2)
        return F.pixel_shuffle(F.conv2d(F.pad(x, (1, 1, 1, 1), mode=self.padding), self.weight, self.bias), 2)


class ExportedStudent(Student):
    """What tools.distil.export writes: a copy of the student with its two upsampling convolutions at the
    low size (LowSizeUp). Its parameters keep the student's names, so ``from_file`` reads them back."""

    def __init__(self, net: Student):
        super().__init__(net.cfg)
        self.load_state_dict(net.state_dict())
        self.expand[0], self.expand[1] = LowSizeUp(self.expand[0]), LowSizeUp(self.expand[1])

    def _up(self, h: torch.Tensor) -> torch.Tensor:
        return h  # LowSizeUp upsamples


def _centre(w: np.ndarray, k: int) -> torch.Tensor:
    c = (w.shape[-1] - k) // 2
    return torch.tensor(w[..., c:c + k, c:c + k])


def from_teacher(cfg: StudentConfig, baked: onnx.ModelProto) -> Student:
    """A student whose weights are the teacher's, cut as ``cfg`` says.

    ``baked`` is the float teacher with its style vector as an initializer (tools.bake.bake):
    the norms' scale and shift are the style vector through the teacher's 1x1 convolutions."""
    t = {i.name: numpy_helper.to_array(i) for i in baked.graph.initializer}
    vector = t["style_vector"].reshape(-1)

    def style(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        pre = f"style_params/transformer/{name}/StyleNorm/"
        scale, shift = (t[pre + f"{c}/weights_dequant"][:, :, 0, 0] @ vector + t[pre + f"{c}/Conv2D_bias_dequant"]
                        for c in ("Conv_1", "Conv"))
        return torch.from_numpy(scale.astype(np.float32)), torch.from_numpy(shift.astype(np.float32))

    def put(c: nn.Conv2d, name: str, norm: Norm | None = None) -> None:
        c.weight.copy_(_centre(t[f"transformer/{name}/weights_dequant"], c.kernel_size[0]))
        bias = t.get(f"transformer/{name}/Conv2D_bias_dequant")  # the residual convs have none
        c.bias.copy_(torch.tensor(bias) if bias is not None else torch.zeros_like(c.bias))
        if norm is not None:
            scale, shift = style(name)
            norm.scale.copy_(scale)
            norm.shift.copy_(shift)

    net = Student(cfg)
    with torch.no_grad():
        for i, c in enumerate(net.contract):
            put(c, f"contract/conv{i + 1}")
        for i, b in enumerate(net.blocks):
            put(b.conv1, f"residual/residual{i + 1}/conv1", b.norm1)
            put(b.conv2, f"residual/residual{i + 1}/conv2", b.norm2)
        for i, (c, n) in enumerate(zip(net.expand, net.norms)):
            put(c, f"expand/conv{i + 1}/conv", n)
    return net


def from_file(path: str | Path) -> Student:
    """A student exported by tools.distil.export, back as a torch module, to train on from where it
    stopped (a run folder's checkpoint may be gone; the model file is kept): its card gives the
    shape, and the file's initializers are named as the module's parameters."""
    net = Student(StudentConfig.from_dict(read_card(path).info["net"]))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in onnx.load(str(path)).graph.initializer}
    for i in (0, 1):  # ExportedStudent's low-size kernels back to the student's (older files hold those)
        w, b = f"expand.{i}.weight", f"expand.{i}.bias"
        if weights[w].shape[0] == 4 * net.expand[i].out_channels:
            weights[w], weights[b] = from_low_size(weights[w]), weights[b][::4].clone()
    net.load_state_dict({k: weights[k] for k in net.state_dict()})
    return net


def teacher_from_file(path: str | Path) -> Student:
    """A quality-tier file (the baked teacher) as a torch module (eager-mode baselines): the uncut
    layout, five blocks and 9x9 kernels, with the teacher's reflection padding: the file's function to
    float rounding (benchmarks/baselines.py prints the difference)."""
    return from_teacher(StudentConfig(TEACHER_BLOCKS, 9, 9, "reflect", "reflect"), onnx.load(str(path)))


def shape_for(start: str | Path | None, **asked: int | str | None) -> StudentConfig:
    """The shape of the student a run trains: each field as asked (None: not asked), else the start
    file's (training a student on must not quietly grow it or undo its padding), else the defaults."""
    was = StudentConfig.from_dict(read_card(start).info["net"]) if start else StudentConfig()
    return replace(was, **{k: v for k, v in asked.items() if v is not None})


def grow(net: Student, cfg: StudentConfig, baked: onnx.ModelProto) -> Student:
    """``net`` grown into the larger shape ``cfg``, painting exactly as ``net`` does if the padding is the same.

    A trained student need not start again to get more: each new residual block is the teacher's,
    with its last norm's scale and shift at zero, and a larger first or last kernel is the trained
    one with a ring of zeros around it, so nothing new adds anything until training moves it. Another
    padding changes only the frame's edges, and training fits the weights to it."""
    if cfg.blocks < net.cfg.blocks or cfg.k_in < net.cfg.k_in or cfg.k_out < net.cfg.k_out:
        raise ValueError(f"cannot grow {net.cfg} into {cfg}")
    big = from_teacher(cfg, baked)
    state = dict(net.state_dict())
    for name, k in (("contract.0.weight", cfg.k_in), ("expand.2.weight", cfg.k_out)):
        pad = (k - state[name].shape[-1]) // 2
        state[name] = F.pad(state[name], (pad, pad, pad, pad))
    big.load_state_dict(state, strict=False)
    with torch.no_grad():
        for b in big.blocks[net.cfg.blocks:]:
            b.norm2.scale.zero_()
            b.norm2.shift.zero_()
    return big


def macs_per_pixel(cfg: StudentConfig) -> int:
    """Multiply-accumulates per input pixel, counted from the layer shapes."""
    full, half, quarter = 1.0, 0.25, 1 / 16
    total = (full * 3 * 8 * cfg.k_in ** 2 + half * 8 * 16 * 9 + quarter * 16 * 32 * 9    # contract
             + quarter * cfg.blocks * 2 * 32 * 32 * 9                                    # residual blocks
             + half * 32 * 16 * 9 + full * 16 * 8 * 9 + full * 8 * 3 * cfg.k_out ** 2)  # expand
    return int(round(total))
