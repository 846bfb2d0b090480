"""Segmented rendering on a local Ray runtime: same output as one machine, faults, many files.

The runtime (2 CPUs) is started once for the module and stopped after it. The clip is
tests/data/walk_tone.mp4 re-encoded with a keyframe every second (3 segments of 10 frames),
its AAC audio copied as it is.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from av.video.frame import PictureType
from click.testing import CliRunner

import rtstyle
from benchmarks.common import with_keyframes
from conftest import camcorder_dv, decode_video, stream_info, transparent_shot, vp9_alphas
from rtstyle import metrics, segments
from rtstyle.cli import main
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import VideoFileSource

ray = pytest.importorskip("ray")
from rtstyle import distributed  # noqa: E402  (after the skip: it needs ray)

SMOOTH = ("flow", 0.6, 0.0)
CRF = 0  # lossless: what differs is the render, not encoder noise (which alone is ~42 dB on random-net texture)


@pytest.fixture(scope="module")
def ray_runtime():
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=100 * 2**20, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def clip(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return with_keyframes(data / "walk_tone.mp4", tmp_path_factory.mktemp("clip") / "gop.mp4", every=10)


@pytest.fixture(scope="module")
def textured_model(data: Path) -> Path:
    """A random net whose output is strong mid-grey texture that follows the content (made by
    tools/make_test_data.py): flicker and seams show on it."""
    return data / "textured.onnx"


@pytest.fixture(scope="module")
def settings(textured_model: Path) -> distributed.Settings:
    return distributed.Settings(str(textured_model), {"providers": "cpu"}, SMOOTH, crf=CRF, segment_seconds=1.0)


@pytest.fixture(scope="module")
def one_machine(clip: Path, textured_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("one") / "one.mp4"
    rtstyle.render(clip, dst, rtstyle.load_style(textured_model, threads=1), smooth=rtstyle.make_smoother(*SMOOTH),
                   crf=CRF)
    return dst


@pytest.fixture(scope="module")
def segmented(ray_runtime, clip: Path, settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    dst = tmp_path_factory.mktemp("ray") / "ray.mp4"
    seen: list[tuple[int, int, bool]] = []  # frames done, total, whether the output exists yet
    parts: list[segments.SegmentResult] = []
    results = distributed.render_files([(clip, dst)], settings, workers=2,
                                       on_progress=lambda done, total: seen.append((done, total, dst.exists())),
                                       on_segment=lambda src, part: parts.append(part))
    return dst, results, seen, sorted(parts, key=lambda part: part.index)


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_plan_cuts_at_keyframes_with_warmup_before_each_seam(clip: Path):
    plan = segments.plan(segments.read_index(clip), 1.0, warmup=4)
    assert [s.frames for s in plan] == [10, 10, 10]
    assert [(s.start_time, s.end_time) for s in plan] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    step = 1024  # 1/10 s in the clip's 1/10240 time base
    assert [s.warmup_from for s in plan[1:]] == [6 * step, 16 * step]
    assert plan[1].seek <= 0 and 0 < plan[2].seek <= 10 * step  # the keyframes before the warm-ups
    assert [s.trail_to for s in plan] == [13 * step, 23 * step, None]  # the encoder's 3 frames after each end
    assert len(segments.plan(segments.read_index(clip), 10.0)) == 1
    part = segments.plan(segments.read_index(clip), 0.4, warmup=4, start=0.55, duration=1.8)  # frames 0.6-2.3 s
    assert [s.frames for s in part] == [4, 10, 4]
    assert part[0].start == part[0].warmup_from == 6 * step and part[0].seek <= 0  # no warm-up before a part
    assert part[1].warmup_from == 6 * step and part[2].warmup_from == 16 * step  # warm-up inside the part
    assert part[-1].end == 24 * step and part[-1].trail_to == 27 * step
    with pytest.raises(rtstyle.SourceError, match="no video frame at or after 3.5 s"):
        segments.plan(segments.read_index(clip), 1.0, start=3.5)


def test_a_phone_trimmed_video_is_planned_from_what_plays(data: Path, tmp_path: Path):
    """The frames an MP4's edit list leaves out are decoded, never shown: they are not counted
    for the progress bar nor cut at (they were: 30 frames, from -1 s)."""
    from tools.bad_inputs import cases

    [trimmed] = [c for c in cases() if c.id == "edit list-a phone's trim: 1 s left out"]
    index = segments.read_index(trimmed.make(data, tmp_path).src)
    assert index.frame_count_hint == 20 and min(pts for pts, _, _ in index.packets) == 0


def test_warmup_follows_smoothing_strength():
    assert segments.warmup_frames(rtstyle.make_smoother("none")) == 0
    assert segments.warmup_frames(rtstyle.make_smoother("flow", 0.6)) == 10  # 0.6^10 < 1 %
    assert segments.warmup_frames(rtstyle.make_smoother("ema", 0.9)) == 44
    assert segments.lead_frames(rtstyle.make_smoother("none")) == segments.ENCODER_CONTEXT == 3  # the encoder's


def test_segmented_render_matches_one_machine(segmented, one_machine: Path, clip: Path):
    dst, [result], seen, _ = segmented
    assert result.ok and result.segments == 3, result.error
    before, one, after = stream_info(clip), stream_info(one_machine), stream_info(dst)
    assert after["frames"] == one["frames"] == before["frames"] == result.frames == 30
    assert after["video_times"] == one["video_times"]
    assert abs(after["audio_duration"] - before["audio_duration"]) < 1e-6  # copied, not re-encoded
    assert after["audio_duration"] == one["audio_duration"]
    psnr = [cv2.PSNR(a, b) for a, b in zip(decode_video(one_machine), decode_video(dst))]
    assert min(psnr) >= 45, psnr
    assert psnr[0] == float("inf") or psnr[0] > 99  # before the first seam: the very same pictures
    assert seen[-1][:2] == (30, 30) and all(a <= b for (a, _, _), (b, _, _) in zip(seen, seen[1:]))
    assert any(done % 10 for done, _, _ in seen), seen  # the workers say how far they are within their segments
    assert any(joined and done < 30 for done, _, joined in seen), seen  # the join starts while workers render
    assert not distributed.segment_folder(dst).exists()


@pytest.mark.parametrize("suffix, codec, streams", [(".webm", None, ["vp9", "opus"]), (".avi", None, ["h264", "mp3"]),
                                                   (".mp4", "hevc", ["hevc", "aac"]),
                                                   (".mov", "prores", ["prores", "aac"])])
def test_other_containers_are_joined_from_their_own_segments(ray_runtime, clip: Path, textured_model: Path, settings,
                                                             tmp_path: Path, suffix: str, codec: str | None,
                                                             streams: list[str]):
    """WebM takes no H.264: the segments are encoded in VP9, as a one-machine render of a .webm
    is. AVI stores no presentation times: the segments are encoded without B-frames and the
    join counts them in the AVI's ticks (it failed: "Invalid data found"). --codec: the
    segments in HEVC (each starting at an IDR frame) or ProRes (in a MOV: MP4 holds none). All
    joined without re-encoding, timed and painted as one machine's render."""
    one = tmp_path / f"one{suffix}"
    rtstyle.render(clip, one, rtstyle.load_style(textured_model, threads=1), smooth=rtstyle.make_smoother(*SMOOTH),
                   crf=CRF, codec=codec)
    dst = tmp_path / f"ray{suffix}"
    [result] = distributed.render_files([(clip, dst)], dataclasses.replace(settings, codec=codec), workers=2)
    assert result.ok and result.segments == 3 and result.check.ok, result.error or result.check.summary()
    with av.open(str(dst)) as c, av.open(str(one)) as d:
        assert [s.codec_context.codec.canonical_name for s in c.streams] == streams
        assert c.streams.video[0].codec_tag == d.streams.video[0].codec_tag, "as one machine's (hev1, avc1 before)"
    assert stream_info(dst)["video_times"] == stream_info(one)["video_times"]
    psnr = [cv2.PSNR(a, b) for a, b in zip(decode_video(one), decode_video(dst))]
    assert len(psnr) == 30 and min(psnr) >= 40, psnr


