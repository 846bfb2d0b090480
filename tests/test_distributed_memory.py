"""A Ray render whose frames are big for the nodes' memory starts the workers that memory holds.

Its own local runtime (2 CPUs) with little memory for Ray: room for one worker rendering the
test clip, not two (the 2-CPU runtime of test_distributed.py has the machine's memory).
"""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.common import with_keyframes
from rtstyle import headroom
from rtstyle.cli import main

ray = pytest.importorskip("ray")
from rtstyle import distributed  # noqa: E402  (after the skip: it needs ray)

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="measures through Linux's /proc")


@pytest.fixture(scope="module")
def one_worker(tiny_model: Path) -> int:
    """What one worker painting the test clip's 320x240 frames one at a time reserves."""
    rate = headroom.bytes_per_pixel(tiny_model, 1.0, 320 // 4, 240 // 4)
    return int(320 * 240 * (rate + headroom.RENDER_PER_FRAME + headroom.RENDER_PIPELINE))


@pytest.fixture(scope="module")
def clip(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/data/walk_tone.mp4 with a keyframe every 10 frames: 3 segments."""
    return with_keyframes(data / "walk_tone.mp4", tmp_path_factory.mktemp("clip") / "gop.mp4", every=10)


@pytest.fixture(scope="module")
def for_ray(one_worker: int) -> int:
    """Ray's memory: one worker's and less than two workers', and less than the bound for two
    (the probe, which varies with the build, is taken then; above the bound nothing is measured)."""
    bound = 2 * 320 * 240 * headroom.RENDER_BOUND
    assert one_worker < bound, "the tiny net's probe is above the bound a render stays under"
    return (one_worker + min(2 * one_worker, bound)) // 2


@pytest.fixture(scope="module")
def small_runtime(for_ray: int):
    ray.init(num_cpus=2, _memory=for_ray, include_dashboard=False, object_store_memory=100 * 2**20,
             log_to_driver=False)
    yield ray
    ray.shutdown()


def test_one_worker_where_the_memory_holds_one(small_runtime, clip: Path, tiny_model: Path, one_worker: int,
                                               for_ray: int, tmp_path: Path):
    """One worker (one process) renders every segment, holding its memory in Ray while it lives;
    the note says why; the file is whole."""
    settings = distributed.Settings(str(tiny_model), {"providers": "cpu"}, segment_seconds=1.0)
    notes, parts, reserved = [], [], []
    [result] = distributed.render_files(
        [(clip, tmp_path / "out.mp4")], settings, on_note=notes.append,
        on_segment=lambda src, part: parts.append(part),
        on_progress=lambda done, total: reserved.append(for_ray - ray.available_resources().get("memory", 0)))
    assert result.ok and result.frames == 30, result.error
    assert len(parts) == 3 and len({part.worker for part in parts}) == 1
    assert max(reserved) == pytest.approx(one_worker, abs=2), "the worker's memory is reserved in Ray"
    assert notes == [f"note: 1 Ray worker painting 1 frame at once where the CPUs hold 2: each takes about "
                     f"{one_worker / 1e9:.1f} GB of memory for 320x240 frames, and the cluster has "
                     f"{for_ray / 1e9:.1f} GB for Ray"]


def test_the_command_says_so_before_it_starts(small_runtime, data: Path, tiny_model: Path, tmp_path: Path):
    out = tmp_path / "out.mp4"
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(out), "-s", str(tiny_model), "--ray"])
    assert r.exit_code == 0, r.output
    lines = r.stderr.splitlines()
    noted = next(i for i, line in enumerate(lines) if line.startswith("note: 1 Ray worker painting 1 frame at once"))
    assert noted < next(i for i, line in enumerate(lines) if "rendering on Ray" in line)
    assert lines[-1].startswith("A/V check: ok")
    assert lines[-2].endswith(f"1 segment on Ray -> {out}"), "one keyframe: one segment, said in the singular"
