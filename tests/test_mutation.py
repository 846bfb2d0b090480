"""Mutation test: real clips with bytes flipped at seeded places go through `rtstyle render`
in a subprocess and are either rendered (a playable file) or refused with one `error:` line;
never a traceback, a crash or a hang. benchmarks/mutation.py says how cases are made and
judged and prints the table; the full set runs with ``-m slow``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.mutation import Case, cases, run_case

# Cases that once crashed: nothing decodable (exit 0 with an empty file), a codec tag no
# decoder knows (AttributeError), an AVI header without a frame count (progress bar
# TypeError); and one that renders with concealed damage.
FEW = [Case("walk_tone.mp4", 0), Case("walk_tone.mp4", 8), Case("damaged.avi", 13), Case("walk_tone.mp4", 4)]


def check(case: Case, folder: Path) -> None:
    o = run_case(case, "starry_night_fast", folder)  # a shipped model: real, and fast at damaged.avi's 720 px
    assert o.result != "FAILED", f"{o.case} ({o.flips} bytes flipped, {o.region}): {o.detail}"


@pytest.mark.parametrize("case", FEW, ids=lambda c: c.name)
def test_flipped_bytes_render_or_fail_clearly(case: Case, tmp_path: Path):
    check(case, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in cases(30) if c not in FEW], ids=lambda c: c.name)
def test_flipped_bytes_full_set(case: Case, tmp_path: Path):
    check(case, tmp_path)
