"""GPU path: provider options, fallback reasons, fp16 conversion, IO binding, int8 variants.

Everything here runs on a CPU-only machine except the tests marked ``gpu``, which need
onnxruntime-gpu and an NVIDIA GPU and skip (saying so) elsewhere; tools/device_check.sh
runs them on a GPU machine.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from rtstyle import bench
from rtstyle.engine import Engine
from rtstyle.errors import ModelError
from rtstyle.models import cache_dir, read_card
from rtstyle.precision import to_fp16
from rtstyle.providers import CPU, CUDA, OPENVINO, PREFERENCE, TENSORRT, GpuOptions, unavailable_reason

HAS_CUDA = CUDA in ort.get_available_providers()
gpu = pytest.mark.skipif(not HAS_CUDA, reason="needs onnxruntime-gpu and an NVIDIA GPU "
                                              "(run tools/device_check.sh on a GPU machine)")


def frame_tensor(height: int = 64, width: int = 96, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.random((1, 3, height, width), dtype=np.float32)


def test_cuda_options_are_sensible():
    opts = GpuOptions(device_id=1).options(CUDA)
    assert opts == {"device_id": "1", "cudnn_conv_algo_search": "EXHAUSTIVE", "use_tf32": "1",
                    "enable_cuda_graph": "0"}
    assert GpuOptions(tf32=False).options(CUDA)["use_tf32"] == "0"
    with pytest.raises(ModelError, match="cudnn_conv_algo_search"):
        GpuOptions(cudnn_conv_algo_search="FASTEST").options(CUDA)
    assert GpuOptions().options(CPU) == {}


def test_tensorrt_options_cache_in_user_folder_and_fix_the_profile(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    opts = GpuOptions(fp16=True).options(TENSORRT, "image", (1, 3, 720, 1280))
    assert cache_dir() == tmp_path / "rtstyle"
    assert opts["trt_engine_cache_path"] == opts["trt_timing_cache_path"] == str(tmp_path / "rtstyle" / "tensorrt")
    assert opts["trt_fp16_enable"] == "true" and opts["trt_engine_cache_enable"] == "true"
    assert opts["trt_profile_min_shapes"] == opts["trt_profile_opt_shapes"] == opts["trt_profile_max_shapes"] \
        == "image:1x3x720x1280"
    assert "trt_profile_min_shapes" not in GpuOptions().options(TENSORRT)  # size unknown: TensorRT decides


def test_unavailable_reasons_name_the_cause():
    assert unavailable_reason(CPU) is None
    assert "no CUDA provider" in unavailable_reason(CUDA, available=[CPU])
    if not HAS_CUDA:
        # A build that claims CUDA but lacks its library: the loader's own message comes through.
        reason = unavailable_reason(CUDA, available=[CUDA, CPU])
        assert reason.startswith("its libraries failed to load (") and "providers_cuda" in reason


def test_engine_fallback_note_and_fp16_refusal_on_cpu(tiny_model: Path):
    if HAS_CUDA:
        pytest.skip("this machine has CUDA: the fallback cannot be seen here")
    engine = Engine(tiny_model, providers="tensorrt", threads=1)
    assert engine.provider == CPU and engine.fallback_note.startswith("TensorRT not used: ")
    assert Engine(tiny_model, providers="auto", threads=1).fallback_note is None  # nothing better was built in
    with pytest.raises(ModelError, match="fp16 needs a GPU provider"):
        Engine(tiny_model, providers="cpu", precision="fp16")
    with pytest.raises(ModelError, match="unknown precision"):
        Engine(tiny_model, precision="int4")


def test_io_binding_gives_the_plain_result_and_owns_its_output(tiny_model: Path):
    plain = Engine(tiny_model, providers="cpu", threads=1)
    bound = Engine(tiny_model, providers="cpu", threads=1, io_binding=True)
    assert not plain.io_binding and bound.io_binding
    a, b = frame_tensor(), frame_tensor(seed=2)
    ya = bound.run(a)
    yb = bound.run(b)  # same size: the bound buffers are reused
    np.testing.assert_allclose(ya, plain.run(a), atol=1e-6)
    np.testing.assert_allclose(yb, plain.run(b), atol=1e-6)
    assert not np.allclose(ya, yb)  # the first result was not overwritten by the second frame
    np.testing.assert_allclose(bound.run(frame_tensor(32, 48)), plain.run(frame_tensor(32, 48)), atol=1e-6)


def test_fp16_conversion_keeps_float32_io_and_instance_norm(tiny_model: Path):
    model16 = onnx.load_from_string(to_fp16(tiny_model))
    f32 = onnx.TensorProto.FLOAT
    assert model16.graph.input[0].type.tensor_type.elem_type == f32
    assert model16.graph.output[0].type.tensor_type.elem_type == f32
    convs = [i for i in model16.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
    assert convs, "weights were not converted"
    # CPU has no fp16 kernels, so this measures the conversion (weights rounded to fp16), not fp16 arithmetic.
    x = frame_tensor()
    ref = Engine(tiny_model, providers="cpu", threads=1).run(x)
    got = ort.InferenceSession(model16.SerializeToString(), providers=[CPU]).run(None, {"image": x})[0]
    assert got.dtype == np.float32 and np.abs(got - ref).max() < 2e-3
    norms = [n for n in model16.graph.node if n.op_type == "InstanceNormalization"]
    names = {i.name: i.data_type for i in model16.graph.initializer}
    assert norms and all(names.get(n.input[1], f32) == f32 for n in norms)


def test_int8_variant_is_found_and_close_to_fp32(tiny_model: Path, data: Path, tmp_path: Path):
    from tools.quantize import quantize, video_frames
    picked = video_frames(data / "walk_tone.mp4", 96, 64, 8)
    info = quantize(tiny_model, tmp_path / "tiny_int8.onnx", picked[0::2], picked[1::2])
    card = read_card(tmp_path / "tiny_int8.onnx")
    assert card.name == "tiny_int8" and card.info["precision"] == "int8" and card.info["base_model"] == "tiny"
    assert info["quantization"]["psnr_vs_fp32_db"] > 25
    qdq = {n.op_type for n in onnx.load(str(tmp_path / "tiny_int8.onnx")).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= qdq
    r = bench.run_case(bench.Case(str(tiny_model), 96, 64, "cpu", "int8", threads=1), 0, 2, models=[card])
    assert r.skipped is None and r.frames == 2


@pytest.fixture(scope="module")
def fast_model(data: Path) -> Path:
    """Committed (tools/make_test_data.py), so a GPU machine without torch can run these."""
    return data / "fast_random.onnx"


@gpu
def test_cuda_matches_cpu_and_binds_on_device(fast_model: Path):
    x = frame_tensor(360, 640)
    ref = Engine(fast_model, providers="cpu").run(x)
    engine = Engine(fast_model, providers="cuda", shape=x.shape)
    assert engine.provider == CUDA and engine.io_binding and engine.device == "cuda", engine.fallback_note
    np.testing.assert_allclose(engine.run(x), ref, atol=1e-2)  # TF32 convolutions


@gpu
def test_cuda_fp16_is_close_to_fp32(fast_model: Path):
    x = frame_tensor(360, 640)
    ref = Engine(fast_model, providers="cpu").run(x)
    got = Engine(fast_model, providers="cuda", precision="fp16").run(x)
    assert np.isfinite(got).all() and np.abs(got - ref).max() < 5e-2


@gpu
def test_tensorrt_fp16_runs_or_says_why(fast_model: Path, tmp_path: Path):
    x = frame_tensor(360, 640)
    engine = Engine(fast_model, providers="tensorrt", precision="fp16", shape=x.shape,
                    gpu=GpuOptions(cache=tmp_path / "trt"))
    if engine.provider != TENSORRT:
        pytest.skip(f"TensorRT unusable here: {engine.fallback_note}")
    ref = Engine(fast_model, providers="cpu").run(x)
    assert np.abs(engine.run(x) - ref).max() < 2e-2
    assert any((tmp_path / "trt").iterdir())  # engine cached for the next start


def test_engine_asks_onnx_runtime_for_every_provider_it_has(tiny_model: Path, monkeypatch):
    """With a build that lists every provider (a fake list; the sessions really run on the CPU),
    ``auto`` asks for all of them, best first and each with its own options, and a named one
    for it and those below it: an engine built with the CPU provider only is caught here."""
    real, asked = ort.InferenceSession, []

    def session(model, options=None, providers=None, **kw):
        asked.append(providers)
        return real(model, options, providers=[CPU], **kw)

    monkeypatch.setattr(ort, "get_available_providers", lambda: list(PREFERENCE))
    monkeypatch.setattr(ort, "InferenceSession", session)
    engine = Engine(tiny_model, threads=1)
    names = [p for p, _ in asked[-1]]
    assert names == [TENSORRT, CUDA, OPENVINO, CPU] and engine.requested == names
    options = dict(asked[-1])
    assert options[CUDA]["cudnn_conv_algo_search"] == "EXHAUSTIVE" and options[OPENVINO]["device_type"] == "CPU"
    Engine(tiny_model, providers="cuda", threads=1)
    assert [p for p, _ in asked[-1]] == [CUDA, OPENVINO, CPU]
