"""Static int8 quantization of a style model (ONNX Runtime quantization tools), checked against fp32.

Activation ranges are calibrated on real video frames; convolutions get int8 weights
(per channel) and uint8 activations in QDQ form, which ORT's CPU kernels fuse (VNNI/AMX
on recent x86). Instance norms stay float. The result is a separate model named
``<base>_int8`` whose card records ``precision: int8``, ``base_model`` and the measured
accuracy against the fp32 model on frames not used for calibration, so `rtstyle bench
--precision int8` finds it.

    python -m tools.quantize models/starry_night_fast.onnx models/starry_night_fast_int8.onnx \\
        --video examples/pedestrians.mp4 --size 320x180
"""
from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, \
    quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from rtstyle import frames as frames_mod
from rtstyle.engine import Engine
from rtstyle.models import CARD_KEY, read_card
from rtstyle.sources import VideoFileSource

from .image_scores import psnr


def video_frames(path: Path, width: int, height: int, count: int) -> list[np.ndarray]:
    """``count`` frames spread over the video, resized to ``width`` x ``height`` (RGB uint8)."""
    source = VideoFileSource(path)
    try:
        all_frames = [f.image for f in source.frames()]
    finally:
        source.close()
    picks = np.linspace(0, len(all_frames) - 1, min(count, len(all_frames))).round().astype(int)
    return [cv2.resize(all_frames[i], (width, height), interpolation=cv2.INTER_AREA) for i in picks]


class _Frames(CalibrationDataReader):
    def __init__(self, input_name: str, tensors: list[np.ndarray]):
        self.items: Iterator[np.ndarray] = iter(tensors)
        self.input_name = input_name

    def get_next(self) -> dict[str, np.ndarray] | None:
        x = next(self.items, None)
        return None if x is None else {self.input_name: x}


def quantize(model: Path, out: Path, calibration: list[np.ndarray], check: list[np.ndarray]) -> dict:
    """Write the int8 model; return its card with the accuracy measured on ``check`` frames."""
    card = read_card(model)
    input_name = Engine(model, providers="cpu").input_name
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
        reader = _Frames(input_name, [frames_mod.to_tensor(f, card) for f in calibration])
        quantize_static(str(prepared), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                        op_types_to_quantize=["Conv"], activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Percentile,
                        extra_options={"CalibPercentile": 99.99})
    fp32, int8 = Engine(model, providers="cpu"), Engine(out, providers="cpu")
    scores = []
    for rgb in check:
        x = frames_mod.to_tensor(rgb, card)
        ref = frames_mod.from_tensor(fp32.run(x), card, *rgb.shape[:2])
        got = frames_mod.from_tensor(int8.run(x), card, *rgb.shape[:2])
        scores.append((psnr(ref, got), float(np.abs(ref.astype(int) - got.astype(int)).mean())))
    info = {**card.info, "name": f"{card.name}_int8", "precision": "int8", "base_model": card.name,
            "quantization": {"method": "ONNX Runtime static QDQ, per-channel int8 weights, uint8 activations, "
                                       "percentile 99.99 calibration", "calibration_frames": len(calibration),
                             "psnr_vs_fp32_db": round(float(np.mean([s[0] for s in scores])), 2),
                             "mean_abs_diff_vs_fp32": round(float(np.mean([s[1] for s in scores])), 3),
                             "check_frames": len(check)}}
    proto = onnx.load(str(out))
    del proto.metadata_props[:]
    proto.metadata_props.add(key=CARD_KEY, value=json.dumps(info))
    onnx.save(proto, str(out))
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--video", type=Path, required=True, help="real footage for calibration and the accuracy check")
    ap.add_argument("--size", default="320x180", help="frame size the model will see (WxH)")
    ap.add_argument("--frames", type=int, default=24, help="calibration frames (as many again are checked)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    picked = video_frames(a.video, w, h, 2 * a.frames)
    info = quantize(a.model, a.out, picked[0::2], picked[1::2])
    print(json.dumps({"name": info["name"], **info["quantization"]}))


if __name__ == "__main__":
    main()
