"""rtstyle: real-time neural style transfer for webcams and video files.

    import rtstyle
    style = rtstyle.load_style("starry_night")
    painted = style(rgb_frame)                      # H x W x 3 uint8 in, same out
    rtstyle.render("in.mp4", "out.mp4", style="starry_night")   # flow-guided smoothing by default
    rtstyle.render("in.mp4", "out.mp4", style="starry_night", smooth=rtstyle.make_smoother("ema", 0.7))
    mixed = rtstyle.load_style("multistyle26", mix="7=0.6,19=0.4")   # blend of two of 26 styles
    anything = rtstyle.load_style("arbitrary", style_images=["painting.jpg"])  # any picture as style
"""
from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Mapping
from fractions import Fraction
from pathlib import Path

# OpenCV before PyAV: both wheels bundle libxcb, and with the GUI build of OpenCV a window
# hangs when PyAV's copy was loaded first.
import cv2  # isort: skip
import numpy as np

from rtstyle import avcheck, exif, headroom, sequences, sources
from rtstyle import resume as resuming
from rtstyle.carry import description
from rtstyle.errors import ModelError, RtstyleError, SinkError, SourceError, StyleNotFoundError
from rtstyle.frames import fit_within
from rtstyle.models import ModelCard, list_models, list_styles
from rtstyle.outputs import OutputContext, RenderOutputs, RenderTiming, open_outputs
from rtstyle.painter import Look, Painter
from rtstyle.pipeline import RenderReport, render_plan, render_video
from rtstyle.sinks import (ALPHA_SUFFIXES, VideoFileSink, check_output, check_soundtrack, encoder_for, is_gif,
                           keeps_alpha, write_image)
from rtstyle.sources import IMAGE_SUFFIXES, STREAM_TIMEOUT, VIDEO_SUFFIXES, VideoFileSource, read_image, resize_to
from rtstyle.stylizer import Stylizer
from rtstyle.segments import warmup_frames
from rtstyle.temporal import DEFAULT_MODE, Smoother, make_smoother

__all__ = ["Look", "ModelCard", "ModelError", "Painter", "RenderReport", "RtstyleError", "SinkError", "Smoother", "SourceError",
           "Still", "StyleNotFoundError", "Stylizer", "list_models", "list_styles", "load_style", "make_smoother",
           "read_still", "render", "render_plan", "stylize_image"]
__version__ = "0.1.0"


def load_style(style: str | Path, **options) -> Stylizer:
    """Load a style by model name or ``.onnx`` path; options go to :class:`Stylizer`."""
    return Stylizer(style, **options)


def stylize_image(src: str | Path, dst: str | Path, style: str | Path | Stylizer, overwrite: bool = False,
                  max_size: tuple[int, int] | None = None, at: float | None = None,
                  warn: Callable[[str], None] | None = None) -> list[str]:
    """Stylize one still image file into another (format from the suffix), or one frame of a
    video (:func:`read_still`). A transparent picture keeps its alpha where the format takes it
    (PNG, WebP, TIFF, OpenEXR); the returned notes say when it could not be kept. ``max_size``
    (width, height) shrinks a larger picture to fit in it first (aspect kept). ``warn`` is told,
    before a big picture is painted, when it would take more memory than is available
    (rtstyle.headroom: the system would stop the process on the way)."""
    check_output(dst, overwrite, source=src, picture=True)
    stylizer = style if isinstance(style, Stylizer) else load_style(style)
    still = read_still(src, at, max_size, straight=Path(dst).suffix.lower() in ALPHA_SUFFIXES)
    painter, look = Painter.of(stylizer)
    said = headroom.warning(stylizer, still.image.shape[1], still.image.shape[0]) if warn else None
    if said:
        warn(said)
    painted = painter.paint(still.image[..., :3], dataclasses.replace(look, picture=still.box))
    return still.notes + _write_painting(dst, painted, still.image[..., 3] if still.image.shape[2] == 4 else None,
                                         still.metadata)


