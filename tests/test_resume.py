"""A stopped render goes on where its file ends (rtstyle.resume): the frames kept are the stopped
file's own, the rest painted as an uninterrupted render paints them, the sound whole; a file that
is no stopped render of the same input and settings is refused and left as it is."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import rtstyle
from conftest import decode_video, stream_info
from rtstyle.errors import SinkError
from rtstyle.resume import record_path, set_aside_path
from rtstyle.sources import read_image

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scenes(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three scenes of 3 s at 10 fps with a tone: the painting's encoder starts a keyframe at each
    cut (0, 3 and 6 s), where a stopped render's file can be cut."""
    from tools.bad_inputs import SIZE, clip_frames, write_video

    pans = [cv2.resize(read_image(data / name), SIZE) for name in ("rubberwhale1.png", "messi5.jpg")]
    frames = clip_frames(data, 30, SIZE) + [np.roll(p, 2 * i, axis=1) for p in pans for i in range(30)]
    return write_video(tmp_path_factory.mktemp("scenes") / "scenes.mp4", frames)


@pytest.fixture(scope="module")
def whole(scenes: Path, style, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The render of ``scenes`` nothing stopped."""
    out = tmp_path_factory.mktemp("whole") / "whole.mp4"
    assert rtstyle.render(scenes, out, style).check.ok
    return out


@pytest.fixture(scope="module")
def pan(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """27 s of one scene at 10 fps, a picture moving a pixel a frame: the encoder's keyframes come
    inside the scene, where the smoother's history runs across them."""
    from tools.bad_inputs import write_video

    picture = cv2.resize(read_image(data / "rubberwhale1.png"), (128, 96))
    return write_video(tmp_path_factory.mktemp("pan") / "pan.mp4", [np.roll(picture, i, axis=1) for i in range(270)])


def assert_like(whole: list[np.ndarray], resumed: list[np.ndarray], seam: int, same_until: int = 0) -> list[float]:
    """The resumed render has every frame of the whole one: before ``same_until`` the very same
    pictures, and each the whole render's at its place (closer to it than to its neighbours: no frame
    lost or repeated at the ``seam``), within the encoder's noise (two encodes of one picture at
    --crf 18 are about 41 dB apart). Returns the frames' PSNR against the whole render's."""
    assert len(whole) == len(resumed)
    assert all(np.array_equal(a, b) for a, b in zip(whole[:same_until], resumed[:same_until]))
    psnr = [cv2.PSNR(a, b) for a, b in zip(whole, resumed)]
    assert min(psnr) >= 38, psnr
    for i in range(max(1, seam - 5), len(whole) - 1):
        assert psnr[i] > max(cv2.PSNR(whole[i - 1], resumed[i]), cv2.PSNR(whole[i + 1], resumed[i])), i
    return psnr


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(p.pts * p.time_base) for p in c.demux(video=0) if p.size and p.is_keyframe]


def stopped_render(src: Path, out: Path, style, frames: int) -> rtstyle.RenderReport:
    """A render stopped after ``frames`` frames, as Ctrl-C stops one."""
    stop = threading.Event()

    def on_frame(report: rtstyle.RenderReport) -> None:
        if report.frames_out == frames:
            stop.set()

    report = rtstyle.render(src, out, style, stop=stop, on_frame=on_frame)
    assert report.interrupted and report.frames_out == frames
    return report


