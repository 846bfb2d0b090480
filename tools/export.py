"""Export a trained transformer network to ONNX with its model card, and check parity.

The ONNX file takes ``image`` [1, 3, H, W] float32 RGB in [0, 1] (H, W dynamic, multiples
of 4) and returns ``stylized`` of the same shape and range. The model card (JSON in
``metadata_props['rtstyle']``) records style image, architecture, cost and training.

    python -m tools.export runs/starry/checkpoint.pt models/starry_night.onnx --name starry_night \\
        --title "The Starry Night" --style-image starry_night.jpg --style-status "public domain painting"
"""
from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from tools.transformer_net import NetConfig, TransformerNet, macs_per_pixel

OPSET = 17


def export(net: TransformerNet, out: Path, card: dict) -> dict:
    """Write ``net`` as ONNX with ``card`` (completed with architecture facts) in its metadata."""
    net = net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    dummy = torch.rand(1, 3, 64, 64)
    with warnings.catch_warnings():  # the exporter's notes on Slice folding and instance norm are expected
        warnings.simplefilter("ignore")
        torch.onnx.export(net, dummy, str(out), input_names=["image"], output_names=["stylized"],
                          opset_version=OPSET, dynamo=False,
                          dynamic_axes={"image": {2: "height", 3: "width"}, "stylized": {2: "height", 3: "width"}})
    cfg = net.cfg
    card = {
        "name": out.stem, "layout": "NCHW", "value_range": 1.0, "stride": cfg.stride, "min_size": 16,
        "io": "image [1,3,H,W] float32 RGB 0-1 -> stylized [1,3,H,W] float32 RGB 0-1; H, W multiples of 4",
        "architecture": f"Johnson transformer net, widths {list(cfg.widths)}, {cfg.res_blocks} residual blocks"
                        + (", depthwise separable" if cfg.depthwise else "")
                        + (f", {cfg.out_kernel}x{cfg.out_kernel} output conv" if cfg.out_kernel != 9 else ""),
        "net": cfg.to_dict(),
        "params": sum(p.numel() for p in net.parameters()),
        "macs_per_pixel": macs_per_pixel(cfg),
        **card,
    }
    model = onnx.load(str(out))
    del model.metadata_props[:]
    model.metadata_props.add(key="rtstyle", value=json.dumps(card))
    model.producer_name = "rtstyle"
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    card["file_bytes"] = out.stat().st_size
    return card


def parity(net: TransformerNet, path: Path, height: int = 180, width: int = 320, seed: int = 0) -> float:
    """Max abs difference between PyTorch and ONNX Runtime on the same random input."""
    x = torch.from_numpy(np.random.default_rng(seed).random((1, 3, height, width), dtype=np.float32))
    with torch.no_grad():
        ref = net.eval()(x).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"image": x.numpy()})[0]
    return float(np.abs(ref - got).max())


def load_checkpoint(path: Path) -> tuple[TransformerNet, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    net = TransformerNet(NetConfig.from_dict(ck["config"]))
    net.load_state_dict(ck["net"])
    training = dict(ck.get("settings", {}))
    training.update(steps_done=ck["step"], train_seconds=round(ck["elapsed"]))
    return net.eval(), training


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--name", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("--style-image", required=True, help="file name of the style image")
    ap.add_argument("--style-status", required=True, help="copyright status of the style image")
    ap.add_argument("--size-class", default="small", help="quality / fast / small")
    ap.add_argument("--internal-scale", type=float, default=None,
                    help="run the net at this fraction of the frame size, guided upsampling back (fast models: 0.5)")
    a = ap.parse_args()
    net, training = load_checkpoint(a.checkpoint)
    training.pop("data", None), training.pop("run", None), training.pop("style", None)
    card = export(net, a.out, {"name": a.name, "title": a.title, "size_class": a.size_class,
                               "style_image": a.style_image, "style_status": a.style_status,
                               "training": training, "license": "rtstyle project licence (MIT)",
                               **({"internal_scale": a.internal_scale} if a.internal_scale else {})})
    diff = parity(net, a.out)
    print(json.dumps({k: card[k] for k in ("name", "params", "macs_per_pixel", "file_bytes")}), f"max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