@dataclasses.dataclass
class Still:
    """A picture to paint once: RGB, or RGBA when it has transparency; ``box``, the picture inside
    black bars (a video's), the only part a render paints; ``notes``, what was done to read it;
    ``metadata``, what its painting keeps of a photo's EXIF (date, place, camera: rtstyle.exif)."""

    image: np.ndarray
    box: tuple[int, int, int, int] | None
    notes: list[str]
    metadata: bytes | None = None


def read_still(src: str | Path, at: float | None = None, max_size: tuple[int, int] | None = None,
               straight: bool = False) -> Still:
    """A picture file, or one frame of a video as a render reads it: a video SRC (or any SRC
    with ``at``) gives the first frame at or after ``at`` seconds (default: its first), upright,
    HDR tone-mapped, its black bars found. It is how a style is tried on footage before a long
    render. ``straight``: colours not premultiplied by the alpha (rtstyle.sources.read_image)."""
    if at is not None or Path(src).suffix.lower() in VIDEO_SUFFIXES:
        return _video_still(src, at, max_size)
    picture = read_image(src, alpha=True, straight=straight)
    notes = []
    size = fit_within((picture.shape[1], picture.shape[0]), max_size)
    if size != (picture.shape[1], picture.shape[0]):
        notes.append("shrunk from {}x{} to {}x{} (the size limit given)".format(picture.shape[1], picture.shape[0],
                                                                               *size))
        picture = resize_to(picture, size)
    frames = _frame_count(Path(src))
    if frames > 1:  # an animated GIF, WebP or PNG, a TIFF of several pages
        render = f" (`rtstyle render {Path(src).name} OUT.gif` paints them all)" if Path(src).suffix.lower() == ".gif" \
            else ""
        notes.append(f"{Path(src).name} holds {frames} pictures: only the first was painted{render}")
    return Still(picture, None, notes, exif.for_painting(src))


def _video_still(src: str | Path, at: float | None, max_size: tuple[int, int] | None) -> Still:
    name = Path(src).name
    if Path(src).suffix.lower() in IMAGE_SUFFIXES:
        raise SourceError(f"{name} is a still picture: --at picks a frame of a video")
    with VideoFileSource(src, start=at or 0.0, max_size=max_size, reference=False, alpha=True) as source:
        frame = next(source.frames(), None)
        if frame is None:
            raise SourceError(f"{name} has no frame from {at or 0:g} s on")
        image = frame.image if frame.alpha is None else np.dstack([frame.image, frame.alpha])
        seconds = source.start + frame.time
        note = f"painted the frame of {name} at {seconds:.3f} s"
        return Still(image, source.picture_box(), source.notes + [note + ("" if at is not None else
                                                                          " (--at TIME picks another)")],
                     exif.for_video_frame(description(source.container), seconds))


def _write_painting(dst: str | Path, painted: np.ndarray, alpha: np.ndarray | None,
                    metadata: bytes | None) -> list[str]:
    """Write the painting with the input's transparency where DST's format keeps it (a note where
    not) and the photo's ``metadata``."""
    if alpha is not None and Path(dst).suffix.lower() in ALPHA_SUFFIXES:
        write_image(dst, np.dstack([painted, alpha]), metadata)
        return []
    write_image(dst, painted, metadata)
    if alpha is None:
        return []
    return [f"transparency dropped: {Path(dst).suffix or 'that format'} has none (use .png, .webp, .heic or .exr to "
            "keep it)"]


def _frame_count(path: Path) -> int:
    """How many pictures a file holds (OpenCV's count), for the formats that hold several."""
    if path.suffix.lower() not in (".gif", ".webp", ".png", ".tif", ".tiff"):
        return 1
    try:
        return cv2.imcount(str(path))
    except cv2.error:
        return 1


