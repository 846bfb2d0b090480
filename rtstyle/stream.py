"""Stream out: the painted video to a network URL (RTMP, SRT, UDP, TCP) through PyAV.

Each scheme gets the container its receivers expect: FLV for RTMP, MPEG-TS for SRT, UDP
and TCP; any other URL (or a file) gets the container FFmpeg guesses from its name.
Video is H.264 tuned for latency: no B-frames (a receiver shows a frame as soon as it
arrives), x264's zerolatency tune (no look-ahead) and a keyframe every two seconds (where
a viewer who joins late starts). A render's stream carries the source's sound as AAC; a
live stream has none, as a live recording has none (rtstyle.recorder says why).
"""
from __future__ import annotations

from fractions import Fraction

from rtstyle.carry import Soundtrack
from rtstyle.demux import SharedDemux
from rtstyle.errors import SinkError
from rtstyle.sinks import VideoFileSink
from rtstyle.sources import STREAM_TIMEOUT, is_url, url_scheme

CONTAINERS = {"rtmp": "flv", "rtmps": "flv", "srt": "mpegts", "udp": "mpegts", "tcp": "mpegts"}
KEYFRAME_SECONDS = 2.0


def container_for(url: str) -> str | None:
    """The container for a stream URL; None: FFmpeg picks it from the name (``file:///path/out.ts``)."""
    if not is_url(url):
        raise SinkError(f"not a stream URL: {url} (give rtmp://, srt://, udp:// or tcp://)")
    return CONTAINERS.get(url_scheme(url))


def encoder_options(fps: float) -> dict[str, str]:
    """x264 settings for a stream: no B-frames, no look-ahead, a keyframe every two seconds."""
    gop = str(max(1, round(KEYFRAME_SECONDS * fps)))
    return {"tune": "zerolatency", "bf": "0", "g": gop, "keyint_min": gop}


def open_stream(url: str, width: int, height: int, time_base: Fraction, fps: Fraction,
                carry_from: str | SharedDemux | None = None,
                start_time: float = 0.0, crf: int = 23, realtime: bool = False,
                timeout: float = STREAM_TIMEOUT, part: bool = False, length: float | None = None,
                soundtrack: Soundtrack | None = None) -> VideoFileSink:
    """A sink that streams to ``url``; ``realtime`` sends each frame at its time (a render of a file);
    ``start_time``, ``part``, ``length`` and ``soundtrack`` as for :class:`VideoFileSink`."""
    return VideoFileSink(url, width, height, time_base, fps, carry_from=carry_from, start_time=start_time, crf=crf,
                         part=part, length=length, soundtrack=soundtrack, carry_timeout=timeout,
                         format=container_for(url), options=encoder_options(float(fps)), realtime=realtime,
                         timeout=timeout)
