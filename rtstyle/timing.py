"""Latency statistics: per-stage duration samples, percentiles and throughput.

Benchmarks time the real code by wrapping its callables and iterators, so nothing under
measurement needs hooks of its own. Samples from several threads may land in one timer
(``list.append`` is atomic under the GIL).
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")


@dataclass(frozen=True)
class Stats:
    """Summary of one stage's per-frame durations, in milliseconds."""

    n: int
    mean_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def fps(self) -> float:
        """Frames per second this stage alone could sustain (from the mean)."""
        return 1000.0 / self.mean_ms if self.mean_ms > 0 else 0.0

    def to_dict(self) -> dict:
        return {**{k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()},
                "fps": round(self.fps, 2)}


def summarize(seconds: Iterable[float]) -> Stats:
    """Percentiles of durations given in seconds (linear interpolation, as numpy)."""
    ms = np.asarray(list(seconds), dtype=np.float64) * 1000.0
    if ms.size == 0:
        raise ValueError("no samples to summarize")
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return Stats(int(ms.size), float(ms.mean()), float(p50), float(p95), float(p99), float(ms.max()))


class StageTimer:
    """Collects durations per named stage, in the order stages are first seen."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def time(self, stage: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.samples[stage].append(time.perf_counter() - t)

    def wrap(self, stage: str, fn: Callable[..., T]) -> Callable[..., T]:
        """``fn`` with each call timed as ``stage``."""
        def timed(*args, **kwargs) -> T:
            with self.time(stage):
                return fn(*args, **kwargs)
        return timed

    def iterate(self, stage: str, items: Iterable[T]) -> Iterator[T]:
        """Yield from ``items``, timing how long each item takes to produce (e.g. decoding)."""
        it = iter(items)
        while True:
            with self.time(stage):
                try:
                    item = next(it)
                except StopIteration:
                    self.samples[stage].pop()  # the end of the stream is not a frame
                    return
            yield item

    def summary(self) -> dict[str, Stats]:
        return {stage: summarize(s) for stage, s in self.samples.items() if s}