@pytest.mark.parametrize("suffix, codec", [(".mov", "prores"), (".webm", None)])
def test_a_transparent_input_on_ray_keeps_its_alpha_as_one_machine(suffix: str, codec: str | None, ray_runtime,
                                                                   data: Path, textured_model: Path, settings,
                                                                   tmp_path: Path):
    """RGBA pictures on Ray into ProRes (--codec prores) or a .webm: the segments keep the alpha
    (ProRes 4444; VP9 in Matroska segments, as MP4 drops VP9's alpha), joined into the one
    machine's pictures and alpha, the WebM's stream marked as holding it (its decision taken once,
    for every segment)."""
    from dataclasses import replace

    alpha = transparent_shot(decode_video(data / "walk_tone.mp4"), tmp_path / "rgba")
    one = tmp_path / f"one{suffix}"
    rtstyle.render(tmp_path / "rgba", one, rtstyle.load_style(textured_model, threads=1),
                   smooth=rtstyle.make_smoother(*SMOOTH), crf=CRF, codec=codec, rate=10)
    dst = tmp_path / f"ray{suffix}"
    [result] = distributed.render_files([(tmp_path / "rgba", dst)], replace(settings, codec=codec, rate=10),
                                        workers=2)
    assert result.ok and result.segments == 3 and result.check.ok, result.error or result.check.summary()
    if codec == "prores":
        with av.open(str(dst)) as c:
            assert c.streams.video[0].codec_context.profile == "4444"
            alphas = [frame.to_ndarray(format="rgba")[..., 3] for frame in c.decode(video=0)]
        assert len(alphas) == 30 and max(np.abs(a.astype(int) - alpha).max() for a in alphas) <= 1
    else:
        with av.open(str(dst)) as c:
            assert c.streams.video[0].metadata.get("alpha_mode") == "1"
        alphas = vp9_alphas(dst)
        assert len(alphas) == 30 and max(np.abs(a.astype(int) - alpha).max() for a in alphas) <= 3
    psnr = [cv2.PSNR(a, b) for a, b in zip(decode_video(one), decode_video(dst))]
    assert len(psnr) == 30 and min(psnr) >= 40, psnr


