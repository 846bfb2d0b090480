"""Helpers shared by the benchmark scripts: a test clip of a chosen size, a timing loop, a
random-weight fast net, the arguments of the scripts that score candidate students, and the
splice that puts a script's figures into its doc."""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import cv2  # noqa: F401  before av, as rtstyle/__init__.py explains
import av
import numpy as np

from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource
from rtstyle.timing import Stats, StageTimer
from tools.zoo import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "pedestrians.mp4"


def fit(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre crop to the aspect of ``width`` x ``height``, then resize to it."""
    h, w = rgb.shape[:2]
    ch = min(h, round(w * height / width))
    cw = min(w, round(h * width / height))
    y, x = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(rgb[y:y + ch, x:x + cw], (width, height), interpolation=cv2.INTER_CUBIC)


def make_clip(dst: Path, width: int, height: int, src: Path = EXAMPLE,
              paint: Callable[[np.ndarray], np.ndarray] | None = None, crf: int = 20, sound: bool = False) -> Path:
    """Re-encode a real clip at ``width`` x ``height`` (centre crop to the aspect, then resize),
    each frame through ``paint`` where given (a style), with the clip's sound where ``sound``."""
    source = VideoFileSource(src)
    sink = VideoFileSink(dst, width, height, source.time_base, source.fps, crf=crf,
                         carry_from=str(src) if sound else None)
    try:
        for frame in source.frames():
            picture = fit(frame.image, width, height)
            sink.write(paint(picture) if paint else picture, frame.pts)
    finally:
        sink.close(complete=True)
        source.close()
    return dst


def with_keyframes(src: Path, dst: Path, every: int, loops: int = 1) -> Path:
    """Re-encode the video of ``src`` with a keyframe every ``every`` frames (segmented renders
    cut there); its audio is copied as it is. ``loops`` > 1 plays the clip that many times in a
    row (a longer input for benchmarks), with timestamps that go on and its audio repeated."""
    with av.open(str(src)) as probe:
        span = max(p.pts + p.duration for p in probe.demux(probe.streams.video[0]) if p.pts is not None)
    with av.open(str(dst), "w") as out:
        for loop in range(loops):
            with av.open(str(src)) as inp:
                v = inp.streams.video[0]
                if not loop:
                    video = out.add_stream("libx264", rate=v.average_rate,
                                           options={"g": str(every), "keyint_min": str(every), "sc_threshold": "0"})
                    video.width, video.height, video.pix_fmt = v.width, v.height, "yuv420p"
                    audio = {a.index: out.add_stream_from_template(a) for a in inp.streams.audio}
                shift = {s.index: round(loop * span * v.time_base / s.time_base) for s in inp.streams}
                end = {s.index: round(span * v.time_base / s.time_base) for s in inp.streams}
                for packet in inp.demux(v, *inp.streams.audio):
                    if packet.stream.index in audio and packet.dts is not None:
                        if loops > 1 and (packet.pts < 0 < loop or packet.pts + packet.duration > end[packet.stream.index]):
                            continue  # the sound of one loop stays within its pictures' time
                        i = packet.stream.index
                        packet.pts, packet.dts = packet.pts + shift[i], packet.dts + shift[i]
                        packet.stream = audio[i]
                        out.mux(packet)
                    elif packet.stream is v:
                        for frame in packet.decode():
                            frame.pict_type = av.video.frame.PictureType.NONE
                            frame.pts += shift[v.index]
                            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return dst


def time_rounds(calls: Mapping[str, Callable[[], object]], rounds: int, per_round: int = 3,
                settle: float = 0.3) -> dict[str, Stats]:
    """Calls timed side by side, for ratios on a machine whose speed changes under them (a shared
    host): ``rounds`` rounds, in each of which every call gets one untimed run (its caches and
    threads back after the others') and ``per_round`` timed ones, the order rotated each round.
    Before each turn the machine gets ``settle`` seconds: the thread pools of ONNX Runtime and
    of PyTorch's OpenMP spin on after their call and would take the cores from the next one's."""
    names = list(calls)
    timer = StageTimer()
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            time.sleep(settle)
            calls[name]()
            for _ in range(per_round):
                with timer.time(name):
                    calls[name]()
    return timer.summary()


def fast_model(folder: Path) -> Path:
    """Random-weight export of the fast tier's student net: same graph and cost as a trained one."""
    import torch

    from tools.distil import export
    from tools.student_net import Student

    torch.manual_seed(0)
    path = folder / "fast_random.onnx"
    export(Student(), path, {"name": "fast_random", "title": "latency stand-in"})
    return path


def student_args(doc: str) -> argparse.Namespace:
    """Command line of a script that scores candidate students of one zoo style against its teacher."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--styles", type=Path, required=True, help="folder of the zoo's paintings")
    ap.add_argument("style", choices=sorted(BY_NAME))
    ap.add_argument("models", nargs="+", help="model names or .onnx paths")
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args()


def splice(doc: Path, name: str, text: str, raw: Path | None = None) -> None:
    """Put ``text`` into ``doc`` between the lines ``<!-- begin NAME -->`` and ``<!-- end NAME -->``
    (the figures of a doc come from the script that measured them, never by hand); ``raw``,
    the script's full output committed beside the doc, is named under the figures."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    page = doc.read_text()
    if begin not in page or end not in page:
        raise SystemExit(f"{doc} has no {begin} ... {end} block to fill")
    source = f"\n\nRaw output of that run: [{raw.name}]({raw.relative_to(doc.parent).as_posix()})." if raw else ""
    head, rest = page.split(begin, 1)
    tail = rest.split(end, 1)[1]
    doc.write_text(f"{head}{begin}\n{text.strip()}{source}\n{end}{tail}")
