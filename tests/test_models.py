"""Model loading: provider choice and model cards (files that are not style models: tests/test_robust.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

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
