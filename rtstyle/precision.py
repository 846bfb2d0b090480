"""fp16 model variants, converted at load time with float32 inputs and outputs kept.

Callers keep feeding float32 frames; casts at the graph's edges do the rest. Instance
normalization stays in float32 by default: the networks work on a 0-255 scale inside, so
a feature map's variance can pass fp16's largest value (65504) and turn into inf/NaN (the
fast net's instance norms saw variances up to 1.2e5 on a real 640x360 frame).
Conversion needs the ``onnx`` package (``rtstyle[gpu]``), not torch.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rtstyle.errors import ModelError

KEEP_FP32 = ("InstanceNormalization",)


def to_fp16(path: str | Path, keep_fp32: Sequence[str] = KEEP_FP32) -> bytes:
    """Serialized fp16 copy of the model at ``path``; ops named in ``keep_fp32`` run in float32."""
    try:
        import onnx
        from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16
    except ImportError:
        raise ModelError("fp16 conversion needs the onnx package (pip install 'rtstyle[gpu]')") from None
    model = onnx.load(str(path))
    model = convert_float_to_float16(model, keep_io_types=True,
                                     op_block_list=[*DEFAULT_OP_BLOCK_LIST, *keep_fp32])
    return model.SerializeToString()