def test_a_part_on_ray_is_the_one_machine_part(ray_runtime, clip: Path, textured_model: Path, settings,
                                               tmp_path: Path):
    """--start 0.55 --duration 1.8: the frames from 0.6 to 2.3 s, in three segments (cut at the
    keyframes at 1 and 2 s), joined into the same timing and pictures as one machine's render
    of that part, with the sound of that part; both shrunk to fit --max-size 200x200."""
    from dataclasses import replace

    one = tmp_path / "one.mp4"
    rtstyle.render(clip, one, rtstyle.load_style(textured_model, threads=1), smooth=rtstyle.make_smoother(*SMOOTH),
                   crf=CRF, start=0.55, duration=1.8, max_size=(200, 200))
    dst = tmp_path / "ray.mp4"
    [result] = distributed.render_files([(clip, dst)], replace(settings, start=0.55, duration=1.8, segment_seconds=0.4,
                                                               max_size=(200, 200)), workers=2)
    assert result.ok and result.segments == 3, result.error or result.check.summary()
    ray_info, one_info = stream_info(dst), stream_info(one)
    assert result.frames == ray_info["frames"] == one_info["frames"] == 18
    assert ray_info["video_times"] == one_info["video_times"] and ray_info["video_times"][0] == 0.0
    assert abs(ray_info["audio_duration"] - one_info["audio_duration"]) < 0.03
    psnr = [cv2.PSNR(a, b) for a, b in zip(decode_video(one), decode_video(dst))]
    assert decode_video(dst)[0].shape == (150, 200, 3)
    assert psnr[0] == float("inf") or psnr[0] > 99  # the first segment starts as the one machine does
    assert min(psnr) >= 40, psnr


