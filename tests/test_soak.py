"""A reduced soak (benchmarks/soak.py): a long render and a live run keep memory flat and
leave no thread or file descriptor behind. Slow: run with ``-m slow``."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import soak


@pytest.mark.slow
def test_reduced_soak_keeps_memory_threads_and_descriptors_flat(tiny_model: Path, tmp_path: Path):
    render = soak.soak_render(str(tiny_model), 2000, (96, 64), interval=0.5, warmup=0.2, threads=1, folder=tmp_path)
    live = soak.soak_live(str(tiny_model), 0.5, (160, 120), 30.0, interval=0.5, warmup=0.2, threads=1)
    for phase, result in (("render", render), ("live", live)):
        f = result["figures"]
        assert f["frames"] >= (2000 if phase == "render" else 300), f
        assert not f["leaks"], f"{phase} left threads or descriptors behind: {f}"
        assert f["growth_after_warmup_mb"] < soak.FLAT_MB, f"{phase} memory grows: {f}"
