"""Bake the quality tier: the arbitrary transformer with one painting's style vector folded in.

Each named style's ``quality`` model is Magenta's arbitrary transformer (``models/arbitrary.onnx``)
with the style vector of its painting (under the knobs of tools/zoo.py) as a constant, so it
has the contract of every other style model: one ``image`` input [1,3,H,W] RGB 0-1, one
``stylized`` output. The int8 QDQ graph is dequantized to float32 on the way (weights
folded, activation fake-quantization removed), so the fp16 (CUDA/TensorRT) and bf16
(OpenVINO) paths can convert it. The photo vector that ``style_weight`` < 1 blends in is the
mean style vector of the default content set (rtstyle/content).

    python -m tools.bake --styles ../shared/data/styles --out models [--only wave candy]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from rtstyle.models import find_model
from rtstyle.teacher import ARBITRARY, PREDICTOR, Knobs, Vectors, read_painting

from .magenta_models import ARBITRARY_CREDIT, LICENCE, SOURCE, keep_needed, macs_per_pixel
from .zoo import BY_NAME, ZOO

LAYOUT_OPS = {"Reshape", "Transpose", "Pad"}  # ops the int8 graph runs on quantized tensors unchanged


def dequantize(model: onnx.ModelProto) -> tuple[int, int]:
    """Float32 in place of int8 QDQ: constant weights are dequantized into float initializers;
    each activation's Quantize -> (layout ops) -> Dequantize chain keeps only its layout ops,
    now on floats. Returns (weights folded, activation chains removed)."""
    graph = model.graph
    init = {t.name: t for t in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    rename: dict[str, str] = {}
    drop: set[int] = set()
    new_inits = []
    folded = chains = 0
    for node in graph.node:
        if node.op_type != "DequantizeLinear":
            continue
        x = node.input[0]
        if x in init:
            q = numpy_helper.to_array(init[x]).astype(np.float32)
            scale = numpy_helper.to_array(init[node.input[1]]).astype(np.float32)
            zero = (numpy_helper.to_array(init[node.input[2]]).astype(np.float32)
                    if len(node.input) > 2 and node.input[2] else np.zeros_like(scale))
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
            if scale.ndim == 1 and q.ndim > 0:
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape)
            new_inits.append(numpy_helper.from_array((q - zero) * scale, node.output[0]))
            drop.add(id(node))
            folded += 1
            continue
        layout, src = [], producer.get(x)
        while src is not None and src.op_type in LAYOUT_OPS:
            layout.append(src)
            src = producer.get(src.input[0])
        if src is None or src.op_type != "QuantizeLinear":
            raise ValueError(f"{node.name}: dequantizes something that is not a quantized activation")
        if layout:
            layout[-1].input[0] = src.input[0]  # the first layout op now reads the float tensor
            rename[node.output[0]] = x
        else:
            rename[node.output[0]] = src.input[0]
        drop.add(id(node))
        chains += 1
    nodes = [n for n in graph.node if id(n) not in drop]
    for n in nodes:
        n.input[:] = [rename.get(i, i) for i in n.input]
    for o in graph.output:
        o.name = rename.get(o.name, o.name)
    keep_needed(graph, nodes)  # the Quantize ops are left with no reader
    graph.initializer.extend(new_inits)
    used = {i for n in graph.node for i in n.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return folded, chains


def bake(vector: np.ndarray) -> onnx.ModelProto:
    """The arbitrary transformer as a single-style NCHW float32 model painting ``vector``."""
    model = onnx.load(str(find_model(ARBITRARY).path))
    del model.metadata_props[:]
    graph = model.graph
    image, vec_input = graph.input[0], graph.input[1]
    graph.initializer.append(numpy_helper.from_array(vector.reshape(1, 1, 1, -1).astype(np.float32), vec_input.name))
    dequantize(model)
    # NCHW outside, NHWC inside: one Transpose each way around the original graph.
    image.name, out = "image_nhwc", graph.output[0]
    for n in graph.node:
        n.input[:] = ["image_nhwc" if i == "image" else i for i in n.input]
        n.output[:] = ["stylized_nhwc" if o == out.name else o for o in n.output]
    graph.node.insert(0, helper.make_node("Transpose", ["image"], ["image_nhwc"], perm=[0, 2, 3, 1]))
    graph.node.append(helper.make_node("Transpose", ["stylized_nhwc"], ["stylized"], perm=[0, 3, 1, 2]))
    del graph.input[:]
    del graph.output[:]
    del graph.value_info[:]
    graph.input.append(helper.make_tensor_value_info("image", onnx.TensorProto.FLOAT, [1, 3, "height", "width"]))
    graph.output.append(helper.make_tensor_value_info("stylized", onnx.TensorProto.FLOAT, [1, 3, "height", "width"]))
    onnx.checker.check_model(model)
    return model


def card(name: str, title: str, picture: str, credit: str, status: str, knobs: Knobs, photo_from: str,
         model: onnx.ModelProto, **extra: object) -> dict:
    """Model card of a baked teacher."""
    return {
        "name": name, "title": title, "layout": "NCHW", "value_range": 1.0, "stride": 4, "min_size": 16,
        "size_class": "quality",
        "io": "image [1,3,H,W] float32 RGB 0-1 -> stylized [1,3,H,W] float32 RGB 0-1; H, W multiples of 4",
        "architecture": "Magenta arbitrary stylization transformer (Ghiasi et al. 2017), style vector baked in, "
                        "float32 (dequantized from Magenta's int8)",
        "macs_per_pixel": macs_per_pixel(model, [1, 3, 256, 256]),
        "params": int(sum(np.prod(t.dims) for t in model.graph.initializer)),
        "style_image": picture, "style_credit": credit, "style_status": status,
        "teacher": {"transformer": ARBITRARY, "predictor": PREDICTOR, **knobs.to_dict(),
                    "photo_vector": photo_from if knobs.style_weight < 1 else None},
        "license": LICENCE, "credit": ARBITRARY_CREDIT, "source": SOURCE,
        "derived": "style vector of the painting folded into the transformer as a constant by tools/bake.py",
        **extra,
    }


def write(model: onnx.ModelProto, info: dict, out: Path) -> None:
    del model.metadata_props[:]
    model.metadata_props.add(key="rtstyle", value=json.dumps(info))
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder with the eight paintings")
    ap.add_argument("--out", type=Path, default=Path("models"))
    ap.add_argument("--only", nargs="*", default=None, help="names of styles to bake (default: all eight)")
    a = ap.parse_args()
    vectors = Vectors()
    photo_from = "rtstyle/photo_vector.npy: mean style vector of ordinary photos (rtstyle/teacher.py)"
    for s in [BY_NAME[n] for n in a.only] if a.only else ZOO:
        vector = vectors(read_painting(a.styles / s.picture), s.knobs)
        model = bake(vector)
        write(model, card(s.name, s.title, s.picture, s.credit, s.status, s.knobs, photo_from, model),
              a.out / f"{s.name}.onnx")


if __name__ == "__main__":
    main()
