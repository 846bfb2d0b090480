"""Memory over a video: freed frame-size buffers stay in the process instead of being faulted in
anew (rtstyle.memory), and the network's frames after the first take no more than the first."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from benchmarks.memory import NETWORK_PROBE, probe

DATA = os.path.join(os.path.dirname(__file__), "data")

# A fresh process allocates, fills and frees four 640x360 RGB float buffers (what one guided
# upsampling holds at once) 50 times and prints the page faults of the last 40 rounds.
PROBE = """
import resource, sys
import numpy as np
from rtstyle import memory
assert memory.keep_freed_buffers() == (sys.argv[1] == "keep")
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(50):
    if i == 10:
        start = faults()
    buffers = [np.empty((360, 640, 3), np.float32) for _ in range(4)]
    for b in buffers:
        b.fill(1.0)
    del buffers, b
print(faults() - start)
"""


def faults(mode: str) -> int:
    env = {**os.environ, "RTSTYLE_KEEP_BUFFERS": "1" if mode == "keep" else "0"}
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, env=env)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the thresholds are glibc's")
def test_freed_frame_buffers_are_reused_not_faulted_in_again():
    """RTSTYLE_KEEP_BUFFERS=0 leaves glibc's defaults: then the freed heap top goes back to
    the OS, and every round faults most of the buffers' 4 x 675 pages in again."""
    assert faults("default") > 40 * 1000
    assert faults("keep") < 40 * 10


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/self/status")
@pytest.mark.parametrize("model", ["fast_random.onnx", "textured.onnx"])
def test_a_videos_later_frames_take_no_more_memory_than_its_first(model):
    """With ONNX Runtime's memory pattern (its default) every run after the first gets one block
    for all activations beside the arena chunks the first left: the peak doubled (fast_random at
    720p: 126 -> 260 MB; candy_fast at 4K: 950 MB -> 2.3 GB, docs/cpu_report/memory.txt)."""
    first, after_four = probe(NETWORK_PROBE, os.path.join(DATA, model), 1280, 720, "rtstyle")  # a fresh process, MB
    assert first > 50  # the frame's activations: the measure sees them
    assert after_four < 1.25 * first
