"""Build the training set of content crops from photo folders and video files.

Wallpaper packages ship each picture at several sizes, so pictures are deduplicated by a
tiny perceptual thumbnail before cropping. Output: one ``.npy`` of uint8 RGB crops
(N, S, S, 3) that training memory-maps, so the training loop never decodes JPEGs, or (an
``--out`` without ``.npy``) a folder of JPEG crops: how the default content set that ships
with the package for ``rtstyle train`` (rtstyle/content, OpenCV's BSD-licensed sample
photos and frames, none of them from the quality report's held-out photos or clip) was made:

    python -m tools.prepare_content --images DIR [DIR ...] --videos a.avi --out crops.npy
    python -m tools.prepare_content --images PHOTOS --videos Megamind_bugy.avi --frames 1:98 \
        --out rtstyle/content --size 320 --crops-per-image 2 --video-every 20 --seed 0

PHOTOS: OpenCV's sample photos (the repository's shared data/images) without the four the quality
report holds out (building, butterfly, messi5, squirrel_cls). ``--frames 1:98``: the clip's first
shots; frames 98-269 are the shots of the report's photos megamind_0120 and megamind_0200 and of
its clip (frames 155-199), and frame 0 is black. tests/test_content_set.py checks that no crop
comes from the report's pictures.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}


def thumb_key(img: np.ndarray) -> np.ndarray:
    """8x8 grey thumbnail: equal for the same picture at different sizes."""
    g = cv2.cvtColor(cv2.resize(img, (8, 8), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    return g.astype(np.int16)


def distinct_images(folders: list[Path], min_side: int) -> list[np.ndarray]:
    """Largest copy of each distinct picture (BGR) found under ``folders``."""
    keep: list[tuple[np.ndarray, np.ndarray]] = []
    files = sorted(p for f in folders for p in f.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    for p in files:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        if img is None or min(img.shape[:2]) < min_side:
            continue
        key = thumb_key(img)
        for i, (k, other) in enumerate(keep):
            if np.abs(k - key).mean() < 6:
                if img.size > other.size:
                    keep[i] = (key, img)
                break
        else:
            keep.append((key, img))
    return [img for _, img in keep]


def video_frames(path: Path, every: int, start: int = 0, stop: int | None = None) -> list[np.ndarray]:
    """Every ``every``-th frame (BGR) from frame ``start`` up to, not including, ``stop``."""
    cap = cv2.VideoCapture(str(path))
    frames, i = [], 0
    while stop is None or i < stop:
        ok, frame = cap.read()
        if not ok:
            break
        if i >= start and (i - start) % every == 0:
            frames.append(frame)
        i += 1
    cap.release()
    return frames


def frame_range(text: str) -> tuple[int, int | None]:
    """``START:STOP`` (either may be empty) as (start, stop)."""
    start, _, stop = text.partition(":")
    return int(start or 0), int(stop) if stop else None


def random_crops(img: np.ndarray, n: int, size: int, rng: np.random.Generator,
                 min_std: float = 10.0) -> list[np.ndarray]:
    """Random square crops at random scale (between the whole short side and 1/3 of it).

    Near-flat crops (grey std below ``min_std``) are skipped: a constant input makes the
    instance norms divide by ~0 and training diverges.
    """
    h, w = img.shape[:2]
    out = []
    for _ in range(n * 3):
        if len(out) == n:
            break
        side = int(rng.uniform(0.33, 1.0) * min(h, w))
        side = max(side, min(size, min(h, w)))
        y, x = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        crop = cv2.resize(img[y:y + side, x:x + side], (size, size), interpolation=cv2.INTER_AREA)
        if cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).std() < min_std:
            continue
        out.append(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", nargs="*", type=Path, default=[])
    ap.add_argument("--videos", nargs="*", type=Path, default=[])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--crops-per-image", type=int, default=40)
    ap.add_argument("--video-every", type=int, default=15, help="take every Nth video frame")
    ap.add_argument("--frames", type=frame_range, default=(0, None),
                    help="START:STOP: only these frames of each video (e.g. to leave out held-out shots)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    photos = distinct_images(a.images, a.size)
    frames = [f for v in a.videos for f in video_frames(v, a.video_every, *a.frames)]
    crops = [c for img in photos for c in random_crops(img, a.crops_per_image, a.size, rng)]
    crops += [c for f in frames for c in random_crops(f, 2, a.size, rng)]
    arr = np.stack(crops)
    rng.shuffle(arr)
    if a.out.suffix == ".npy":
        np.save(a.out, arr)
    else:
        a.out.mkdir(parents=True, exist_ok=True)
        for i, crop in enumerate(arr):
            cv2.imwrite(str(a.out / f"{i:03d}.jpg"), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    print(f"{len(photos)} distinct pictures, {len(frames)} video frames -> {len(arr)} crops of {a.size}px in {a.out}")


if __name__ == "__main__":
    main()
