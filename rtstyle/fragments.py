"""Video files that play however the writing ends: MP4 and MOV in fragments, Matroska in short clusters.

An MP4 (or MOV) file plays only once its index (the 'moov' box) is written, and FFmpeg writes it
when the file is closed: a render killed on the way (out of memory, a power cut, ``kill -9``), or
one whose disk filled, left a file of gigabytes that nothing opens. So these files are written
in fragments (:data:`WRITING`: the streams described once, then every second of frames and sound
with its own small index, each flushed to the file as it is cut), which play up to the last one
written, and a finished file is then copied into one regular file (:func:`finish`: the packets
as they are, no encoding again), since some editing programs open no fragmented MP4 (OBS
records its "hybrid MP4" so: fragments while recording, one index once it ends).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import av

from rtstyle.carry import ENCODING_TAGS, MOV_FAMILY

CONTAINERS = MOV_FAMILY  # the mov muxer's files (.mp4, .mov, .m4v)
# Container options while writing: fragments of a second (what a killed render loses at most).
# flush_packets: each fragment goes to the file as it is cut, not left in FFmpeg's write buffer (a
# short render's whole file); delay_moov: the header waits for the first fragment, so its edit
# lists say where each stream starts (the B-frames' delay; without, the video began 0.2 s late).
WRITING = {"movflags": "+frag_keyframe+empty_moov+delay_moov+default_base_moof", "frag_duration": "1000000",
           "flush_packets": "1"}
# Matroska (.mkv, .webm) plays cut anywhere, but its muxer holds a cluster of 5 s back and FFmpeg
# its 32 KB write buffer: a killed render of a small video left an empty file. Clusters of a second,
# flushed as they close; an AVI's packets flushed as they are written.
STREAMED = {"matroska": {"cluster_time_limit": "1000", "flush_packets": "1"},
            "webm": {"cluster_time_limit": "1000", "flush_packets": "1"}, "avi": {"flush_packets": "1"}}
# The regular file's edit lists, which say where each stream starts, count in the movie's timescale:
# at FFmpeg's 1000 a sound that started 40.997 ms in came to start at 40 ms; at 90 kHz within a
# sample of 44.1 or 48 kHz sound. faststart: the index before the packets, so that a browser or a
# video site plays the file before all of it has come (FFmpeg moves the packets once written).
FINISHED = {"movie_timescale": "90000", "movflags": "+faststart"}


def writing_options(container: str) -> dict[str, str]:
    """The options a video file of ``container`` is written with, so that a killed render's plays."""
    return WRITING if container in CONTAINERS else STREAMED.get(container, {})


def finish(path: Path, container: str) -> None:
    """Rewrite the fragmented file ``path`` as one regular ``container`` file: every stream's
    packets copied as they are, with the file's tags, chapters and timecode. The fragmented file
    stays in place until the regular one is complete (os.replace), so a failure here (a full disk)
    leaves a file that plays; OSError and av.error.FFmpegError say why."""
    path = Path(os.path.realpath(path))  # a link's target is the file rewritten, not the link
    regular = path.with_name(f".{path.stem}.finishing{path.suffix}")  # beside it: os.replace moves no data
    try:
        with av.open(str(path)) as written, \
                av.open(str(regular), "w", format=container, container_options=FINISHED) as out:
            out.metadata.update({k: v for k, v in written.metadata.items() if k.lower() not in ENCODING_TAGS})
            copies = {}
            for stream in written.streams:
                if stream.codec_context is None:
                    # tracks of no media: the chapter and timecode tracks (written again from the
                    # chapters and from the video's timecode tag), and the empty track that fragmented
                    # writing adds for a cover picture (also in the header)
                    continue
                copy = out.add_stream_from_template(stream)
                # (not the handler's name, which FFmpeg's reader gives and its writer would pass on to
                # the timecode track written from the video's tag: "VideoHandler" for "TimeCodeHandler";
                # a track's title, stored as its 'name', the reader gives as "name", the writer takes as "title")
                copy.metadata.update({"title" if k == "name" else k: v for k, v in stream.metadata.items()
                                      if k != "handler_name"})
                copy.disposition = stream.disposition
                copy.time_base = stream.time_base
                if stream.codec_tag:
                    copy.codec_tag = stream.codec_tag
                if stream.type == "video" and stream.average_rate:
                    copy.codec_context.framerate = stream.average_rate  # the timecode track counts by it
                copies[stream.index] = copy
            out.set_chapters(written.chapters())
            for packet in written.demux([written.streams[i] for i in copies]):
                if packet.dts is None and packet.size == 0:
                    continue  # a stream's end
                if packet.stream.type == "subtitle" and packet.size <= 2:
                    continue  # an empty cue put in a gap while writing fragments: the writer fills gaps again
                packet.stream = copies[packet.stream.index]
                out.mux(packet)
        shutil.copymode(path, regular)  # an overwritten file's permissions, as FFmpeg's writing kept them
        os.replace(regular, path)
    except BaseException:  # (Ctrl-C too) the fragments stay; a half-written regular file goes
        if regular.is_file():
            regular.unlink()
        raise
