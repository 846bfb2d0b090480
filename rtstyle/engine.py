"""ONNX Runtime session for one style model: provider choice, threads, warm-up, checks.

Providers are tried in the order TensorRT -> CUDA -> CPU, limited to what the installed
onnxruntime build offers. ORT silently drops a provider whose libraries fail to load, so
the engine compares what it asked for with what the session really uses and says why.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from rtstyle.errors import ModelError
from rtstyle.models import ModelCard, _first_line, card_from_metadata

log = logging.getLogger(__name__)

PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
ALIASES = {"tensorrt": "TensorrtExecutionProvider", "trt": "TensorrtExecutionProvider",
           "cuda": "CUDAExecutionProvider", "cpu": "CPUExecutionProvider"}


def choose_providers(wanted: str | list[str] = "auto", available: list[str] | None = None) -> list[str]:
    """Ordered providers to ask ORT for: ``auto`` means the best available by PREFERENCE.

    An explicit choice (``"cuda"``) still ends with CPU so a missing GPU library degrades
    to a working session instead of an error.
    """
    available = available if available is not None else ort.get_available_providers()
    if wanted == "auto":
        names = list(PREFERENCE)
    else:
        items = wanted.split(",") if isinstance(wanted, str) else wanted
        names = [ALIASES.get(w.strip().lower(), w.strip()) for w in items]
        unknown = [n for n in names if n not in PREFERENCE]
        if unknown:
            raise ModelError(f"unknown provider {unknown[0]} (choose from auto, tensorrt, cuda, cpu)")
        names.append("CPUExecutionProvider")
    chosen = [n for n in dict.fromkeys(names) if n in available]
    return chosen or ["CPUExecutionProvider"]


class Engine:
    """One ORT session per model, built once; ``run`` maps an input tensor to an output tensor."""

    def __init__(self, path: str | Path, providers: str | list[str] = "auto", threads: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        self.requested = choose_providers(providers)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=self.requested)
        except Exception as e:
            raise ModelError(f"{self.path.name} is not a usable ONNX model ({_first_line(e)})") from None
        self.card: ModelCard = card_from_metadata(self.path, self.session.get_modelmeta().custom_metadata_map)
        self.providers = self.session.get_providers()
        self.provider = self.providers[0]
        self._check_signature()

    @property
    def fallback_note(self) -> str | None:
        """Why the session does not run on the first provider asked for, if it doesn't."""
        if self.provider == self.requested[0]:
            return None
        return (f"{self.requested[0]} could not be used (its libraries failed to load or it "
                f"does not support this model); running on {self.provider}")

    def _check_signature(self) -> None:
        """Reject models that are not image -> image before any frame is processed."""
        if self.card.role != "style":
            raise ModelError(f"{self.path.name} is a {self.card.role.replace('_', ' ')}, not a style model")
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        image = inputs[0]
        chan_axis = 1 if self.card.layout == "NCHW" else 3
        if len(image.shape) != 4 or image.shape[chan_axis] not in (3, "3"):
            raise ModelError(f"{self.path.name} is not an image model: first input {image.name} has shape "
                             f"{image.shape}, expected [1, 3, H, W] ({self.card.layout})")
        if len(outputs[0].shape) != 4:
            raise ModelError(f"{self.path.name} is not an image-to-image model: output shape {outputs[0].shape}")
        for extra in inputs[1:]:
            if extra.name not in self.card.info.get("inputs", {}):
                raise ModelError(f"{self.path.name} needs input '{extra.name}' that its model card does not describe")
        self.input_name, self.output_name = image.name, outputs[0].name

    def run(self, x: np.ndarray, **extra: np.ndarray) -> np.ndarray:
        """Run the network on one prepared tensor; extra inputs default to the card's values."""
        feeds = {self.input_name: x}
        for name, spec in self.card.info.get("inputs", {}).items():
            value = np.asarray(extra.get(name, spec["default"]), dtype=np.float32)
            feeds[name] = value.reshape(spec["shape"]) if "shape" in spec else value
        y = self.session.run([self.output_name], feeds)[0]
        if y.shape != x.shape:
            raise ModelError(f"{self.path.name} returned shape {y.shape} for input {x.shape}: "
                             "a style model must keep the image size")
        return y

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
