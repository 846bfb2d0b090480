"""Benchmarking: timing statistics, the fast path's guided upsampling, `rtstyle bench` end to end.

No wall-clock thresholds: tests check that stages are measured and reported, not how fast.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import rtstyle
from rtstyle import bench, guided
from rtstyle.sources import read_image
from rtstyle.timing import StageTimer, summarize
from test_cli import assert_one_line_error, rtstyle as run_cli

DATA_FAST = Path(__file__).parent / "data" / "fast_random.onnx"


def test_summarize_percentiles():
    s = summarize([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert s.n == 100 and s.p50_ms == pytest.approx(50.5) and s.p99_ms == pytest.approx(99.01)
    assert s.mean_ms == pytest.approx(50.5) and s.fps == pytest.approx(1000 / 50.5)
    with pytest.raises(ValueError):
        summarize([])


def test_stage_timer_wraps_without_changing_results():
    timer = StageTimer()
    double = timer.wrap("double", lambda v: 2 * v)
    assert [double(v) for v in timer.iterate("produce", range(5))] == [0, 2, 4, 6, 8]
    # five items produced: the final StopIteration is not counted as a frame
    assert len(timer.samples["produce"]) == 5 and len(timer.samples["double"]) == 5
    assert list(timer.summary()) == ["produce", "double"]


def test_guided_upsampling_restores_edges_a_resize_blurs(data: Path):
    full = read_image(data / "messi5.jpg")
    h, w = guided.scaled_size(*full.shape[:2], 0.5)
    low = guided.downscale(full, h, w)
    up = guided.guided_upsample(low, full)
    plain = cv2.resize(low, (full.shape[1], full.shape[0]), interpolation=cv2.INTER_LINEAR)
    assert up.shape == full.shape and up.dtype == np.uint8

    def err(a: np.ndarray) -> float:
        return float(np.mean(np.abs(a.astype(int) - full.astype(int))))

    assert err(up) < 0.8 * err(plain)


def test_stylizer_runs_the_network_at_reduced_scale(tiny_model: Path, data: Path):
    rgb = read_image(data / "messi5.jpg")
    stylizer = rtstyle.load_style(tiny_model, providers="cpu", threads=1, scale=0.5)
    x = stylizer.preprocess(rgb)
    assert rgb.shape[:2] == (200, 320) and x.shape[2:] == (100, 160)
    assert stylizer(rgb).shape == rgb.shape
    with pytest.raises(rtstyle.ModelError, match="scale"):
        rtstyle.load_style(tiny_model, scale=1.5)


def test_reduced_scale_comes_back_through_guided_upsampling(tiny_model: Path, data: Path):
    """The half-size result is brought back by guided upsampling on the full-size input (the
    edges come from the photo), not by a plain resize: rebuilt from the public pieces."""
    rgb = read_image(data / "messi5.jpg")
    half = rtstyle.load_style(tiny_model, providers="cpu", threads=1, scale=0.5)
    whole = rtstyle.load_style(tiny_model, providers="cpu", threads=1, scale=1.0)
    low = whole(guided.downscale(rgb, 100, 160))
    out = half(rgb)
    assert np.array_equal(out, guided.guided_upsample(low, rgb))
    plain = cv2.resize(low, (320, 200), interpolation=cv2.INTER_LINEAR)
    assert np.abs(out.astype(int) - plain.astype(int)).mean() > 0.5, "indistinguishable from a plain resize"


def test_inference_case_reports_every_stage(tiny_model: Path):
    """Each stage of the steady frames, and the start a user waits for timed apart, once each:
    the load (session, graph optimisation) and the first warm-up frame; no warm-up, no first frame."""
    r = bench.run_case(bench.Case(str(tiny_model), 96, 64, "cpu", threads=1), warmup=2, frames=4, models=[])
    assert r.skipped is None and r.frames == 4 and r.fps > 0 and r.provider == "CPU"
    assert list(r.stages)[:2] == ["load", "first frame"] and r.stages["load"].n == r.stages["first frame"].n == 1
    steady = {name: s for name, s in r.stages.items() if name not in ("load", "first frame")}
    assert set(steady) == {"frame", "preprocess", "inference", "postprocess"}
    assert all(s.n == 4 for s in steady.values()) and len(r.latencies_ms) == 4
    assert r.stages["frame"].p50_ms >= r.stages["inference"].p50_ms
    cold = bench.run_case(bench.Case(str(tiny_model), 96, 64, "cpu", threads=1), warmup=0, frames=2, models=[])
    assert "first frame" not in cold.stages and cold.stages["frame"].n == 2


def test_cases_that_cannot_run_say_why(tiny_model: Path):
    fp16 = bench.run_case(bench.Case(str(tiny_model), 64, 64, "cpu", "fp16"), 0, 1, models=[])
    assert "fp16 needs a GPU provider" in fp16.skipped
    int8 = bench.run_case(bench.Case(str(tiny_model), 64, 64, "cpu", "int8"), 0, 1, models=[])
    assert "no int8 variant" in int8.skipped and "tools/quantize.py" in int8.skipped


def test_end_to_end_case_times_the_real_pipeline(tiny_model: Path, data: Path):
    case = bench.Case(str(tiny_model), 0, 0, "cpu", threads=1, video=data / "walk_tone.mp4")
    r = bench.run_case(case, warmup=1, models=[])
    assert r.skipped is None and r.mode == "end-to-end" and r.size == "320x240" and r.frames == 30
    assert {"load", "first frame", "decode", "preprocess", "inference", "postprocess", "encode"} <= set(r.stages)
    assert r.stages["decode"].n == 30 and r.stages["encode"].n == 30


def test_plan_expands_every_combination(tiny_model: Path, data: Path):
    cases = bench.plan([str(tiny_model)], ["320x180", "720p"], ["cpu"], ["fp32", "fp16"], [1, 2],
                       video=data / "walk_tone.mp4")
    assert len(cases) == 2 * 2 * 2 + 2 * 2
    assert {(c.width, c.height) for c in cases if not c.video} == {(320, 180), (1280, 720)}
    with pytest.raises(rtstyle.RtstyleError, match="bad size"):
        bench.plan([str(tiny_model)], ["640by360"], ["cpu"], ["fp32"], [])
    with pytest.raises(rtstyle.ModelError, match="unknown provider"):
        bench.plan([str(tiny_model)], ["64x64"], ["tpu"], ["fp32"], [])


def test_bench_cli_table_json_and_plot(tiny_model: Path, tmp_path: Path, data: Path):
    pytest.importorskip("matplotlib")
    out, png = tmp_path / "bench.json", tmp_path / "bench.png"
    r = run_cli("bench", "-s", tiny_model, "--size", "96x64,64x48", "--provider", "cpu", "--precision", "fp32,fp16",
                "--threads", "1", "--warmup", "1", "--frames", "3", "--video", data / "walk_tone.mp4",
                "--json", out, "--plot", png)
    assert r.returncode == 0, r.stderr
    assert "inference" in r.stdout and "end-to-end" in r.stdout and "skipped: fp16 needs a GPU" in r.stdout
    assert "load " in r.stdout and "first frame " in r.stdout
    doc = json.loads(out.read_text())
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["onnxruntime"]
    ran = [row for row in doc["results"] if not row["skipped"]]
    assert len(doc["results"]) == 6 and len(ran) == 3
    assert all(row["stages"]["inference"]["p99_ms"] >= row["stages"]["inference"]["p50_ms"] for row in ran)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_cli_rejects_bad_size(tiny_model: Path):
    assert_one_line_error(run_cli("bench", "-s", tiny_model, "--size", "huge"), "bad size 'huge'")


def test_bench_cli_rejects_unknown_style_before_measuring(tiny_model: Path):
    r = run_cli("bench", "-s", tiny_model, "-s", "nosuch", "--size", "64x48", "--provider", "cpu", "--frames", "1")
    assert_one_line_error(r, "unknown style 'nosuch'")
    assert "[1/" not in r.stderr, "a case ran before the unknown style was found"


def test_default_set_is_one_model_per_architecture(tiny_model: Path, two_styles, monkeypatch):
    """`rtstyle bench` alone measures one model of each architecture (models of one architecture
    run alike); --all measures every one."""
    cards = [rtstyle.models.read_card(p) for p in [*two_styles.values(), DATA_FAST]]
    monkeypatch.setattr(bench, "default_models", lambda: cards)
    short = bench.plan([], ["64x64"], ["cpu"], ["fp32"], [])
    assert [c.style for c in short] == ["tiny", "fast_random"], "tiny and other share an architecture"
    every = bench.plan([], ["64x64"], ["cpu"], ["fp32"], [], every_model=True)
    assert [c.style for c in every] == ["tiny", "other", "fast_random"]


def graph_shape(path: Path) -> str:
    """What decides a model's speed, read from the file itself: its operators with their attributes,
    and the shapes of its weights (not their values)."""
    import onnx

    model = onnx.load(str(path))
    ops = [(n.op_type, sorted((a.name, str(onnx.helper.get_attribute_value(a))) for a in n.attribute
                              if a.type != onnx.AttributeProto.TENSOR)) for n in model.graph.node]
    return repr((ops, sorted(tuple(i.dims) for i in model.graph.initializer)))


def test_shipped_models_one_per_graph():
    """The shipped zoo, one model per graph: the eight quality-tier files (one baked net, eight style
    vectors) are one row, and each distinct student shape has its own."""
    cards = bench.default_models()
    chosen = bench.representatives(cards)
    shapes = {c.name: graph_shape(c.path) for c in cards}
    assert len(cards) >= 18
    assert sorted(shapes[n] for n in chosen) == sorted(set(shapes.values())), chosen
