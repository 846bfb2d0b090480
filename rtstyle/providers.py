"""Execution providers: which ones to ask ONNX Runtime for, their options, and why one is unusable.

Preference is TensorRT -> CUDA -> OpenVINO -> CPU. OpenVINO runs on the CPU too, and on
CPUs with bfloat16 instructions (AMX, AVX512-BF16) its ``bf16`` precision is several times
faster than ORT's own CPU kernels (docs/performance.md). ORT silently drops a GPU provider
whose shared libraries fail to load, so to say *why* the provider library is loaded once
with ctypes, whose error names the missing dependency (say ``libcudnn.so.9``).
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnxruntime as ort

from rtstyle.errors import ModelError

TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"
PREFERENCE = (TENSORRT, CUDA, OPENVINO, CPU)
GPU = (TENSORRT, CUDA)
ALIASES = {"tensorrt": TENSORRT, "trt": TENSORRT, "cuda": CUDA, "openvino": OPENVINO, "ov": OPENVINO, "cpu": CPU}
SHORT = {TENSORRT: "TensorRT", CUDA: "CUDA", OPENVINO: "OpenVINO", CPU: "CPU"}
_LIBRARY = {TENSORRT: "tensorrt", CUDA: "cuda"}
GPU_INSTALL = "pip install 'rtstyle[gpu]', then keep only onnxruntime-gpu (see docs/performance.md)"
OPENVINO_INSTALL = "pip install 'rtstyle[openvino]', then keep only onnxruntime-openvino (see docs/performance.md)"
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # CPU instructions that make bfloat16 fast


def resolve(wanted: str | list[str]) -> list[str]:
    """Provider names for ``auto``, one alias (it and the ones below it), or an explicit comma list."""
    if wanted == "auto":
        return list(PREFERENCE)
    items = wanted.split(",") if isinstance(wanted, str) else wanted
    names = [ALIASES.get(w.strip().lower(), w.strip()) for w in items]
    unknown = [n for n in names if n not in PREFERENCE]
    if unknown:
        raise ModelError(f"unknown provider {unknown[0]} (choose from auto, tensorrt, cuda, openvino, cpu)")
    if len(names) == 1:  # "tensorrt" falls back to CUDA, then CPU
        return list(PREFERENCE[PREFERENCE.index(names[0]):])
    return [*names, CPU]


def choose_providers(wanted: str | list[str] = "auto", available: list[str] | None = None) -> list[str]:
    """Ordered providers to ask ORT for, limited to those the installed build has; always ends with CPU.

    A GPU choice degrades to a working CPU session instead of an error.
    """
    available = available if available is not None else ort.get_available_providers()
    chosen = [n for n in dict.fromkeys(resolve(wanted)) if n in available]
    return chosen if CPU in chosen else [*chosen, CPU]


def unavailable_reason(provider: str, available: list[str] | None = None) -> str | None:
    """Why ``provider`` cannot run here, as far as can be told without a session; None if it may."""
    if provider == CPU:
        return None
    available = available if available is not None else ort.get_available_providers()
    if provider not in available:
        install = OPENVINO_INSTALL if provider == OPENVINO else GPU_INSTALL
        return f"this onnxruntime build ({ort.__version__}) has no {SHORT[provider]} provider; {install}"
    if provider not in _LIBRARY:
        return None
    capi = Path(ort.__file__).parent / "capi"
    preload_gpu_libraries()
    try:
        ctypes.CDLL(str(capi / "libonnxruntime_providers_shared.so"), mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(str(capi / f"libonnxruntime_providers_{_LIBRARY[provider]}.so"))
    except OSError as e:
        return f"its libraries failed to load ({str(e).strip().splitlines()[0][:200]})"
    return None


@cache
def preload_gpu_libraries() -> None:
    """Load CUDA and cuDNN from the nvidia-* wheels of ``rtstyle[gpu]``, which the dynamic loader
    does not search by itself; quiet, because a missing library is reported by ``unavailable_reason``."""
    if hasattr(ort, "preload_dlls"):
        with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(Exception):
            ort.preload_dlls()


def cpu_has_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (Linux: /proc/cpuinfo); without them OpenVINO's
    bf16 runs no faster than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return any(f in flags for f in BF16_FLAGS)


def openvino_options(threads: int | None, precision: str) -> dict[str, str]:
    """OpenVINO provider options: the CPU device, its threads, and the precision it computes in
    (``bf16``, else float32 even where OpenVINO would pick bf16 by itself)."""
    hint = {"CPU": {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}}
    return {"device_type": "CPU", "load_config": json.dumps(hint), **({"num_of_threads": str(threads)} if threads else {})}


def cache_dir() -> Path:
    """Per-user cache (TensorRT engines and timing caches): ``$XDG_CACHE_HOME/rtstyle``."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rtstyle"


@dataclass(frozen=True)
class GpuOptions:
    """GPU provider settings; the defaults suit video, where every frame has the same size."""

    device_id: int = 0
    # Frame size is fixed for a whole video: pay the exhaustive search once, keep the fastest.
    cudnn_conv_algo_search: str = "EXHAUSTIVE"
    # TF32 convolutions on Ampere and later: near-fp32 accuracy for image nets, several times faster.
    tf32: bool = True
    fp16: bool = False          # TensorRT builds an fp16 engine (the model file stays fp32)
    cuda_graph: bool = False    # replay one captured graph per frame; needs a fixed frame size
    cache: Path | None = None   # TensorRT engine and timing caches; default cache_dir()/tensorrt

    def options(self, provider: str, input_name: str = "image",
                shape: tuple[int, ...] | None = None) -> dict[str, str]:
        """ORT provider options for ``provider``; ``shape`` (the padded input tensor) fixes TensorRT's profile."""
        if provider == CUDA:
            if self.cudnn_conv_algo_search not in ("EXHAUSTIVE", "HEURISTIC", "DEFAULT"):
                raise ModelError(f"cudnn_conv_algo_search must be EXHAUSTIVE, HEURISTIC or DEFAULT, "
                                 f"not {self.cudnn_conv_algo_search}")
            return {"device_id": str(self.device_id), "cudnn_conv_algo_search": self.cudnn_conv_algo_search,
                    "use_tf32": str(int(self.tf32)), "enable_cuda_graph": str(int(self.cuda_graph))}
        if provider == TENSORRT:
            cache = str(self.cache or cache_dir() / "tensorrt")
            opts = {"device_id": str(self.device_id), "trt_fp16_enable": str(self.fp16).lower(),
                    "trt_engine_cache_enable": "true", "trt_engine_cache_path": cache,
                    "trt_timing_cache_enable": "true", "trt_timing_cache_path": cache,
                    "trt_cuda_graph_enable": str(self.cuda_graph).lower()}
            if shape:
                # One frame size per video: min = opt = max gives the tightest engine.
                dims = f"{input_name}:{'x'.join(str(d) for d in shape)}"
                opts.update(trt_profile_min_shapes=dims, trt_profile_opt_shapes=dims, trt_profile_max_shapes=dims)
            return opts
        return {}
