"""Whether a big picture fits in memory, said before it is painted.

Painting takes memory in proportion to the picture's pixels, most of it the network's
activations: a 48-megapixel photo (a phone's 48 MP mode) took 9.2 GB with candy_fast, 7.8 GB
with candy (benchmarks/memory.py, section C). A machine without that much free memory stops
the process (Linux's out-of-memory killer: the shell says "Killed", rtstyle nothing). So a
picture above :data:`PROBE_ABOVE` pixels is first painted at a quarter of its width and height
in a fresh process (in this one, what ONNX Runtime keeps from pictures painted before would hide
the growth), the growth of its peak memory (Linux: VmHWM) scaled to the picture's size (8.3 GB
foreseen for candy_fast's 48 MP, 8.0 for candy's); :func:`warning` says when that is more than the
memory available (MemAvailable, or a cgroup's limit where one is set), and what ``--max-size``
would fit. On a GPU, and where there is no /proc, nothing is measured and nothing said.

A render holds more than the network for each frame painted at once (the frame's buffers and those
queued around it) and the pipeline's own (decoded frames, smoothing, the encoder): an 8K render of
candy_fast peaked at 16.9 GB, two frames at once. :func:`render_fit` foresees it from the same
probe: where two frames at once would not fit and one would, it paints one at a time (slower, not
stopped); where one does not fit either, it says so as :func:`warning` does. :func:`cluster_fit` sizes a Ray
render's workers to the memory of the cluster's nodes with the same figure.
"""
from __future__ import annotations

import functools
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rtstyle.stylizer import Stylizer

PROBE_ABOVE = 16_000_000  # pixels: below, a painting takes under about 3.5 GB (200 bytes a pixel)
PROBE_SHRINK = 4          # the probe's width and height are the picture's over this
FITS = 0.8                # the share of the available memory a suggested --max-size is sized to
# A render's memory in bytes a pixel of its frames: for each frame painted at once, the probe's
# figure and RENDER_PER_FRAME more; RENDER_PIPELINE once. Fitted as an upper bound over renders of
# candy_fast at 1080p and 4K and of the tests' tiny net at 1280x960, flow smoothing and none, one
# and two frames at once (growth measured 285-747 bytes a pixel, foreseen 401-862:
# docs/cpu_report/memory_render_fit.txt).
RENDER_PER_FRAME = 120
RENDER_PIPELINE = 130
# Bytes a pixel for each frame painted at once that a render (of the zoo's largest network)
# stays under: where that fits, nothing is measured (a 1080p render, two at once: 2.5 GB).
RENDER_BOUND = 600


def available_bytes() -> int | None:
    """Memory this process may still take: Linux's MemAvailable, or less where a cgroup (a
    container's --memory) sets a limit; None where neither can be read."""
    try:
        meminfo = Path("/proc/meminfo").read_text()
    except OSError:
        return None
    available = next((int(line.split()[1]) * 1024 for line in meminfo.splitlines()
                      if line.startswith("MemAvailable:")), None)
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
        if limit != "max" and available is not None:
            available = min(available, int(limit) - used)
    except (OSError, ValueError):
        pass
    return available


# argv: model, scale, width, height. Paints a picture of that size (its content does not change
# the memory) in a fresh process and prints how much its peak memory grew, in bytes.
PROBE = """
import sys
import numpy as np
from rtstyle.headroom import peak_bytes
from rtstyle.stylizer import Stylizer
model, scale, width, height = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
stylizer = Stylizer(model, providers="cpu", scale=scale)
picture = np.zeros((height, width, 3), np.uint8)
before = peak_bytes()
stylizer(picture)
print(peak_bytes() - before)
"""


def peak_bytes() -> int:
    """This process's own peak memory (Linux's VmHWM: a child's ru_maxrss starts at its parent's)."""
    return next(int(line.split()[1]) * 1024 for line in Path("/proc/self/status").read_text().splitlines()
                if line.startswith("VmHWM:"))


@functools.lru_cache(maxsize=16)
def bytes_per_pixel(model: Path, scale: float, width: int, height: int) -> float | None:
    """The memory a painting with ``model`` at ``scale`` takes per pixel of the picture, measured
    on a ``width`` x ``height`` one in a fresh process; None where it cannot be measured. Kept per
    model and size, as a batch of one camera's photos asks again and again."""
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(model), str(scale), str(width), str(height)],
                              capture_output=True, text=True, timeout=600, check=True)
        return int(done.stdout.split()[-1]) / (width * height)
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def _measurable(stylizer: Stylizer) -> bool:
    """Whether a painting's memory can be measured: on a CPU (a GPU's memory is another matter), with
    /proc, and where ``sys.executable`` is Python (in a program frozen by PyInstaller or the like it is
    the program itself, which the probe would start again)."""
    return stylizer.engine.device == "cpu" and Path("/proc/self/status").is_file() and not getattr(sys, "frozen", False)