def test_an_image_sequence_on_ray_is_the_one_machine_render(ray_runtime, data: Path, textured_model: Path, settings,
                                                            tmp_path: Path):
    """Numbered pictures at 10 fps (every one a keyframe), named by their pattern and numbered from
    1001 as in film work: cut into 3 segments and joined into the frames and times of one
    machine's render, no sound."""
    from dataclasses import replace
    from fractions import Fraction

    folder = tmp_path / "shot"
    folder.mkdir()
    for n, frame in enumerate(decode_video(data / "walk_tone.mp4"), start=1001):
        cv2.imwrite(str(folder / f"shot_{n:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    one = tmp_path / "one.mp4"
    rtstyle.render(folder, one, rtstyle.load_style(textured_model, threads=1), smooth=rtstyle.make_smoother(*SMOOTH),
                   crf=CRF, rate=10)
    dst = tmp_path / "ray.mp4"
    [result] = distributed.render_files([(folder / "shot_%04d.png", dst)], replace(settings, rate=Fraction(10)),
                                        workers=2)
    assert result.ok and result.segments == 3, result.error or result.check.summary()
    ray_info, one_info = stream_info(dst), stream_info(one)
    assert ray_info["video_times"] == one_info["video_times"] == pytest.approx([n / 10 for n in range(30)])
    assert ray_info["audio_duration"] is None
    psnr = [cv2.PSNR(a, b) for a, b in zip(decode_video(one), decode_video(dst))]
    assert len(psnr) == 30 and min(psnr) >= 40, psnr


@pytest.mark.parametrize("numbered", ["video part", "sequence"])
def test_numbered_pictures_on_ray_are_the_one_machine_pictures(numbered: str, ray_runtime, clip: Path, data: Path,
                                                               textured_model: Path, settings, tmp_path: Path):
    """Numbered pictures out: each segment writes its own frames where they go (nothing to join),
    numbered as one machine numbers them (a video's part from 1 across the seams; an image
    sequence by its own numbers), the same pictures; the segment folder goes, the check counts."""
    from dataclasses import replace
    from fractions import Fraction

    src, framing, rate = clip, {"start": 0.55, "duration": 1.8}, None
    if numbered == "sequence":
        src, framing, rate = tmp_path / "shot", {}, Fraction(10)
        src.mkdir()
        for n, frame in enumerate(decode_video(data / "walk_tone.mp4"), start=1001):
            cv2.imwrite(str(src / f"shot_{n:04d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    (tmp_path / "one").mkdir()
    (tmp_path / "ray").mkdir()
    rtstyle.render(src, tmp_path / "one" / "p_%04d.png", rtstyle.load_style(textured_model, threads=1),
                   smooth=rtstyle.make_smoother(*SMOOTH), rate=rate, **framing)
    dst = tmp_path / "ray" / "p_%04d.png"
    [result] = distributed.render_files([(src, dst)], replace(settings, rate=rate, segment_seconds=0.4, **framing),
                                        workers=2)
    assert result.ok and result.segments >= 3, result.error or result.check.summary()
    names = sorted(f.name for f in (tmp_path / "one").iterdir())
    assert sorted(f.name for f in (tmp_path / "ray").iterdir()) == names, "no segment folder is left either"
    first = 1001 if numbered == "sequence" else 1
    assert names == [f"p_{n:04d}.png" for n in range(first, first + (30 if numbered == "sequence" else 18))]
    psnr = [cv2.PSNR(cv2.imread(str(tmp_path / "one" / name)), cv2.imread(str(tmp_path / "ray" / name)))
            for name in names]
    assert min(psnr) >= 40, psnr


def test_two_workers_render_two_segments_at_once(segmented):
    """Each worker is given one segment at a time: the first two go to both workers, side by side."""
    first, second, third = segmented[3]
    assert first.worker != second.worker and third.worker in (first.worker, second.worker)
    assert first.started < second.finished and second.started < first.finished
    assert third.started >= min(first.finished, second.finished)


def test_a_worker_ray_cannot_place_yet_holds_no_segment(ray_runtime, clip: Path, settings, segmented,
                                                        tmp_path: Path):
    """Other work holds one of the 2 CPUs all along (a shared cluster): the second worker never
    starts, and the first renders every segment instead of the render waiting on the second."""

    @ray.remote(num_cpus=1)
    class Other:
        def ready(self) -> bool:
            return True

    other = Other.remote()
    ray.get(other.ready.remote())
    stop = threading.Event()
    waited_on = threading.Timer(120, stop.set)  # a render waiting on the second worker is stopped: red, not hung
    waited_on.start()
    try:
        parts: list[segments.SegmentResult] = []
        [result] = distributed.render_files([(clip, tmp_path / "out.mp4")], settings, workers=2, stop=stop,
                                            on_segment=lambda src, part: parts.append(part))
    finally:
        waited_on.cancel()
        ray.kill(other)
    assert result.ok, result.error
    assert len(parts) == 3 and len({part.worker for part in parts}) == 1
    assert video_packets(tmp_path / "out.mp4") == video_packets(segmented[0])


def test_a_worker_no_node_can_take_is_said_and_waited_for_on_a_cluster(ray_runtime, clip: Path, settings,
                                                                       tmp_path: Path):
    """A GPU worker on a cluster without GPUs (this 2-CPU runtime): a warning first, then the
    render waits (an autoscaler may add a node) until it is stopped, leaving nothing."""
    stop, notes = threading.Event(), []
    timer = threading.Timer(3, stop.set)
    timer.start()
    gpu = dataclasses.replace(settings, style_options={"providers": "cuda"})
    with pytest.raises(distributed.Cancelled):
        distributed.render_files([(clip, tmp_path / "out.mp4")], gpu, stop=stop, on_note=notes.append)
    timer.cancel()
    assert notes == ["warning: no node of the Ray cluster has the 1 CPU and 1 GPU a worker takes (leave out --provider "
                     "to render on the CPUs): the render waits until the cluster has one (an autoscaler adding it)"]
    assert list(tmp_path.iterdir()) == []


def test_a_worker_the_local_runtime_cannot_take_is_one_line(clip: Path, tiny_model: Path, tmp_path: Path):
    """The same on the local runtime the command starts (no node will come): one line, exit 1, nothing written."""
    done = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(clip), str(tmp_path / "out.mp4"), "--style",
                           str(tiny_model), "--ray", "--provider", "cuda"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    said = done.stderr.strip().splitlines()
    assert said[0].startswith("style tiny on CPUExecutionProvider"), said  # why not CUDA: this onnxruntime has none
    assert said[1:] == ["error: no node of the Ray cluster has the 1 CPU and 1 GPU a worker takes (leave out "
                        "--provider to render on the CPUs)"]  # not Ray's token-authentication notice either
    assert list(tmp_path.iterdir()) == []


def test_on_a_cluster_given_by_address_the_command_warns_and_waits(ray_runtime, clip: Path, tiny_model: Path,
                                                                    tmp_path: Path):
    """`--ray=ADDRESS` of a cluster without GPUs and `--provider cuda`: the warning, then the
    render waits for a node (an autoscaler's) until Ctrl-C; nothing is left."""
    address = ray_runtime.get_runtime_context().gcs_address
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", "render", str(clip), str(tmp_path / "out.mp4"),
                             "--style", str(tiny_model), "--ray=" + address, "--provider", "cuda"],
                            stderr=subprocess.PIPE, text=True)
    silent = threading.Timer(120, proc.kill)  # a command that waits without the warning: red, not hung
    silent.start()
    try:
        said = [proc.stderr.readline()]
        while said[-1] and not said[-1].startswith(("warning: no node", "error")):
            said.append(proc.stderr.readline())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        silent.cancel()
        proc.kill()
    assert said[-1].startswith("warning: no node of the Ray cluster has the 1 CPU and 1 GPU a worker takes"), said
    assert proc.returncode == 130, err
    assert list(tmp_path.iterdir()) == []


def test_seams_flicker_like_one_machine(segmented, one_machine: Path, clip: Path):
    """E_warp over the pairs around each seam (frames 7-12 and 17-22) within 10 % of one machine's."""
    dst = segmented[0]
    original, one, split = decode_video(clip), decode_video(one_machine), decode_video(dst)
    for seam in (10, 20):
        meter = metrics.WarpError(2)
        for i in range(seam - 3, seam + 3):
            meter.add(original[i], [one[i], split[i]])
        e_one, e_split = meter.values
        assert abs(e_split - e_one) <= 0.1 * e_one, (seam, e_one, e_split)


def reencode(frames_of: Path, dst: Path, keyframes: tuple[int, ...], crf: int = 18) -> list:
    """One continuous encode of a render's frames with the render's settings, keyframes forced at ``keyframes``."""
    source = VideoFileSource(frames_of, reference=False)
    sink = VideoFileSink(dst, source.width, source.height, source.time_base, source.fps, crf=crf)
    sink.stream.codec_context.options["forced-idr"] = "1"
    for frame in source.frames():
        sink.write(frame.image, frame.pts, PictureType.I if frame.index in keyframes else None)
    sink.close()
    source.close()
    return decode_video(dst)


def test_seams_at_the_default_crf_flicker_like_keyframes(ray_runtime, clip: Path, one_machine: Path, settings,
                                                         tmp_path: Path):
    """At crf 18 a seam is a keyframe, where coding noise starts afresh: E_warp over the pairs around
    it must match a one-machine encode with keyframes at the seams (the encoders on both sides of a
    seam see the video go on), and it is reported against the one-machine encode without them."""
    dst = tmp_path / "ray18.mp4"
    [result] = distributed.render_files([(clip, dst)], dataclasses.replace(settings, crf=18), workers=2)
    assert result.ok, result.error
    original, split = decode_video(clip), decode_video(dst)
    # The reference encodes: the same painted frames (the lossless one-machine render), re-encoded at crf 18.
    keyed = reencode(one_machine, tmp_path / "keyed.mp4", keyframes=(10, 20))
    plain = reencode(one_machine, tmp_path / "plain.mp4", keyframes=())
    for seam in (10, 20):
        meter = metrics.WarpError(3)
        for i in range(seam - 3, seam + 3):
            meter.add(original[i], [split[i], keyed[i], plain[i]])
        e_split, e_keyed, e_plain = meter.values
        assert abs(e_split - e_keyed) <= 0.02 * e_keyed, (seam, e_split, e_keyed, e_plain)
        assert e_split <= 1.15 * e_plain, (seam, e_split, e_keyed, e_plain)


def test_no_warmup_shows_at_the_seam(ray_runtime, clip: Path, one_machine: Path, settings, tmp_path: Path):
    """Control for the test above: without warm-up frames the seam frame is visibly different."""
    plan = segments.plan(segments.read_index(clip), 1.0, warmup=0)
    folder = tmp_path / "parts"
    folder.mkdir()
    style = rtstyle.load_style(settings.style, threads=1)
    for seg in plan[:2]:
        segments.render_segment(clip, seg, folder, style, rtstyle.make_smoother(*SMOOTH), crf=CRF)
    cold = decode_video(segments.part_path(folder, 1))[0]
    assert cv2.PSNR(decode_video(one_machine)[10], cold) < 45


def worker_pids() -> list[int]:
    """Processes of this runtime's live SegmentWorker actors, found as an operator would: Ray
    names them, and they are children of the session's raylet."""
    session = Path(ray.nodes()[0]["ObjectStoreSocketName"]).parent.parent.name
    processes = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit():
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                processes[int(entry.name)] = (ppid, (entry / "cmdline").read_bytes())
        except OSError:
            continue
    raylets = {pid for pid, (_, cmd) in processes.items() if b"raylet" in cmd.split(b"\0")[0] and session.encode() in cmd}
    return [pid for pid, (ppid, cmd) in processes.items() if ppid in raylets and b"SegmentWorker" in cmd]


def test_killed_worker_is_retried_and_output_identical(ray_runtime, clip: Path, settings, segmented, tmp_path: Path):
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if not killed and 2 <= done < 20:
            pid = worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    dst = tmp_path / "killed.mp4"
    [result] = distributed.render_files([(clip, dst)], settings, workers=2, on_progress=kill_one)
    assert killed and result.ok, result.error
    assert video_packets(dst) == video_packets(segmented[0])  # byte-identical video stream


def test_failed_segment_is_named_and_resume_finishes(ray_runtime, clip: Path, settings, segmented, tmp_path: Path):
    dst = tmp_path / "out.mp4"
    folder = distributed.segment_folder(dst)
    blocker = segments.part_path(folder, 2)

    def block_last_segment(done: int, total: int) -> None:
        blocker.mkdir(exist_ok=True)  # the worker cannot store its file there: no retry helps

    [failed] = distributed.render_files([(clip, dst)], settings, workers=1, on_progress=block_last_segment)
    assert not failed.ok and not dst.exists()
    assert failed.error.startswith("segment 3 (0:02.000-0:03.000 of gop.mp4) failed: cannot store segment-00002.mp4")
    assert "2 of 3 segments done are kept" in failed.error and "\n" not in failed.error
    assert sorted(p.name for p in folder.glob("segment-*") if p.is_file()) == [
        "segment-00000.mp4", "segment-00001.mp4", "segment-00002.partial.mp4"]
    blocker.rmdir()
    [again] = distributed.render_files([(clip, dst)], settings, workers=1)
    assert "add --resume to reuse them" in again.error and segments.part_path(folder, 1).exists()
    seen: list[int] = []
    [resumed] = distributed.render_files([(clip, dst)], settings, workers=1, resume=True,
                                         on_progress=lambda done, total: seen.append(done))
    assert resumed.ok, resumed.error
    assert seen[0] >= 20 and seen[-1] == 30  # the kept segments count as done and are not rendered again
    assert video_packets(dst) == video_packets(segmented[0])
    assert not folder.exists()


def test_overwrite_renders_again_what_is_not_reused(ray_runtime, clip: Path, settings, segmented, tmp_path: Path):
    """Segments an earlier render kept: refused without --resume or --overwrite, and with --resume
    when the settings changed; with --overwrite they are removed and everything is rendered again."""
    dst = tmp_path / "out.mp4"
    folder = distributed.segment_folder(dst)
    earlier, crf30 = distributed._Job(0, clip, dst, folder), dataclasses.replace(settings, crf=30)
    distributed._inspect(earlier, crf30)
    distributed._prepare(earlier, crf30, False, 1)
    segments.part_path(folder, 1).write_bytes(b"a segment of the render at --crf 30")
    [refused] = distributed.render_files([(clip, dst)], settings, workers=1)
    assert "add --resume to reuse them, or --overwrite to render it again" in refused.error
    [refused] = distributed.render_files([(clip, dst)], settings, workers=1, resume=True)
    assert "holds segments of another input or other settings: add --overwrite" in refused.error
    assert segments.part_path(folder, 1).exists() and not dst.exists()
    seen: list[int] = []
    [again] = distributed.render_files([(clip, dst)], settings, workers=1, resume=True, overwrite=True,
                                       on_progress=lambda done, total: seen.append(done))
    assert again.ok, again.error
    assert seen[0] < 10 and video_packets(dst) == video_packets(segmented[0]) and not folder.exists()


def test_numbered_pictures_resume_from_the_segments_done(ray_runtime, clip: Path, settings, tmp_path: Path):
    """A segment that fails leaves the pictures of those done, and their marks; --resume renders
    the rest only and keeps those pictures (a fresh render would have removed them)."""
    dst = tmp_path / "p_%04d.png"
    folder = distributed.segment_folder(dst)
    blocker = segments.part_path(folder, 2, pictures=True)

    def block_last_segment(done: int, total: int) -> None:
        blocker.mkdir(exist_ok=True)  # the worker cannot leave its mark there

    (tmp_path / "p_0099.png").write_bytes(b"an earlier, longer render's")  # (the command asks for --overwrite)
    [failed] = distributed.render_files([(clip, dst)], settings, workers=1, on_progress=block_last_segment)
    assert not failed.ok and "cannot store segment-00002.done" in failed.error, failed.error
    assert not (tmp_path / "p_0099.png").exists(), "a fresh render starts with none of the pattern's pictures"
    kept = {f.name: f.stat().st_mtime_ns for f in tmp_path.glob("p_*.png")}
    assert sorted(kept)[:20] == [f"p_{n:04d}.png" for n in range(1, 21)]
    blocker.rmdir()
    seen: list[int] = []
    [resumed] = distributed.render_files([(clip, dst)], settings, workers=1, resume=True,
                                         on_progress=lambda done, total: seen.append(done))
    assert resumed.ok and resumed.check.frames == 30, resumed.error
    assert seen[0] >= 20 and not folder.exists()
    assert sorted(f.name for f in tmp_path.glob("p_*.png")) == [f"p_{n:04d}.png" for n in range(1, 31)]
    assert all((tmp_path / name).stat().st_mtime_ns == t for name, t in kept.items() if name <= "p_0020.png")


@pytest.mark.parametrize("name", ["cancelled.mp4", "cancelled_%04d.png"])
def test_stop_cancels_and_leaves_no_temporary_files(name: str, ray_runtime, clip: Path, settings, tmp_path: Path):
    """Nothing is left: no segment folder, no output, no picture a segment wrote."""
    stop = threading.Event()

    def stop_soon(done: int, total: int) -> None:
        if done >= 1:
            stop.set()

    dst = tmp_path / name
    with pytest.raises(distributed.Cancelled):
        distributed.render_files([(clip, dst)], settings, workers=2, on_progress=stop_soon, stop=stop)
    assert list(tmp_path.iterdir()) == []


def test_folder_with_a_broken_file_renders_the_others(ray_runtime, clip: Path, data: Path, tiny_model: Path,
                                                      tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.mp4").write_bytes(clip.read_bytes())
    (inputs / "b_broken.mp4").write_bytes(clip.read_bytes()[:3000])  # cut off: no index, nothing plays
    (inputs / "c.mkv").write_bytes((data / "walk_pcm.mkv").read_bytes())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(inputs), str(out), "--style", str(tiny_model), "--ray",
                                       "--segment-seconds", "1"])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("a.mp4") and line.endswith("ok") and " 3 " in line for line in lines), result.output
    assert any(line.startswith("c.mkv") and line.endswith("ok") for line in lines), result.output
    assert any(line.startswith("b_broken.mp4") and "FAILED: cannot open b_broken.mp4" in line for line in lines)
    assert lines[-1] == "error: 1 of 3 inputs failed (see the table above)"
    assert sorted(p.name for p in out.iterdir()) == ["a.mp4", "c.mp4"]
    assert stream_info(out / "c.mp4")["frames"] == stream_info(data / "walk_pcm.mkv")["frames"]
    # The broken file mended, the same command with --resume: the outputs done are kept, the third rendered.
    (inputs / "b_broken.mp4").write_bytes(clip.read_bytes())
    done = {name: (out / name).stat().st_mtime_ns for name in ("a.mp4", "c.mp4")}
    again = CliRunner().invoke(main, ["render", str(inputs), str(out), "--style", str(tiny_model), "--ray",
                                      "--segment-seconds", "1", "--resume"])
    assert again.exit_code == 0, again.output
    lines = again.output.splitlines()
    table = lines[next(i for i, line in enumerate(lines) if line.startswith("input ")) + 1:]
    outcomes = {line.split()[0]: line.split("  ")[-1].strip() for line in table}
    assert outcomes == {"a.mp4": "kept (rendered before)", "b_broken.mp4": "ok", "c.mkv": "kept (rendered before)"}, \
        again.output
    assert {name: (out / name).stat().st_mtime_ns for name in ("a.mp4", "c.mp4")} == done