def test_a_stopped_render_goes_on_where_its_file_ends(pan: Path, style, tmp_path: Path):
    """Stopped after 200 frames (as Ctrl-C stops it: between two frames, its file closed, so every
    frame in it is whole): the 200 are kept as they were written (not painted again), the 70 after
    are painted as the whole render paints them: the frames before the seam painted again unkept
    give the smoother its history, so the first frames after it are as close to the whole render's
    as any (without: 4 dB further). The A/V check reads the whole file against the input, and
    nothing is left beside it."""
    whole = tmp_path / "whole.mp4"
    assert rtstyle.render(pan, whole, style).check.ok
    out = tmp_path / "out.mp4"
    stopped_render(pan, out, style, 200)
    assert record_path(out).exists()
    stopped = decode_video(out)
    report = rtstyle.render(pan, out, style, resume=True)
    assert (report.frames_kept, report.frames_out) == (200, 70) and not report.interrupted
    assert report.check.ok, report.check.summary()
    resumed = decode_video(out)
    assert all(np.array_equal(a, b) for a, b in zip(stopped, resumed[:200], strict=False))
    kept = 200
    psnr = assert_like(decode_video(whole), resumed, kept)
    assert min(psnr[kept:kept + 5]) >= np.median(psnr[kept:]) - 2, psnr[kept:kept + 5]
    info = stream_info(out)
    assert info["frames"] == 270 and info["audio_duration"] == pytest.approx(27.0, abs=0.05), info
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "whole.mp4"]


def test_a_killed_part_in_webm_resumes_as_it_was_rendered(pan: Path, style, tiny_model: Path, tmp_path: Path):
    """A part (--start 4.55 --duration 20) into WebM, killed after 190 frames, whose muxer moved the
    file's streams 2 ms later (the part's sound begins before its first frame): the seam, its last
    keyframe inside the scene, is found on the render's own clock, to half a tick (without, the
    keyframe at the seam was both copied and painted: 201 frames)."""
    part = dict(start=4.55, duration=20)
    whole, out = tmp_path / "whole.webm", tmp_path / "out.webm"
    assert rtstyle.render(pan, whole, style, **part).check.ok
    killed(pan, out, tiny_model, 190, **part)
    report = rtstyle.render(pan, out, style, resume=True, **part)
    assert report.frames_kept + report.frames_out == 200 and report.frames_kept >= 100
    assert report.frames_kept / 10 in [round(t, 1) for t in keyframe_times(whole)]  # cut at a keyframe
    assert report.check.ok, report.check.summary()
    assert_like(decode_video(whole), decode_video(out), report.frames_kept, report.frames_kept)


def test_transparent_pictures_into_webm_resume_with_their_transparency(pan: Path, style, tmp_path: Path):
    """Numbered RGBA pictures (a render with a transparent background) into a WebM that keeps the
    transparency: resumed, every frame's alpha is the whole render's, and the A/V check counts the
    pictures from the seam on (the ones read before the seek did not count as lost: 2 of them did)."""
    from conftest import vp9_alphas

    pictures = tmp_path / "shot"
    pictures.mkdir()
    for i, rgb in enumerate(decode_video(pan)):
        alpha = np.full(rgb.shape[:2], 255, np.uint8)
        alpha[:, :20 + i % 50] = 0  # an edge that moves
        cv2.imwrite(str(pictures / f"f_{i + 1:04d}.png"), cv2.cvtColor(np.dstack([rgb, alpha]), cv2.COLOR_RGBA2BGRA))
    whole, out = tmp_path / "whole.webm", tmp_path / "out.webm"
    assert rtstyle.render(pictures, whole, style, rate=10).check.ok
    stop = threading.Event()
    rtstyle.render(pictures, out, style, rate=10, stop=stop, on_frame=lambda r: r.frames_out == 260 and stop.set())
    stopped = vp9_alphas(out)
    report = rtstyle.render(pictures, out, style, rate=10, resume=True)
    assert (report.frames_kept, report.frames_out) == (260, 10)
    assert report.check.ok, report.check.summary()
    assert_like(decode_video(whole), decode_video(out), report.frames_kept)
    alphas = vp9_alphas(out)
    assert len(alphas) == 270 and all(np.array_equal(a, b) for a, b in zip(stopped, alphas[:260], strict=True))
    assert min(cv2.PSNR(a, b) for a, b in zip(vp9_alphas(whole)[260:], alphas[260:])) >= 38


