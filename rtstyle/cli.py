"""Command line: parse options, call the library, report. No processing lives here."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

import rtstyle
from rtstyle.errors import RtstyleError

style_option = click.option("--style", "-s", required=True, help="style name (see `rtstyle styles`) or .onnx path")
provider_option = click.option("--provider", default="auto", show_default=True,
                               help="auto, or tensorrt / cuda / cpu (falls back to CPU)")
threads_option = click.option("--threads", type=int, default=None, help="CPU threads for inference (default: ORT's)")
strength_option = click.option("--strength", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                               help="blend with the input: 1 = full style")
colour_option = click.option("--keep-colours", is_flag=True, help="keep the input's colours, take the style's texture")


class Main(click.Group):
    """Turns user errors into one line on stderr and exit code 1, without a traceback; Ctrl-C exits 130."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RtstyleError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:  # outside a render loop (which finishes its file itself)
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=Main)
@click.version_option(rtstyle.__version__)
def main() -> None:
    """Real-time neural style transfer for webcams and video files."""


def _load(style: str, provider: str, threads: int | None, strength: float, keep_colours: bool) -> rtstyle.Stylizer:
    stylizer = rtstyle.load_style(style, providers=provider, threads=threads, strength=strength,
                                  keep_colours=keep_colours)
    note = stylizer.engine.fallback_note
    click.echo(f"style {stylizer.name} on {stylizer.engine.provider}" + (f" ({note})" if note else ""), err=True)
    return stylizer


@main.command()
def styles() -> None:
    """List the style models found on the search path."""
    for card in rtstyle.list_models():
        click.echo(card.summary())


@main.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@style_option
@provider_option
@threads_option
@strength_option
@colour_option
@click.option("--overwrite", is_flag=True, help="replace DST if it exists")
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True, help="H.264 quality (lower = better)")
def render(src: Path, dst: Path, style: str, provider: str, threads: int | None, strength: float,
           keep_colours: bool, overwrite: bool, crf: int) -> None:
    """Render video SRC in a style into DST (H.264 .mp4, source audio kept)."""
    rtstyle.sinks.check_output(dst, overwrite)
    stylizer = _load(style, provider, threads, strength, keep_colours)
    # SIGTERM ends the render like Ctrl-C: the file is finished, not cut off.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    total = rtstyle.sources.VideoFileSource(src)
    length, _ = total.frame_count_hint, total.close()
    with click.progressbar(length=length or None, label="rendering", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        report = rtstyle.render(src, dst, stylizer, overwrite=overwrite, crf=crf,
                                on_frame=lambda r: bar.update(1))
    summary = (f"{report.frames_out} frames in {report.seconds:.1f} s ({report.fps:.1f} fps), "
               f"audio {report.audio} -> {dst}")
    if report.skipped_packets or report.damaged_packets:
        summary += (f"; damaged input: {report.damaged_packets} packet(s) decoded with errors, "
                    f"{report.skipped_packets} skipped")
    if report.interrupted:
        click.echo(f"interrupted: {summary}", err=True)
        sys.exit(130)
    click.echo(summary, err=True)


@main.command()
@click.argument("src", type=click.Path(path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@style_option
@provider_option
@threads_option
@strength_option
@colour_option
@click.option("--overwrite", is_flag=True, help="replace DST if it exists")
def image(src: Path, dst: Path, style: str, provider: str, threads: int | None, strength: float,
          keep_colours: bool, overwrite: bool) -> None:
    """Stylize a still image SRC into DST (format from DST's suffix)."""
    rtstyle.sinks.check_output(dst, overwrite)
    rtstyle.stylize_image(src, dst, _load(style, provider, threads, strength, keep_colours), overwrite=overwrite)
    click.echo(f"wrote {dst}", err=True)


def _listed(values: tuple[str, ...]) -> list[str]:
    """Repeated options and comma lists alike: ``--size 320x180,640x360`` or ``--size A --size B``."""
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@main.command()
@click.option("--style", "-s", "styles", multiple=True, help="model name or .onnx path; repeatable (default: all)")
@click.option("--size", "sizes", multiple=True, default=("320x180", "640x360"), show_default=True,
              help="WIDTHxHEIGHT or 720p/1080p; repeatable or comma-separated")
@click.option("--provider", "providers", multiple=True,
              help="cpu, cuda, tensorrt; repeatable (default: every provider this onnxruntime has)")
@click.option("--precision", "precisions", multiple=True, default=("fp32",), show_default=True,
              help="fp32, fp16 (GPU), int8 (needs a tools/quantize.py model); repeatable")
@click.option("--threads", "threads", multiple=True, type=int, help="CPU threads; repeatable (default: ORT's)")
@click.option("--scale", type=click.FloatRange(0, 1, min_open=True), default=None,
              help="internal resolution factor (default: the model's own)")
@click.option("--warmup", type=click.IntRange(0), default=3, show_default=True, help="untimed frames first")
@click.option("--frames", type=click.IntRange(1), default=30, show_default=True, help="timed frames per row")
@click.option("--video", type=click.Path(path_type=Path), default=None,
              help="also run end-to-end: render this video through the real pipeline")
@click.option("--json", "json_out", type=click.Path(path_type=Path), default=None, help="write JSON here (- = stdout)")
@click.option("--plot", "plot_out", type=click.Path(path_type=Path), default=None,
              help="write latency distributions as an image (needs rtstyle[plot])")
def bench(styles: tuple[str, ...], sizes: tuple[str, ...], providers: tuple[str, ...], precisions: tuple[str, ...],
          threads: tuple[int, ...], scale: float | None, warmup: int, frames: int, video: Path | None,
          json_out: Path | None, plot_out: Path | None) -> None:
    """Measure per-stage latency (p50/p95/p99) and fps of models on this machine."""
    from rtstyle import bench as b

    cases = b.plan(_listed(styles), _listed(sizes), _listed(providers), _listed(precisions), list(threads),
                   scale, video)
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


if __name__ == "__main__":
    main()
