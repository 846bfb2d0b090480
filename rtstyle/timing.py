"""Latency statistics: per-stage duration samples, percentiles and throughput.

Benchmarks time the real code by wrapping its callables and iterators, so nothing under
measurement needs hooks of its own. Samples from several threads may land in one timer
(``list.append`` is atomic under the GIL).
"""
from __future__ import annotations

import math
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


class Percentiles:
    """Percentiles of a long stream of durations in fixed memory (0.5 ms bins up to 10 s), for
    runs of any length (live); :func:`summarize` keeps every sample and is exact."""

    BIN = 0.0005
    BINS = 20000

    def __init__(self) -> None:
        self.counts = np.zeros(self.BINS + 1, np.int64)
        self.n, self.total, self.max = 0, 0.0, 0.0

    def add(self, seconds: float) -> None:
        self.counts[min(int(seconds / self.BIN), self.BINS)] += 1
        self.n += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def ms(self, q: float) -> float:
        """The q-th percentile in milliseconds (bin centre; NaN before the first sample)."""
        if not self.n:
            return math.nan
        i = int(np.searchsorted(np.cumsum(self.counts), math.ceil(q / 100 * self.n)))
        return min((i + 0.5) * self.BIN, self.max) * 1000

    def summary(self) -> dict[str, float]:
        mean = self.total / self.n * 1000 if self.n else math.nan
        return {"p50": round(self.ms(50), 2), "p95": round(self.ms(95), 2), "p99": round(self.ms(99), 2),
                "max": round(self.max * 1000, 2), "mean": round(mean, 2)}


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