KILLED_RENDER = """
import json, os, signal, sys
import rtstyle

src, dst, model, frames, part = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])

def on_frame(report):
    if report.frames_out == frames:
        os.kill(os.getpid(), signal.SIGKILL)  # as the system stops a process out of memory: nothing closed

rtstyle.render(src, dst, rtstyle.load_style(model, threads=2), on_frame=on_frame, **part)
"""


def killed(src: Path, out: Path, model: Path, frames: int, **part: float) -> None:
    """A render killed after ``frames`` frames: nothing closed, nothing said."""
    r = subprocess.run([sys.executable, "-c", KILLED_RENDER, str(src), str(out), str(model), str(frames),
                        json.dumps(part)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == -9, r.stderr


@pytest.mark.parametrize("suffix", [".mp4", ".mkv", ".avi"])
def test_a_killed_render_resumes_from_the_command_line(suffix: str, scenes: Path, style, tiny_model: Path,
                                                       tmp_path: Path):
    """A render killed after 75 of 90 frames (nothing closed: an MP4 in fragments, a Matroska file in
    clusters, an AVI whose parameter sets travel with its keyframes) is resumed by the same command
    with --resume: the file keeps what was written up to a keyframe, holds every frame in the end,
    each the whole render's at its place, with its sound."""
    whole = tmp_path / f"whole{suffix}"  # (an AVI's H.264 has no B-frames: the whole render in the same container)
    assert rtstyle.render(scenes, whole, style).check.ok
    out = tmp_path / f"out{suffix}"
    killed(scenes, out, tiny_model, 75)
    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(scenes), str(out), "--style", str(tiny_model),
                        "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "frames of" in r.stderr and "kept, painting the rest" in r.stderr, r.stderr
    kept = int(r.stderr.split("resuming: ")[1].split()[0])
    assert kept in (30, 60), r.stderr
    assert f"{90 - kept} frames after the {kept} kept" in r.stderr and "A/V check: ok" in r.stderr, r.stderr
    assert_like(decode_video(whole), decode_video(out), kept, kept)
    assert stream_info(out)["audio_duration"] == pytest.approx(9.0, abs=0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([out.name, whole.name])


def resume_cli(src: Path, out: Path, model: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtstyle", "render", str(src), str(out), "--style", str(model),
                           "--resume", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_resuming_with_another_style_is_refused_and_leaves_the_file(scenes: Path, style, two_styles: dict,
                                                                   tmp_path: Path):
    out = tmp_path / "out.mp4"
    stopped_render(scenes, out, style, 45)
    before = out.read_bytes()
    r = resume_cli(scenes, out, two_styles["other"])
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {out} is a stopped render of other settings (the style, its strength, smoothing, --crf, --codec, "
        "--start, --duration, --max-size, --fps and --audio must be as before): give the same options, or "
        "--overwrite to render it again")
    assert out.read_bytes() == before and record_path(out).exists() and not set_aside_path(out).exists()


def test_resuming_a_complete_render_is_refused(scenes: Path, whole: Path, tiny_model: Path, tmp_path: Path):
    out = Path(shutil.copy(whole, tmp_path / "out.mp4"))
    r = resume_cli(scenes, out, tiny_model)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        f"error: {out} holds no stopped render to resume (it was completed, or not written by rtstyle render): "
        "use --overwrite to render it again")
    assert out.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize("stopped", [True, False], ids=["other style", "complete"])
def test_with_overwrite_what_cannot_be_resumed_is_rendered_again(stopped: bool, scenes: Path, style, whole: Path,
                                                                two_styles: dict, tmp_path: Path):
    """--resume --overwrite (a script's "go on where you can"): a stopped render of another style, or
    a complete one, is rendered again from the start, as a render with --overwrite alone would, with a note;
    nothing of the stopped render is left."""
    out = tmp_path / "out.mp4"
    if stopped:  # and a resumption of it stopped in turn: its file set aside too
        stopped_render(scenes, out, style, 45)
        shutil.copy(out, set_aside_path(out))
    else:
        shutil.copy(whole, out)
    r = resume_cli(scenes, out, two_styles["other"], "--overwrite")
    assert r.returncode == 0 and "A/V check: ok" in r.stderr, r.stderr
    why = "is a stopped render of other settings" if stopped else "holds no stopped render to resume"
    assert f"note: {out.name} {why}" in r.stderr and "rendered again from the start (--overwrite)" in r.stderr
    fresh = tmp_path / "fresh.mp4"
    rtstyle.render(scenes, fresh, two_styles["other"])
    painted, again = decode_video(fresh), decode_video(out)
    assert len(painted) == len(again) == 90 and all(np.array_equal(a, b) for a, b in zip(painted, again))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.mp4", "out.mp4"]


def test_resuming_a_render_never_started_renders_it_all(scenes: Path, style, tmp_path: Path):
    report = rtstyle.render(scenes, tmp_path / "out.mp4", style, resume=True)
    assert (report.frames_kept, report.frames_out) == (0, 90) and report.check.ok


def test_a_file_of_other_encoder_parameters_is_put_back(scenes: Path, style, tmp_path: Path):
    """The record matches but the file's video is coded with other parameter sets (another x264's, say):
    its packets would not decode beside the new ones. Refused, and the file is back where it was."""
    from tools.bad_inputs import write_video

    out = tmp_path / "out.mp4"
    stopped_render(scenes, out, style, 45)
    write_video(out, decode_video(out), options={"x264-params": "ref=1:bframes=0"})
    before = out.read_bytes()
    with pytest.raises(SinkError, match="was encoded with other encoder parameters than this render's"):
        rtstyle.render(scenes, out, style, resume=True)
    assert out.read_bytes() == before and not set_aside_path(out).exists()


def test_a_resumption_stopped_while_copying_loses_nothing(scenes: Path, style, tmp_path: Path):
    """A resumption killed while it copied the kept frames leaves the stopped file set aside and a
    shorter new one: resumed again, the set-aside file is the one whose frames are kept."""
    out = tmp_path / "out.mp4"
    stopped_render(scenes, out, style, 45)
    out.replace(set_aside_path(out))
    with av.open(str(set_aside_path(out))) as c, av.open(str(out), "w") as partial:  # what the copying had written
        stream = partial.add_stream_from_template(c.streams.video[0])
        for p in c.demux(video=0):
            if p.size and p.pts * p.time_base < 1:
                p.stream = stream
                partial.mux(p)
    report = rtstyle.render(scenes, out, style, resume=True)
    assert (report.frames_kept, report.frames_out) == (45, 45) and report.check.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_folder_resumed_keeps_what_was_complete(scenes: Path, style, tiny_model: Path, tmp_path: Path):
    """Several inputs rendered into a folder and stopped in the second: with --resume the first is
    kept as it is, the second goes on, and the table says which."""
    inputs, outputs = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    outputs.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(scenes, inputs / name)
    assert rtstyle.render(inputs / "a.mp4", outputs / "a.mp4", style).check.ok
    stopped_render(inputs / "b.mp4", outputs / "b.mp4", style, 45)
    first = (outputs / "a.mp4").stat().st_mtime_ns
    r = subprocess.run([sys.executable, "-m", "rtstyle", "render", str(inputs), str(outputs), "--style",
                        str(tiny_model), "--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert rows["a.mp4"].endswith("kept (rendered before)") and rows["b.mp4"].endswith("ok"), r.stdout
    assert (outputs / "a.mp4").stat().st_mtime_ns == first
    assert stream_info(outputs / "b.mp4")["frames"] == 90
    assert sorted(p.name for p in outputs.iterdir()) == ["a.mp4", "b.mp4"]
