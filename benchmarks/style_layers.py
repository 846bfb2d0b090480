"""Where a student's style loss gap lies: the quality report's style loss, layer by layer.

The report's style loss (tools.losses: MSE between the Gram matrices of VGG16's relu1_2,
relu2_2, relu3_3 and relu4_3 features of the output and of the painting, photos at the report's
384 px) is a sum; this prints each layer's term for each model as a ratio to the teacher's (the
int8 ``arbitrary`` network with the style's vector and knobs), on the report's photos. The
students trained without a Gram term were furthest on relu2_2, which tools.distil's Gram term
therefore matches (docs/teacher.md).

    python -m benchmarks.style_layers --styles PAINTINGS feathers models/feathers_fast.onnx DIR/feathers_fast.onnx
"""
from __future__ import annotations

import numpy as np
import torch

from rtstyle.sources import read_image
from rtstyle.stylizer import Stylizer
from rtstyle.teacher import Vectors, teacher
from tools.losses import STYLE_LAYERS, PerceptualLoss, fit, to_rgb01
from tools.quality_report import HERE, REFERENCE, pictures_in, scorer
from tools.vgg import VGG16Features
from tools.zoo import BY_NAME

from .common import student_args


def layer_losses(loss: PerceptualLoss, outputs: list[np.ndarray]) -> dict[str, float]:
    """Mean over ``outputs`` of each style layer's term of the report's style loss."""
    sums = dict.fromkeys(STYLE_LAYERS, 0.0)
    with torch.no_grad():
        for y in outputs:
            for k, v in loss.style_terms(loss.vgg(to_rgb01(y))).items():
                sums[k] += float(v)
    return {k: v / len(outputs) for k, v in sums.items()}


def main() -> None:
    a = student_args(__doc__)
    torch.set_num_threads(a.threads)
    s = BY_NAME[a.style]
    painting = read_image(a.styles / s.picture)
    photos = [fit(read_image(p), REFERENCE.size) for p in pictures_in(HERE / "photos")]
    photos = [x[:x.shape[0] // 4 * 4, :x.shape[1] // 4 * 4] for x in photos]  # the teacher's stride
    loss = scorer(VGG16Features(STYLE_LAYERS), painting, REFERENCE)  # the report's own objective
    paint = teacher(Vectors(a.threads)(painting, s.knobs), a.threads)
    base = layer_losses(loss, [paint(x) for x in photos])
    print(f"{a.style}: {len(photos)} photos at {REFERENCE.size} px; style loss per layer, as a ratio to the teacher's")
    print(f"  {'teacher (absolute)':<48}" + "".join(f"{k} {v:9.3g}  " for k, v in base.items()))
    for m in a.models:
        stylize = Stylizer(m, providers="cpu", threads=a.threads)
        losses = layer_losses(loss, [stylize(x) for x in photos])
        ratio = sum(losses.values()) / sum(base.values())
        print(f"  {m:<48}" + "".join(f"{k} {losses[k] / base[k]:9.2f}  " for k in STYLE_LAYERS)
              + f"sum {ratio:.2f}")


if __name__ == "__main__":
    main()
