"""Model loading: provider choice, model cards, and rejection of files that are not style models."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import rtstyle
from rtstyle.engine import Engine, choose_providers
from rtstyle.errors import ModelError, StyleNotFoundError
from rtstyle.models import find_model, list_models

ALL = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


def test_provider_preference_and_fallback():
    assert choose_providers("auto", ALL) == ALL
    assert choose_providers("auto", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert choose_providers("cuda", ALL) == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    # An explicit choice falls back down the preference order: TensorRT -> CUDA -> CPU.
    assert choose_providers("tensorrt", ["CUDAExecutionProvider", "CPUExecutionProvider"]) == \
        ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert choose_providers("cpu,cuda", ALL) == ["CPUExecutionProvider", "CUDAExecutionProvider"]
    with pytest.raises(ModelError, match="unknown provider"):
        choose_providers("tpu", ALL)


def test_engine_reports_provider_and_warms_up(tiny_model: Path):
    engine = Engine(tiny_model, providers="cuda", threads=1)
    assert engine.provider in ALL and engine.provider == engine.providers[0]
    if "CUDAExecutionProvider" not in engine.requested:  # CPU-only onnxruntime: the user is told why
        assert "no CUDA provider" in engine.fallback_note and "rtstyle[gpu]" in engine.fallback_note
    assert engine.warmup(64, 96) > 0


def _save(tmp_path: Path, name: str, nodes, inputs, outputs, inits=()) -> Path:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def test_truncated_model_is_rejected(tiny_model: Path, tmp_path: Path):
    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(tiny_model.read_bytes()[:5000])
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        rtstyle.load_style(bad)


def test_non_image_model_is_rejected(tmp_path: Path):
    path = _save(tmp_path, "vector", [helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])
    with pytest.raises(ModelError, match="not an image model"):
        rtstyle.load_style(path)


def test_wrong_channel_count_is_rejected(tmp_path: Path):
    path = _save(tmp_path, "grey", [helper.make_node("Relu", ["x"], ["y"])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, "h", "w"])])
    with pytest.raises(ModelError, match="not an image model"):
        rtstyle.load_style(path)


def test_model_that_changes_size_is_rejected_on_first_frame(tmp_path: Path):
    path = _save(tmp_path, "half", [helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])],
                 [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
                 [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "h2", "w2"])])
    style = rtstyle.load_style(path)
    with pytest.raises(ModelError, match="keep the image size"):
        style(np.zeros((32, 32, 3), np.uint8))


def test_unknown_style_lists_available(monkeypatch, tiny_model: Path):
    monkeypatch.setenv("RTSTYLE_MODEL_PATH", str(tiny_model.parent))
    with pytest.raises(StyleNotFoundError, match="tiny"):
        find_model("no_such_style")
    assert find_model("tiny").path == tiny_model
    assert "tiny" in [c.name for c in list_models()]


def test_card_records_architecture(tiny_model: Path):
    card = find_model(tiny_model)
    assert card.info["params"] > 0 and card.info["macs_per_pixel"] > 0
    assert card.layout == "NCHW" and card.stride == 4


def test_onnx_matches_pytorch(tmp_path: Path):
    torch = pytest.importorskip("torch")
    from tools.export import export, parity
    from tools.transformer_net import NetConfig, TransformerNet

    torch.manual_seed(1)
    net = TransformerNet(NetConfig((16, 32, 64), 3, depthwise=True))
    path = tmp_path / "dw.onnx"
    export(net, path, {"name": "dw"})
    assert parity(net, path, 180, 320) < 1e-4
    assert parity(net, path, 68, 124) < 1e-4
