"""ONNX Runtime session for one style model: providers and their options, precision,
threads, IO binding, warm-up, signature checks.

Providers are tried in the order TensorRT -> CUDA -> OpenVINO -> CPU, limited to what the installed
onnxruntime build offers (rtstyle.providers). ORT silently drops a provider whose
libraries fail to load, so the engine compares what it asked for with what the session
really uses and says why. On a GPU, frames go through IO binding into buffers that stay
on the device between frames, so only the frame itself crosses the bus each way.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtstyle.errors import ModelError
from rtstyle.models import ModelCard, _first_line, card_from_metadata
from rtstyle.precision import to_fp16
from rtstyle.providers import ALIASES, CPU, OPENVINO, PRECISIONS, PREFERENCE, ROWS, SHORT, TENSORRT, \
    GpuOptions, choose_providers, cpu_has_bf16, precision_error, preload_gpu_libraries, resolve, unavailable_reason

__all__ = ["ALIASES", "PRECISIONS", "PREFERENCE", "Engine", "choose_providers"]
_QUIET = ort.RunOptions()
_QUIET.log_severity_level = 4  # a failing run becomes a ModelError; ORT must not print it too


class Engine:
    """One ORT session per model, built once; ``run`` maps an input tensor to an output tensor.

    ``precision="fp16"``: TensorRT builds an fp16 engine; CUDA runs a copy converted at
    load; the CPU provider has no fp16 kernels, so it is refused there. ``precision="bf16"``
    runs on OpenVINO only (the fp32 file, computed in bfloat16 on the CPU). ``shape`` (the
    padded input tensor's shape, if known) fixes TensorRT's optimization profile.
    ``io_binding`` defaults to on for GPU providers. ``spin`` lets idle ORT worker threads
    busy-wait for the next operator (ORT's own default, kept): measured faster or equal
    here, also inside the pipeline where decode and encode threads want the same cores
    (docs/cpu_report/fast_path.txt: section B, 2 threads 23.1 ms spinning vs 28.2 ms not;
    section E, render 37.8 vs 37.7 fps, live p50 latency 25.5 vs 30.6 ms). ``spin=False``
    is for machines shared with other work.
    """

    def __init__(self, path: str | Path, providers: str | list[str] = "auto", threads: int | None = None,
                 precision: str = "fp32", gpu: GpuOptions | None = None, shape: tuple[int, ...] | None = None,
                 io_binding: bool | None = None, spin: bool = True):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        if precision not in PRECISIONS:
            raise ModelError(f"unknown precision {precision} (choose from {', '.join(PRECISIONS)}; "
                             "int8 is a separate model made by tools/quantize.py)")
        self.precision = precision
        self.requested = choose_providers(providers)
        # The provider a fallback is measured against: the one asked for, or for auto the best built in.
        self.target = self.requested[0] if providers == "auto" else resolve(providers)[0]
        refused = precision_error(precision, self.requested[0])
        if refused:
            raise ModelError(refused)
        if precision == "bf16" and not cpu_has_bf16():
            raise ModelError("bf16 needs a CPU with bfloat16 instructions (AMX or AVX512-BF16), which this one "
                             "lacks: use fp32")
        self.gpu = replace(gpu or GpuOptions(), fp16=precision == "fp16")
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        if not spin:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # ONNX Runtime's memory pattern gives every run after a frame size's first one block for all
        # its activations, beside the arena chunks that first run left: on a CPU a 4K frame's memory
        # went from 1.0 to 2.3 GB, at no cost in speed (docs/performance.md, "Memory"). GPU providers
        # keep it: not measured there.
        opts.enable_mem_pattern = ROWS[self.requested[0]].gpu
        # TensorRT reads fp16 from its options; CUDA needs the converted graph.
        if ROWS[self.requested[0]].gpu:
            preload_gpu_libraries()
        convert = precision == "fp16" and self.requested[0] != TENSORRT
        model = to_fp16(self.path) if convert else str(self.path)
        input_name = self._first_input_name() if shape and TENSORRT in self.requested else ""
        providers_with_options = [(p, ROWS[p].options(self.gpu, threads, precision, input_name, shape))
                                  for p in self.requested]
        try:
            self.session = ort.InferenceSession(model, opts, providers=providers_with_options)
        except Exception as e:
            if self.requested[0] == OPENVINO:  # the file may be fine, and OpenVINO unable to compile it
                self._cpu_session()
                raise ModelError(f"OpenVINO cannot run {self.path.name} in {precision} ({_first_line(e)}); "
                                 "try --provider cpu" + (" or fp32" if precision != "fp32" else "")) from None
            raise ModelError(f"{self.path.name} is not a usable ONNX model ({_first_line(e)})") from None
        self.card: ModelCard = card_from_metadata(self.path, self.session.get_modelmeta().custom_metadata_map)
        self.providers = self.session.get_providers()
        self.provider = self.providers[0]
        if (precision == "fp16" and not convert and self.provider != TENSORRT) or \
                (precision == "bf16" and self.provider != OPENVINO):
            self.precision = "fp32"  # the provider fell back: the others run the fp32 file as it is
        self.device = "cuda" if ROWS[self.provider].gpu else "cpu"
        self.io_binding = self.device != "cpu" if io_binding is None else io_binding
        self._bound: tuple | None = None  # (shape, binding, input OrtValue, output OrtValue)
        self._check_signature()
        if self.gpu.cuda_graph and self.card.info.get("inputs"):
            raise ModelError(f"{self.path.name} has extra inputs, which a captured CUDA graph cannot take; "
                             "run it without cuda_graph")

    def _first_input_name(self) -> str:
        """The image input's name, read cheaply for TensorRT's profile before the real session exists."""
        return self._cpu_session().get_inputs()[0].name

    def _cpu_session(self) -> ort.InferenceSession:
        """A plain, unoptimised CPU session of the file, for looking at or trying the model on the side."""
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.log_severity_level = 4
        try:
            return ort.InferenceSession(str(self.path), opts, providers=[CPU])
        except Exception as e:
            raise ModelError(f"{self.path.name} is not a usable ONNX model ({_first_line(e)})") from None

    @property
    def fallback_note(self) -> str | None:
        """Why the session does not run on the provider asked for (for auto: the best one built in)."""
        if self.provider == self.target:
            return None
        reason = (unavailable_reason(self.target)
                  or "the session dropped it: no usable GPU, or an operator it cannot run")
        return f"{SHORT[self.target]} not used: {reason}; running on {SHORT[self.provider]}"

    def _check_signature(self) -> None:
        """Reject models that are not image -> image before any frame is processed."""
        name = self.path.name
        if self.card.role != "style":
            raise ModelError(f"{name} is a {self.card.role.replace('_', ' ')}, not a style model")
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        expected = "[1, 3, H, W]" if self.card.layout == "NCHW" else "[1, H, W, 3]"
        if not inputs:
            raise ModelError(f"{name} takes no input: a style model takes an image {expected}")
        if len(outputs) != 1:
            raise ModelError(f"{name} has {len(outputs)} outputs ({', '.join(o.name for o in outputs)}): "
                             "a style model has one, the image")
        image, result = inputs[0], outputs[0]
        chan_axis = 1 if self.card.layout == "NCHW" else 3
        space = [2, 3] if self.card.layout == "NCHW" else [1, 2]
        if len(image.shape) != 4 or image.shape[chan_axis] not in (3, "3") or image.type != "tensor(float)":
            raise ModelError(f"{name} is not an image model: first input {image.name} is {image.type} "
                             f"{image.shape}, expected float {expected} ({self.card.layout})")
        if any(isinstance(image.shape[a], int) for a in space):
            raise ModelError(f"{name} only takes {image.shape[space[1]]}x{image.shape[space[0]]} images "
                             "(fixed in the graph): a style model must take any size")
        if len(result.shape) != 4 or result.type != "tensor(float)":
            raise ModelError(f"{name} is not an image-to-image model: output {result.name} is {result.type} "
                             f"{result.shape}")
        for extra in inputs[1:]:
            if extra.name not in self.card.info.get("inputs", {}):
                raise ModelError(f"{name} needs input '{extra.name}' that its model card does not describe")
        self.input_name, self.output_name = image.name, result.name
        self._probe()

    def _probe(self) -> None:
        """Run the model once on a small image: it must give back an image of the same size.

        Declared output shapes cannot settle this: exporters just label dynamic axes, so a
        net that halves the image may still call its output [1, 3, height, width]. GPU
        sessions are probed through a CPU copy, so their shape-specific state (a TensorRT
        profile, a captured CUDA graph) only ever sees real frames.
        """
        side = max(self.card.min_size, 32)
        side += -side % self.card.stride
        h, w = side, side + self.card.stride  # not square: a model that swaps the axes is caught too
        shape = (1, 3, h, w) if self.card.layout == "NCHW" else (1, h, w, 3)
        x = np.full(shape, 0.5 * self.card.value_range, np.float32)
        try:
            feeds = self._feeds(x, {})
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{self.path.name}: its model card describes the extra inputs wrongly ({e!r})") from None
        session = self.session if self.provider == CPU else self._cpu_session()
        self._check_size(x, self._run_plain(session, feeds, f"a {w}x{h} test image"))

    def _run_plain(self, session: ort.InferenceSession, feeds: dict[str, np.ndarray], what: str) -> np.ndarray:
        try:
            return session.run([self.output_name], feeds, _QUIET)[0]
        except Exception as e:  # ORT raises several unrelated types for a graph that cannot run
            raise ModelError(f"{self.path.name} fails on {what}: {_first_line(e)}") from None

    def _check_size(self, x: np.ndarray, y: np.ndarray) -> None:
        if y.shape != x.shape:
            raise ModelError(f"{self.path.name} returned shape {list(y.shape)} for input {list(x.shape)}: "
                             "a style model must keep the image size")

    def _feeds(self, x: np.ndarray, extra: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The image plus every extra input the card describes, at its default unless given."""
        feeds = {self.input_name: x}
        for name, spec in self.card.info.get("inputs", {}).items():
            value = np.asarray(extra.get(name, spec["default"]), dtype=np.float32)
            feeds[name] = value.reshape(spec["shape"]) if "shape" in spec else value
        return feeds

    def run(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray:
        """Run the network on one prepared tensor; extra inputs default to the card's values."""
        feeds = self._feeds(x, extra)
        y = self._run_bound(feeds) if self.io_binding else self._run_plain(self.session, feeds, f"input {x.shape}")
        self._check_size(x, y)
        return y

    def _run_bound(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Run through IO binding: image in and stylized out live in buffers kept on the device.

        Buffers are made once per frame size (a video has one), so each frame costs one
        upload and one download and no allocation; fixed addresses also let CUDA graphs replay.
        """
        x = feeds[self.input_name]
        if self._bound is None or self._bound[0] != x.shape:
            device_id = self.gpu.device_id if self.device != "cpu" else 0
            x_dev = ort.OrtValue.ortvalue_from_shape_and_type(x.shape, x.dtype, self.device, device_id)
            y_dev = ort.OrtValue.ortvalue_from_shape_and_type(x.shape, x.dtype, self.device, device_id)
            binding = self.session.io_binding()
            binding.bind_ortvalue_input(self.input_name, x_dev)
            binding.bind_ortvalue_output(self.output_name, y_dev)
            self._bound = (x.shape, binding, x_dev, y_dev)
        _, binding, x_dev, y_dev = self._bound
        x_dev.update_inplace(np.ascontiguousarray(x))
        for name, value in feeds.items():
            if name != self.input_name:
                binding.bind_cpu_input(name, value)
        try:
            self.session.run_with_iobinding(binding, _QUIET)
        except Exception as e:  # e.g. a model whose output is not the input's size
            raise ModelError(f"{self.path.name} fails on input {x.shape}: {_first_line(e)}") from None
        return np.array(y_dev.numpy())  # a copy: the device buffer is reused by the next frame

    def warmup(self, height: int = 256, width: int = 256, runs: int = 3) -> float:
        """Run a few frames so one-time costs (allocation, kernel choice) are not timed; returns last ms."""
        shape = (1, 3, height, width) if self.card.layout == "NCHW" else (1, height, width, 3)
        x = np.random.default_rng(0).random(shape, dtype=np.float32) * self.card.value_range
        ms = 0.0
        for _ in range(runs):
            t = time.perf_counter()
            self.run(x)
            ms = (time.perf_counter() - t) * 1000
        return ms