def render(src: str | Path, dst: str | Path | None, style: str | Path | Stylizer, overwrite: bool = False,
           on_frame: Callable[[RenderReport], None] | None = None, stop: threading.Event | None = None,
           crf: int = 18, smooth: str | Smoother = DEFAULT_MODE,
           stream_timeout: float = STREAM_TIMEOUT, workers: int | None = None,
           outputs: Mapping[str, object] | None = None, start: float = 0.0,
           duration: float | None = None, max_size: tuple[int, int] | None = None,
           rate: Fraction | float | str | None = None, audio: str | Path | None = None,
           codec: str | None = None, on_finishing: Callable[[int, int], None] | None = None,
           resume: bool = False, warn: Callable[[str], None] | None = None) -> RenderReport:
    """Render a video file (or stream URL) in a style to a video file (H.264; VP9 in a .webm), keeping timestamps,
    audio and subtitles, or to an animated GIF (a .gif: no sound, frames at least 20 ms apart).

    ``smooth`` is a temporal smoothing mode ("none", "ema", "flow") at its default
    strength, or a smoother from :func:`make_smoother`. A stream that sends nothing for
    ``stream_timeout`` seconds ends the render with a SourceError (the file keeps what was done).
    ``workers`` frames are stylized at once. A style given by name is loaded by
    :func:`rtstyle.pipeline.render_plan` (on a CPU: two frames at once, half the cores each);
    a given Stylizer runs ``workers`` frames at once (default 1: its threads were chosen for one).
    The written file is read back and checked against the input: ``report.check.ok`` is
    False when frames or durations do not match (the file is kept; the CLI reports it as an error).

    ``outputs`` are more outputs by their name in :data:`rtstyle.outputs.OUTPUTS`, e.g.
    ``{"stream": "udp://127.0.0.1:5000"}`` sends the painting with its sound to a URL, each
    frame at its time, as a player would play the file; ``dst`` may then be None. An output
    that fails ends the render with a SinkError; the file keeps the frames done.

    ``start`` and ``duration`` (seconds) render that part of the video only, with its sound,
    timed from its start (a preview of a long video, or the scene wanted). ``max_size``
    (width, height) shrinks larger frames to fit in it, aspect kept: faster, a smaller file.

    ``src`` may be an image sequence: a folder of numbered pictures or their printf pattern
    (``frames/shot_%04d.png``), played at ``rate`` frames a second (default 25; 23.976 is
    24000/1001) and checked for gaps first (rtstyle.sequences). ``dst`` may be one too
    (rtstyle.sequence_sink): one picture a frame; .png, .webp, .tif and .exr keep the input's transparency.

    ``audio`` is a sound file (or a video's sound) to put under the painting instead of the
    input's: music, or the mixdown made for an image sequence. It starts with the input (a
    render from ``start`` takes it from there too) and ends with the video; the A/V check
    compares the output's sound with that file's.

    ``on_finishing(done, total)`` is called as a GIF is written after the last frame is painted
    (its palette comes from all of them): frames written, of all.

    ``codec`` is the video codec of ``dst`` (rtstyle.encoders.CODECS: "h264", "hevc", "vp9",
    "prores"; default: H.264, VP9 in a .webm); a container that does not hold it is a SinkError
    before any work.

    ``resume`` goes on with a render into ``dst`` that was stopped (interrupted, killed, a full
    disk; rtstyle.resume): its frames are kept (a killed one's up to its last keyframe) and the rest
    painted, with the same input and settings (else a SinkError, the file left as it is; with
    ``overwrite`` too, rendered again from the start, with a note); ``report.frames_kept`` counts
    them. Where ``dst`` is not there, the render starts from the beginning.

    Big frames on a CPU are measured first (rtstyle.headroom.render_fit): where ``workers`` frames
    at once would not fit in the memory available and one would, one is painted at a time, on the
    threads of all (a note says so); where one does not fit either, ``warn`` is told before any
    frame is painted (the system would stop the process on the way), and the render is tried.
    """
    chosen = {**(outputs or {}), "record": dst}
    if not any(chosen.values()):
        raise SinkError("give an output file, a stream URL or both")
    if codec and dst is None:
        raise SinkError("a codec is for a video file: a stream is sent in H.264, as its receivers take")
    if resume and (not resuming.resumable(dst) or outputs and any(outputs.values())):
        raise SinkError("resuming writes a video file only (not numbered pictures, a GIF or a stream)")
    if resume and sources.is_url(src):
        raise SourceError("resuming takes a file or an image sequence as input, not a stream URL")
    if dst is not None:
        dst = check_output(dst, overwrite or resume, source=src, video=True, pictures=True, codec=codec)
    soundtrack = check_soundtrack(audio, dst) if audio is not None else None
    smoother = make_smoother(smooth) if isinstance(smooth, str) else smooth
    if isinstance(style, Stylizer):
        stylizer, workers = style, workers or 1
    else:
        threads, workers = render_plan(workers=workers)
        stylizer = load_style(style, threads=threads)
    if stylizer.engine.io_binding:
        workers = 1  # one set of device buffers per engine
    # Transparency goes where it is kept: numbered pictures that hold it, a ProRes file (4444), VP9 in WebM.
    keep_alpha = dst is not None and (dst.suffix.lower() in ALPHA_SUFFIXES if sequences.is_pattern(dst)
                                      else not is_gif(dst) and keeps_alpha(dst, codec))
    with VideoFileSource(src, stream_timeout, start=start, duration=duration, max_size=max_size,
                         rate=rate, alpha=keep_alpha) as source, contextlib.ExitStack() as afterwards:
        fit = headroom.render_fit(stylizer, workers, source.width, source.height)
        if fit.workers < workers and stylizer.threads:  # a stylizer given is given back as it was (a batch's next file)
            afterwards.callback(stylizer.use_threads, stylizer.threads)
            stylizer.use_threads(stylizer.threads * workers // fit.workers)
        workers = fit.workers
        if fit.warning and warn:
            warn(fit.warning)
        stylizer(np.zeros((source.height, source.width, 3), np.uint8))  # warm-up: first-run costs stay out of the timing
        sequence = source.sequence
        numbers = (sequence.first + round(source.start * sequence.rate), sequence.rate) if sequence else None
        if soundtrack:
            soundtrack = dataclasses.replace(soundtrack, since=source.start)
            if source.reference is not None:
                source.reference.dub(avcheck.probe(soundtrack.path))
        # The part read ends ``duration`` after the time asked for, which its first frame may follow.
        length = start + duration - source.start if duration is not None else None
        timing = RenderTiming(source.time_base, source.fps, source.start_time + source.start, crf,
                              part=source.start > 0, length=length, grid_rate=source.grid_rate(), numbers=numbers,
                              soundtrack=soundtrack)
        record = None if sources.is_url(src) or not resuming.resumable(dst) else \
            resuming.record(source, stylizer, smoother, crf=crf, start=start, duration=duration, max_size=max_size,
                            rate=rate, audio=audio, codec=codec)
        # --resume --overwrite: what cannot be resumed is rendered again from the start, with a note.
        again = resuming.refusal(dst, record) if resume and overwrite and record else None
        if again:
            resuming.start_over(dst)
        done = resuming.prepare(dst, record, warmup_frames(smoother), source.first_time) \
            if resume and not again else None
        if done:
            source.resume_at(done.warmup, done.until, done.frames)
        if record:
            resuming.write_record(dst, record)
        ctx = OutputContext(source.width, source.height, float(source.fps), source=str(src), shared=source.shared,
                            render=timing, timeout=stream_timeout, finishing=on_finishing,
                            encoder=encoder_for(dst, codec)[0] if codec else None,
                            alpha=source.has_alpha and keep_alpha)
        try:
            with RenderOutputs(open_outputs(chosen, ctx)) as sink:  # type: ignore[arg-type]
                if done:
                    resuming.seed(next(o for o in sink.outputs if getattr(o, "path", None) == dst), done)
                painter, look = Painter.of(stylizer, smoother)
                look = dataclasses.replace(look, picture=source.picture_box())
                report = render_video(source, sink, painter, look, on_frame=on_frame, stop=stop, workers=workers)
        except BaseException:
            if done:
                resuming.restore(dst, done)
            raise
    if done:
        done.path.unlink()
    if fit.note:
        report.notes.insert(0, fit.note)
    if again:
        report.notes.insert(0, f"{dst.name} {again[0]}: rendered again from the start (--overwrite)")
    if record and not report.interrupted:
        resuming.remove_record(dst)
    elif record and report.check and report.check.ok:
        resuming.mark_closed(dst, record)
    return report