def _probe(stylizer: Stylizer, width: int, height: int) -> float | None:
    """:func:`bytes_per_pixel` of ``stylizer`` for a ``width`` x ``height`` picture."""
    return bytes_per_pixel(stylizer.card.path, stylizer.scale, width // PROBE_SHRINK, height // PROBE_SHRINK)


def _may_stop(doing: str, width: int, height: int, needed: float, available: int) -> str:
    """What to say where ``doing`` a ``width`` x ``height`` picture ("painting 8000x6000")
    needs more memory than is available."""
    shrink = math.sqrt(FITS * max(available, 0) / needed)
    size = f"{max(1, int(width * shrink))}x{max(1, int(height * shrink))}"
    return (f"{doing} takes about {needed / 1e9:.1f} GB of memory and {max(available, 0) / 1e9:.1f} "
            f"GB is available: the system may stop rtstyle before it is done (--max-size {size} fits)")


def warning(stylizer: Stylizer, width: int, height: int, available: int | None = None) -> str | None:
    """What to say before ``stylizer`` paints a ``width`` x ``height`` picture when that would
    take more memory than is ``available`` (default: :func:`available_bytes`); None when it fits,
    the picture is small, or nothing can be measured."""
    if width * height <= PROBE_ABOVE or not _measurable(stylizer):
        return None
    available = available_bytes() if available is None else available
    rate = _probe(stylizer, width, height) if available is not None else None
    needed = rate * width * height if rate else None
    if not needed or needed <= available:
        return None
    return _may_stop(f"painting {width}x{height}", width, height, needed, available)


@dataclass(frozen=True)
class RenderFit:
    """How many frames a render paints at once for its memory, and what to say about it."""

    workers: int                 # frames painted at once
    note: str | None = None      # fewer than planned, and why
    warning: str | None = None   # even so it may not fit


def _render_bytes(pixels: int, rate: float, frames: int) -> float:
    """A render's memory: ``frames`` painted at once with the probe's ``rate``, and the pipeline's."""
    return pixels * (frames * (rate + RENDER_PER_FRAME) + RENDER_PIPELINE)


def render_fit(stylizer: Stylizer, workers: int, width: int, height: int,
               available: int | None = None) -> RenderFit:
    """Frames a render of ``width`` x ``height`` frames paints at once: ``workers``, or one
    where only one fits in the memory ``available`` (default: :func:`available_bytes`; a
    render stopped by the system is of no use, however many frames at once were asked for);
    with a warning where one at a time does not fit either."""
    if not _measurable(stylizer):
        return RenderFit(workers)
    pixels = width * height
    available = available_bytes() if available is None else available
    if available is None or pixels * RENDER_BOUND * workers <= available:
        return RenderFit(workers)
    rate = _probe(stylizer, width, height)
    if not rate:
        return RenderFit(workers)
    needed = {n: _render_bytes(pixels, rate, n) for n in {1, workers}}
    if needed[workers] <= available:
        return RenderFit(workers)
    if workers > 1 and needed[1] <= available:
        return RenderFit(1, note=f"painted one frame at a time: {workers} at once would take about "
                                 f"{needed[workers] / 1e9:.1f} GB of memory and {available / 1e9:.1f} GB was available")
    return RenderFit(1, warning=_may_stop(f"rendering {width}x{height} one frame at a time", width, height, needed[1],
                                          available))


@dataclass(frozen=True)
class ClusterFit:
    """How many Ray workers a render starts for the memory of the cluster's nodes, how many
    frames each paints at once, and the memory each reserves (Ray's ``memory`` resource)."""

    workers: int
    frames: int
    memory: int | None = None    # bytes a worker reserves; None: nothing reserved
    note: str | None = None      # fewer than the CPUs hold, and why
    warning: str | None = None   # even one may not fit


def cluster_fit(load: Callable[[], Stylizer | None], nodes: list[tuple[int, float]], frames: int, width: int,
                height: int) -> ClusterFit:
    """Ray workers for a render of ``width`` x ``height`` frames: ``nodes`` are (workers its
    CPUs hold, its memory for Ray in bytes) for each node of the cluster, each worker painting
    ``frames`` at once; ``load`` gives the style's stylizer (None where it does not load here),
    called only where the frames are big for the nodes.

    Ray places a worker on a node where its CPUs are free and knows nothing of its memory, so
    eight workers rendering 8K on one node would take the memory of eight renders, and the
    system would stop them. Where the frames are big for that, each worker reserves what a
    render takes (:func:`render_fit`'s figure, from the probe here; where there is no probe,
    :data:`RENDER_BOUND` a frame): fewer workers, or one frame at a time where that keeps more
    frames painting at once. Where not even one worker fits on any node, one is started all
    the same, with a warning. On a GPU nothing is measured.
    """
    held = sum(workers for workers, _ in nodes)
    pixels = width * height
    if all(workers * pixels * RENDER_BOUND * frames <= memory for workers, memory in nodes):
        return ClusterFit(held, frames)
    stylizer = load()
    if stylizer and stylizer.engine.device != "cpu":
        return ClusterFit(held, frames)
    rate = _probe(stylizer, width, height) if stylizer and _measurable(stylizer) else None

    def need(n: int) -> float:
        return _render_bytes(pixels, rate, n) if rate else pixels * RENDER_BOUND * n

    def fits(n: int) -> int:
        return sum(min(workers, int(memory // need(n))) for workers, memory in nodes)

    n = max({frames, 1}, key=lambda k: (fits(k) * k, k))  # the most frames painting at once; ties: fewer workers
    count = fits(n)
    if not count:
        most = max(memory for _, memory in nodes)
        return ClusterFit(1, 1, warning=_may_stop(f"rendering {width}x{height} on a Ray worker", width, height,
                                                  need(1), int(most)))
    note = None
    if (count, n) != (held, frames):
        held_frames = f" painting {frames}" if frames != n else ""
        note = (f"{count} Ray worker{'s' if count > 1 else ''} painting {n} frame{'s' if n > 1 else ''} at once where "
                f"the CPUs hold {held}{held_frames}: each takes about "
                f"{need(n) / 1e9:.1f} GB of memory for {width}x{height} frames, and the cluster has "
                f"{sum(memory for _, memory in nodes) / 1e9:.1f} GB for Ray")
    return ClusterFit(count, n, int(math.ceil(need(n))), note)