def test_without_ray_the_option_says_how_to_get_it(data: Path, tiny_model: Path, tmp_path: Path):
    code = "import sys; sys.modules['ray'] = None; from rtstyle.cli import main; main()"
    run = subprocess.run([sys.executable, "-c", code, "render", str(data / "walk_tone.mp4"), str(tmp_path / "o.mp4"),
                          "--style", str(tiny_model), "--ray"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1] == "error: --ray needs Ray: pip install 'rtstyle[ray]'"
    assert "Traceback" not in run.stderr


def test_a_missing_input_fails_before_ray_starts(tiny_model: Path, tmp_path: Path, monkeypatch):
    """A runtime takes seconds to start: a missing input is said first (it was said after)."""
    started = []
    monkeypatch.setattr(distributed, "render_files", lambda *a, **k: started.append(1) or [])
    r = CliRunner().invoke(main, ["render", str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4"),
                                  "--style", str(tiny_model), "--ray"])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [f"error: input not found: {tmp_path / 'missing.mp4'}"]
    assert not started


def test_a_gif_is_refused_before_ray_starts(data: Path, tiny_model: Path, tmp_path: Path, monkeypatch):
    """Its palette comes from all its frames: a GIF is made on one machine."""
    started = []
    monkeypatch.setattr(distributed, "render_files", lambda *a, **k: started.append(1) or [])
    r = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(tmp_path / "o.gif"),
                                  "--style", str(tiny_model), "--ray"])
    assert r.exit_code == 1 and r.stderr.strip().splitlines() == [
        "error: o.gif: a GIF is not rendered on Ray (its palette comes from all its frames at once): leave out --ray"]
    assert not started and not list(tmp_path.iterdir())


