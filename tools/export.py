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

from .transformer_net import NetConfig, TransformerNet, macs_per_pixel

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
        "io": f"image [1,3,H,W] float32 RGB 0-1 -> stylized [1,3,H,W] float32 RGB 0-1; H, W multiples of {cfg.stride}",
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
    """Network and training record of a checkpoint; the final losses come from the run's log."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    net = TransformerNet(NetConfig.from_dict(ck["config"]))
    net.load_state_dict(ck["net"])
    training = dict(ck.get("settings", {}))
    training.update(steps_done=ck["step"], train_seconds=round(ck["elapsed"]))
    log = path.parent / "log.jsonl"
    if log.is_file() and log.stat().st_size:
        last = json.loads(log.read_text().splitlines()[-1])
        training["final_losses"] = {k: v for k, v in last.items() if k not in ("step", "elapsed_s", "skipped")}
    for machine_path in ("data", "run", "style", "vgg"):  # paths of the training machine say nothing to users
        training.pop(machine_path, None)
    return net.eval(), training


def export_checkpoint(checkpoint: Path, out: Path, name: str, title: str, style_image: str, style_status: str,
                      size_class: str, data_note: str = "", extra: dict | None = None) -> tuple[dict, float]:
    """Export a training checkpoint with its full model card (plus ``extra`` fields); returns the card and the ORT parity."""
    net, training = load_checkpoint(checkpoint)
    card = export(net, out, {"name": name, "title": title, "size_class": size_class, "style_image": style_image,
                             "style_status": style_status, "training": training,
                             **({"data": data_note} if data_note else {}), **(extra or {}),
                             "license": "rtstyle project licence (MIT)"})
    return card, parity(net, out)


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
    ap.add_argument("--data-note", default="", help="what the content training data was, for the card")
    a = ap.parse_args()
    card, diff = export_checkpoint(a.checkpoint, a.out, a.name, a.title, a.style_image, a.style_status,
                                   a.size_class, a.data_note,
                                   {"internal_scale": a.internal_scale} if a.internal_scale else None)
    print(json.dumps({k: card[k] for k in ("name", "params", "macs_per_pixel", "file_bytes")}), f"max_abs_diff={diff:.2e}")


if __name__ == "__main__":
    main()
