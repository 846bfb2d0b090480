"""tools/magenta_models.py: the graph edits that turned the converted Magenta files into rtstyle models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from rtstyle.models import find_model
from tools.magenta_models import macs_per_pixel, make_dynamic, rename


def test_fixed_size_graph_becomes_dynamic_and_renamed(tmp_path: Path):
    w = numpy_helper.from_array(np.random.default_rng(0).random((3, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Transpose", ["in:0"], ["t"], perm=[0, 3, 1, 2]),
         helper.make_node("Conv", ["t", "w"], ["c"], pads=[1, 1, 1, 1]),
         helper.make_node("Transpose", ["c"], ["out/Sigmoid"], perm=[0, 2, 3, 1])], "fixed",
        [helper.make_tensor_value_info("in:0", TensorProto.FLOAT, [1, 384, 384, 3])],
        [helper.make_tensor_value_info("out/Sigmoid", TensorProto.FLOAT, [1, 384, 384, 3])], [w])
    model = onnx.shape_inference.infer_shapes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert model.graph.value_info  # inferred 384x384 shapes that must not survive
    rename(model, {"in:0": "image", "out/Sigmoid": "stylized"})
    make_dynamic(model, ["image", "stylized"], {1: "height", 2: "width"})
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(["stylized"], {"image": np.ones((1, 90, 160, 3), np.float32)})[0]
    assert y.shape == (1, 90, 160, 3)
    assert macs_per_pixel(model, [1, 64, 64, 3]) == 3 * 3 * 3 * 3


def test_shipped_cards_match_their_graphs():
    for name, probe in [("multistyle26", [1, 3, 256, 256]), ("arbitrary", [1, 256, 256, 3])]:
        card = find_model(name)
        model = onnx.load(str(card.path))
        assert card.info["macs_per_pixel"] == macs_per_pixel(model, probe)
        dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
        assert dims == ([1, 3, "h", "w"] if name == "multistyle26" else [1, "height", "width", 3])
    fused = onnx.load(str(find_model("multistyle26").path))
    assert sum(n.op_type == "InstanceNormalization" for n in fused.graph.node) == 18
    assert not any(n.op_type in ("Pow", "Sqrt") for n in fused.graph.node)