def test_a_style_that_does_not_load_on_the_workers_is_one_line(ray_runtime, clip: Path, tmp_path: Path):
    """A style file missing on the worker's node (here: missing everywhere) fails that video in one line."""
    settings = distributed.Settings(str(tmp_path / "elsewhere.onnx"), {"providers": "cpu"}, segment_seconds=1.0)
    [result] = distributed.render_files([(clip, tmp_path / "o.mp4")], settings, workers=1)
    assert result.error.startswith("segment 1 (0:00.000-0:01.000 of gop.mp4): its worker could not start: ")
    assert "elsewhere.onnx" in result.error and "\n" not in result.error


def test_resume_fingerprint_covers_style_pictures(tmp_path: Path):
    """--style-image gives a {Path: weight} dict: the settings a resume compares must take it."""
    a = distributed.Settings("arbitrary", {"style_images": {tmp_path / "a.jpg": 1.0}})
    b = distributed.Settings("arbitrary", {"style_images": {tmp_path / "b.jpg": 1.0}})
    assert a.fingerprint() != b.fingerprint()
    assert a.fingerprint() == distributed.Settings("arbitrary", {"style_images": {tmp_path / "a.jpg": 1.0}}).fingerprint()


def test_a_soundtrack_on_ray_is_joined_in_as_on_one_machine(ray_runtime, clip: Path, settings, tmp_path: Path):
    """--audio on Ray: the joined video gets the other file's sound, cut where the video ends,
    as one machine's render does. No segment holds sound, so a resume with another soundtrack
    reuses the segments."""
    from test_render import pitches
    from test_soundtrack import PITCHES, seconds_of_sound, soundtrack

    song = soundtrack(tmp_path / "song.wav", 5.0)
    dst = tmp_path / "ray.mp4"
    [result] = distributed.render_files([(clip, dst)], dataclasses.replace(settings, audio=str(song)), workers=2)
    assert result.ok and result.segments == 3, result.error or result.check.summary()
    assert pitches(dst, [(0.1, 0.9), (1.1, 1.9), (2.1, 2.9)]) == pytest.approx(PITCHES[:3], abs=5)
    assert seconds_of_sound(dst) == pytest.approx(3.0, abs=0.03)
    assert dataclasses.replace(settings, audio="a.wav").fingerprint() == settings.fingerprint()


