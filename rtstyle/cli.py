"""Command line: parse options, call the library, report. No processing lives here."""
from __future__ import annotations

import signal
import sys
from pathlib import Path

import click

import rtstyle
from rtstyle import metrics, temporal
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
@click.option("--smooth", type=click.Choice(temporal.MODES), default=temporal.DEFAULT_MODE, show_default=True,
              help="temporal smoothing against flicker (docs/temporal.md)")
@click.option("--smooth-strength", type=click.FloatRange(0, 1, max_open=True), default=temporal.DEFAULT_STRENGTH,
              show_default=True, help="weight of the previous frame: higher = steadier, less faithful")
@click.option("--deadband", type=click.FloatRange(0), default=0.0, show_default=True,
              help="keep pixels whose input changed less than this many grey levels (static scenes; 0 = off)")
def render(src: Path, dst: Path, style: str, provider: str, threads: int | None, strength: float,
           keep_colours: bool, overwrite: bool, crf: int, smooth: str, smooth_strength: float,
           deadband: float) -> None:
    """Render video SRC in a style into DST (H.264 .mp4, source audio kept)."""
    rtstyle.sinks.check_output(dst, overwrite)
    smoother = rtstyle.make_smoother(smooth, smooth_strength, deadband)
    stylizer = _load(style, provider, threads, strength, keep_colours)
    # SIGTERM ends the render like Ctrl-C: the file is finished, not cut off.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    total = rtstyle.sources.VideoFileSource(src)
    length, _ = total.frame_count_hint, total.close()
    with click.progressbar(length=length or None, label="rendering", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        report = rtstyle.render(src, dst, stylizer, overwrite=overwrite, crf=crf, smooth=smoother,
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


@main.command()
@click.argument("stylized", type=click.Path(path_type=Path))
@click.option("--reference", required=True, type=click.Path(path_type=Path), help="the original video STYLIZED was made from")
@click.option("--per-frame", type=click.Path(path_type=Path),
              help="the same video stylized without smoothing: adds the fidelity figure")
def flicker(stylized: Path, reference: Path, per_frame: Path | None) -> None:
    """Measure the flicker of STYLIZED: warping error (Lai et al. 2018) along the reference's motion."""
    click.echo(metrics.flicker(stylized, reference, per_frame).summary())


if __name__ == "__main__":
    main()
