"""rtstyle.memory: freed frame-size buffers stay in the process instead of being faulted in anew."""
from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

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