@pytest.mark.slow  # a second Ray runtime in a subprocess: about a minute on a busy 2-core machine
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_on_the_command_line_cancels_and_leaves_nothing(signum: int, clip: Path, tiny_model: Path,
                                                               tmp_path: Path):
    """A real SIGINT (Ctrl-C) or SIGTERM (kill, docker stop) to `rtstyle render --ray` (its own local
    runtime): exit 128 + the signal's number, no output, no segments."""
    dst = tmp_path / "out.mp4"
    folder = distributed.segment_folder(dst)
    env = {**os.environ, "RAY_worker_niceness": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", "render", str(clip), str(dst), "--style", str(tiny_model),
                             "--segment-seconds", "1", "--ray"], stderr=subprocess.PIPE, text=True, env=env)
    try:
        for _ in range(1200):  # the runtime and the workers start, a first segment file appears
            if folder.is_dir() and any(folder.glob("segment-*")) or proc.poll() is not None:
                break
            threading.Event().wait(0.1)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert err.strip().splitlines()[-1].startswith(f"interrupted ({signal.Signals(signum).name}): workers stopped")
    assert list(tmp_path.iterdir()) == []


def test_one_file_on_the_command_line(ray_runtime, clip: Path, tiny_model: Path, tmp_path: Path):
    dst = tmp_path / "out.mp4"
    result = CliRunner().invoke(main, ["render", str(clip), str(dst), "--style", str(tiny_model),
                                       "--segment-seconds", "1", "--ray"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[-2].startswith("30 frames in ") and lines[-2].endswith(f"3 segments on Ray -> {dst}")
    assert lines[-1].startswith("A/V check: ok: 30 frames")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_part_on_ray_before_the_input_sound_starts_has_none(ray_runtime, data: Path, settings, tmp_path: Path):
    """Sound from 2.5 s on, the first two seconds rendered on Ray into Matroska: no audio stream,
    as on one machine (the joined file listed an empty one), and the check asks for none."""
    from dataclasses import replace

    from tools.bad_inputs import SIZE, clip_frames, write_video

    src = write_video(tmp_path / "late.mkv", clip_frames(data, 30, SIZE), audio=("pcm_s16le",), audio_start=2.5,
                      options={"g": "10"})
    dst = tmp_path / "ray.mkv"
    [result] = distributed.render_files([(src, dst)], replace(settings, duration=2.0, segment_seconds=0.4), workers=2)
    assert result.ok and result.frames == 20 and result.segments == 2, result.error or result.check.summary()
    with av.open(str(dst)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_a_camcorders_dv_file_on_ray_keeps_its_rate_and_timecode(ray_runtime, settings, tmp_path: Path):
    """A raw .dv (FFmpeg stores 60000 fps as its average rate) into MOV on Ray: the joined stream
    says 25 fps (it said none, and MOV's timecode track was timed by the 1/60000 time base and
    refused when the file was finished: the join failed), with the tape's timecode."""
    from test_render import timecode_of

    src = camcorder_dv(tmp_path / "tape.dv")
    short = dataclasses.replace(settings, segment_seconds=0.2)
    [result] = distributed.render_files([(src, tmp_path / "ray.mov")], short, workers=2)
    assert result.ok and result.frames == 10 and result.segments == 2, result.error or result.check.summary()
    with av.open(str(tmp_path / "ray.mov")) as c:
        assert c.streams.video[0].average_rate == 25
    assert timecode_of(tmp_path / "ray.mov") == (0, 0, 10, 0)


def test_chapters_and_timecode_on_ray_are_the_one_machines(ray_runtime, clip: Path, settings, tmp_path: Path):
    """An MP4 with chapter marks and a start timecode, a part of it on Ray (--start 0.55
    --duration 1.8, three segments): the joined file has the chapters of that part as one
    machine's render has them, from its first frame (at 0.6 s) to the end asked for (2.35 s), and
    that frame's timecode."""
    from dataclasses import replace
    from fractions import Fraction

    from test_render import chapter_list, timecode_of

    marked = tmp_path / "marked.mp4"
    with av.open(str(clip)) as c, av.open(str(marked), "w") as out:
        out.set_chapters([{"id": n, "start": a, "end": b, "time_base": Fraction(1, 10), "metadata": {"title": t}}
                          for n, (a, b, t) in enumerate([(0, 10, "Intro"), (10, 25, "Walk"), (25, 30, "End")], 1)])
        streams = {s.index: out.add_stream_from_template(s) for s in c.streams}
        streams[c.streams.video[0].index].metadata["timecode"] = "01:00:00:00"
        for packet in c.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    [result] = distributed.render_files([(marked, tmp_path / "ray.mkv")],
                                        replace(settings, start=0.55, duration=1.8, segment_seconds=0.4), workers=2)
    assert result.ok and result.segments == 3, result.error or result.check.summary()
    rtstyle.render(marked, tmp_path / "one.mkv", rtstyle.load_style(settings.style, threads=1), start=0.55,
                   duration=1.8)
    assert chapter_list(tmp_path / "ray.mkv") == chapter_list(tmp_path / "one.mkv") == [(0.0, 0.4, "Intro"),
                                                                                           (0.4, 1.75, "Walk")]
    assert timecode_of(tmp_path / "ray.mkv") == timecode_of(tmp_path / "one.mkv") == (1, 0, 0, 6)
