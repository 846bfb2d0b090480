"""Many videos in one `rtstyle render` on this machine: every good one rendered and checked,
a broken one reported at the end without stopping the others."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from conftest import stream_info
from rtstyle.cli import main


def test_several_inputs_into_a_folder_with_a_broken_one(data: Path, tiny_model: Path, tmp_path: Path):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes((data / "walk_tone.mp4").read_bytes()[:2000])  # cut off: no index
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(broken), str(data / "walk_pcm.mkv"),
                                       "-o", str(out), "--style", str(tiny_model), "--smooth", "none"])
    assert result.exit_code == 1, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.split()}
    assert rows["walk_tone.mp4"].endswith("ok") and rows["walk_pcm.mkv"].endswith("ok"), result.output
    assert "FAILED: cannot open broken.mp4" in rows["broken.mp4"]
    assert result.output.splitlines()[-1] == "error: 1 of 3 inputs failed (see the table above)"
    assert sorted(p.name for p in out.iterdir()) == ["walk_pcm.mp4", "walk_tone.mp4"]
    for name in ("walk_tone", "walk_pcm"):
        src = next(data.glob(f"{name}.*"))
        assert stream_info(out / f"{name}.mp4")["frames"] == stream_info(src)["frames"]


def test_folder_in_folder_out(data: Path, tiny_model: Path, tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.mp4").write_bytes((data / "walk_tone.mp4").read_bytes())
    (inputs / "notes.txt").write_text("not a video: not taken")
    (inputs / "._a.mp4").write_bytes(b"\0\5\26\7")  # macOS's AppleDouble file on an exFAT drive: hidden, not taken
    (inputs / "day2").mkdir()  # not walked into, and said so; the output folder inside is not
    (inputs / "out").mkdir()
    result = CliRunner().invoke(main, ["render", str(inputs), str(inputs / "out"), "--style", str(tiny_model),
                                       "--smooth", "none"])
    assert result.exit_code == 0, result.output
    assert [p.name for p in (inputs / "out").iterdir()] == ["a.mp4"]
    assert (f"note: {inputs}: not rendered: day2/ (folders are not walked into: give one as SRC too); notes.txt "
            "(not videos)") in result.output.splitlines(), result.output


def test_two_inputs_with_the_same_output_name_are_refused_before_any_work(data: Path, tiny_model: Path,
                                                                          tmp_path: Path):
    other = tmp_path / "walk_tone.mkv"
    other.write_bytes((data / "walk_pcm.mkv").read_bytes())
    result = CliRunner().invoke(main, ["render", str(data / "walk_tone.mp4"), str(other), "-o", str(tmp_path / "o"),
                                       "--style", str(tiny_model)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("error: walk_tone.mp4 and walk_tone.mkv would both be written")
    assert not (tmp_path / "o").exists()


def test_a_folder_rendered_into_another_container(data: Path, tiny_model: Path, tmp_path: Path):
    """--suffix .webm: every output is NAME.webm, VP9 with Opus; a container that cannot be
    written is one line before any work; a single DST names its own container."""
    import av

    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.mp4").write_bytes((data / "walk_tone.mp4").read_bytes())
    (inputs / "b.mkv").write_bytes((data / "walk_pcm.mkv").read_bytes())
    result = CliRunner().invoke(main, ["render", str(inputs), str(tmp_path / "out"), "--style", str(tiny_model),
                                       "--suffix", ".webm"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.webm", "b.webm"]
    for name in ("a.webm", "b.webm"):
        with av.open(str(tmp_path / "out" / name)) as c:
            assert [s.codec_context.name for s in c.streams] == ["vp9", "opus"]
    result = CliRunner().invoke(main, ["render", str(inputs), str(tmp_path / "ogv"), "--style", str(tiny_model),
                                       "--suffix", "ogv"])
    assert result.exit_code == 1 and result.output.splitlines()[-1].startswith("error: cannot write video as a.ogv")
    assert not list((tmp_path / "ogv").iterdir())
    result = CliRunner().invoke(main, ["render", str(inputs / "a.mp4"), str(tmp_path / "one.mp4"), "--style",
                                       str(tiny_model), "--suffix", ".webm"])
    assert result.exit_code == 2 and "--suffix is for videos written into a folder" in result.output
