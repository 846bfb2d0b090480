"""Interlaced video (camcorders' 1080i and DV, broadcast recordings, DVDs) made progressive
before it is painted.

An interlaced frame holds two fields a field apart in time: where anything moves, its lines
alternate between two pictures (combing), and a style network paints those teeth as
stripes. FFmpeg's bwdif (motion adaptive: yadif's method with w3fdif's and cubic
interpolation) rebuilds each frame from its first field, taking the missing lines from the
neighbouring fields where the picture stands still and from the field itself where it
moves: one frame out for each frame in, with its timestamp, so the frame count and timing
stay the input's.
Only frames the decoder marks interlaced are touched. It looks one frame ahead, so a
frame comes out when the next one has gone in (the last at the end).
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import av
import av.filter

BWDIF = "mode=send_frame:parity=auto:deint=interlaced"


def deinterlaced(frames: Iterator[av.VideoFrame], time_base: Fraction) -> Iterator[av.VideoFrame]:
    """``frames`` (decoded, ``time_base`` their pts' unit) with the interlaced ones made
    progressive; a change of size or pixel format starts a new filter."""
    graph = source = None
    shape = None
    for frame in frames:
        if (frame.width, frame.height, frame.format.name) != shape:
            if graph is not None:
                yield from _drained(graph, source, time_base)
            shape = (frame.width, frame.height, frame.format.name)
            graph, source = _graph(frame, time_base)
        source.push(frame)
        yield from _pulled(graph, time_base)
    if graph is not None:
        yield from _drained(graph, source, time_base)


def _graph(frame: av.VideoFrame, time_base: Fraction) -> tuple[av.filter.Graph, av.filter.context.FilterContext]:
    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name, time_base=time_base)
    bwdif = graph.add("bwdif", BWDIF)
    source.link_to(bwdif)
    bwdif.link_to(graph.add("buffersink"))
    graph.configure()
    return graph, source


def _pulled(graph: av.filter.Graph, time_base: Fraction) -> Iterator[av.VideoFrame]:
    """The frames the filter has ready, timed in ``time_base`` again (bwdif halves the unit,
    for its frame-per-field mode)."""
    while True:
        try:
            frame = graph.pull()
        except (av.BlockingIOError, av.EOFError):
            return
        frame.pts, frame.time_base = round(frame.pts * frame.time_base / time_base), time_base
        yield frame


def _drained(graph: av.filter.Graph, source: av.filter.context.FilterContext,
             time_base: Fraction) -> Iterator[av.VideoFrame]:
    source.push(None)
    yield from _pulled(graph, time_base)
