"""Execution providers: which ones to ask ONNX Runtime for, their options, and why one is unusable.

One row of :data:`PROVIDERS` per provider (name, options, precisions, install hint);
preference is the table's order, TensorRT -> CUDA -> OpenVINO -> CPU. OpenVINO runs on the CPU too, and on
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
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnxruntime as ort

from rtstyle.errors import ModelError
from rtstyle.models import cache_dir

TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
OPENVINO = "OpenVINOExecutionProvider"
GPU_INSTALL = "pip install 'rtstyle[gpu]', then keep only onnxruntime-gpu (see docs/performance.md)"
OPENVINO_INSTALL = "pip install 'rtstyle[openvino]', then keep only onnxruntime-openvino (see docs/performance.md)"
BF16_FLAGS = ("amx_bf16", "avx512_bf16")  # CPU instructions that make bfloat16 fast


@dataclass(frozen=True)
class Provider:
    """Everything rtstyle knows about one execution provider: adding a provider is one row of
    :data:`PROVIDERS` (and its options function)."""

    name: str                      # ONNX Runtime's name
    short: str                     # for people
    aliases: tuple[str, ...]       # what --provider takes
    precisions: tuple[str, ...]    # what --precision may ask of it
    options: Callable[[GpuOptions, int | None, str, str, tuple[int, ...] | None], dict[str, str]]
    install: str | None = None     # how to get it; None: every onnxruntime build has it
    library: str | None = None     # its shared library, loaded on the side to say why it fails
    gpu: bool = False              # frames live on a GPU: IO binding, one frame at a time

    @property
    def frames_at_once(self) -> bool:
        """Whether a render stylizes several frames at once on it (see rtstyle.pipeline.render_plan).
        GPU engines own one set of device buffers; OpenVINO spreads one frame over the cores itself."""
        return self.name == CPU


def _gpu_options(name: str) -> Callable[..., dict[str, str]]:
    return lambda gpu, threads, precision, input_name, shape: gpu.options(name, input_name, shape)


def _openvino(gpu: GpuOptions, threads: int | None, precision: str, input_name: str,
              shape: tuple[int, ...] | None) -> dict[str, str]:
    return openvino_options(threads, precision)


def _plain(gpu: GpuOptions, threads: int | None, precision: str, input_name: str,
           shape: tuple[int, ...] | None) -> dict[str, str]:
    return {}


def resolve(wanted: str | list[str]) -> list[str]:
    """Provider names for ``auto``, one alias (it and the ones below it), or an explicit comma list."""
    if wanted == "auto":
        return list(PREFERENCE)
    items = wanted.split(",") if isinstance(wanted, str) else wanted
    names = [ALIASES.get(w.strip().lower(), w.strip()) for w in items]
    unknown = [n for n in names if n not in PREFERENCE]
    if unknown:
        raise ModelError(f"unknown provider {unknown[0]} (choose from auto, {', '.join(p.aliases[0] for p in PROVIDERS)})")
    if len(names) == 1:  # "tensorrt" falls back to CUDA, then OpenVINO, then CPU
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
    row = ROWS[provider]
    if provider not in available:
        return f"this onnxruntime build ({ort.__version__}) has no {row.short} provider; {row.install}"
    if row.library is None:
        return None
    capi = Path(ort.__file__).parent / "capi"
    preload_gpu_libraries()
    try:
        ctypes.CDLL(str(capi / "libonnxruntime_providers_shared.so"), mode=ctypes.RTLD_GLOBAL)
        ctypes.CDLL(str(capi / f"libonnxruntime_providers_{row.library}.so"))
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


# In order of preference: ``auto`` takes the first one this onnxruntime build has.
PROVIDERS = (
    Provider(TENSORRT, "TensorRT", ("tensorrt", "trt"), ("fp32", "fp16"), _gpu_options(TENSORRT), GPU_INSTALL,
             "tensorrt", gpu=True),
    Provider(CUDA, "CUDA", ("cuda",), ("fp32", "fp16"), _gpu_options(CUDA), GPU_INSTALL, "cuda", gpu=True),
    Provider(OPENVINO, "OpenVINO", ("openvino", "ov"), ("fp32", "bf16"), _openvino, OPENVINO_INSTALL),
    Provider(CPU, "CPU", ("cpu",), ("fp32",), _plain),
)
ROWS = {p.name: p for p in PROVIDERS}
PREFERENCE = tuple(ROWS)
ALIASES = {alias: p.name for p in PROVIDERS for alias in p.aliases}
SHORT = {p.name: p.short for p in PROVIDERS}
GPU = tuple(p.name for p in PROVIDERS if p.gpu)
PRECISIONS = tuple(dict.fromkeys(x for p in PROVIDERS for x in p.precisions))


def precision_error(precision: str, provider: str) -> str | None:
    """Why ``provider`` cannot compute in ``precision`` (None if it can), naming who can."""
    if precision in ROWS[provider].precisions:
        return None
    able = [p for p in PROVIDERS if precision in p.precisions]
    if not able:
        return f"unknown precision {precision} (choose from {', '.join(PRECISIONS)})"
    names = " or ".join(p.short for p in able)
    who = f"a GPU provider ({names})" if all(p.gpu for p in able) else f"the {names} provider"
    why = unavailable_reason(able[0].name) or f"ask for it with --provider {able[0].aliases[0]}"
    return f"{precision} needs {who}: {why}"


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity), the one count every default uses."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
