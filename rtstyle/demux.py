"""One reading of a stream URL, shared by the video decoder and the streams carried beside it.

A file can be read by several handles, each at its own pace: rtstyle.carry gives each carried
stream its own. A URL cannot: a second connection downloads the file again, a live stream's
second connection starts later than the first (its sound out of step with the picture), and
a UDP input, or one that listens for its sender, refuses it ("Address already in use"). So a
URL's packets are demuxed once and handed out: each reader takes its stream's packets from its
own queue and, where that is empty, demuxes on while the packets of the other streams wait in
theirs. One reader demuxes at a time, and not under the lock while it waits for the network: a
live stream's next packet may be seconds away, and the others meanwhile take what is theirs
(the sink the sound it has, while the decoder waits for the next frame).
"""
from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Iterator

import av


class SharedDemux:
    """The packets of ``container``'s video stream ``video`` (one reader: the source's decoder)
    and of its audio and subtitle streams (any number of readers each: :meth:`subscribe`).

    Until :meth:`seal` (the first frame of the render is read: every output is open), the
    sound and subtitles read so far are kept for readers still to come, from ``keep_from``
    (seconds on the packets' clock) on: a part of a long video starts far into it; after the
    seal, a stream nobody reads is dropped as it is read. ``on_packet`` sees every video and
    audio packet as it is demuxed (the A/V check's record of a URL: rtstyle.avcheck.Probe.add).
    """

    def __init__(self, container: av.container.InputContainer, video: av.video.stream.VideoStream,
                 on_packet: Callable[[av.Packet], None] | None = None, keep_from: float = -math.inf):
        self.container, self.name, self.video = container, container.name, video.index
        self.on_packet = on_packet
        carried = [s for s in container.streams if s.type in ("audio", "subtitle")]
        self._packets = container.demux([video, *carried])
        self._changed = threading.Condition()  # a packet routed, the end reached, a reader done demuxing
        self._reading = False  # a reader is demuxing (outside the lock)
        self._video: deque[av.Packet] = deque()
        self._readers: dict[int, list[deque[av.Packet]]] = {s.index: [] for s in carried}
        self._kept: dict[int, list[av.Packet]] | None = {s.index: [] for s in carried}
        self._ended = False
        self._error: av.error.FFmpegError | None = None
        self._keep_from = keep_from

    def video_packets(self) -> Iterator[av.Packet]:
        """The video stream's packets in demux order; the demuxer's error (a stream that stalled,
        a damaged file) is raised here, where the source reports it."""
        while True:
            packet = self._next(self._video)
            if packet is None:
                if self._error is not None:
                    raise self._error
                return
            yield packet

    def subscribe(self, index: int) -> Subscription:
        """A reader of stream ``index``'s packets from its first (those kept so far, then each as
        read); it ends at the input's end or its error. Close it once done."""
        with self._changed:
            kept = self._kept[index] if self._kept is not None else []
            first = not self._readers[index]
            queue = deque(kept if first else map(_copy, kept))
            self._readers[index].append(queue)
        return Subscription(self, index, queue, first)

    def unsubscribe(self, index: int, queue: deque[av.Packet]) -> None:
        with self._changed:
            self._readers[index] = [q for q in self._readers[index] if q is not queue]

    def seal(self) -> None:
        """Every reader is there: no more packets are kept for readers still to come."""
        with self._changed:
            self._kept = None

    def _next(self, queue: deque[av.Packet]) -> av.Packet | None:
        """The next packet of ``queue``, demuxing on until one is there (or waiting for the reader
        that is); None at the end."""
        while True:
            with self._changed:
                while not queue and not self._ended and self._reading:
                    self._changed.wait()
                if queue:
                    return queue.popleft()
                if self._ended:
                    return None
                self._reading = True
            packet, ended, error = None, False, None
            try:
                packet = next(self._packets)  # may wait for the network
            except StopIteration:
                ended = True
            except av.error.FFmpegError as e:
                ended, error = True, e
            finally:
                with self._changed:
                    self._reading = False
                    self._ended, self._error = self._ended or ended, self._error or error
                    if packet is not None:
                        self._route(packet)
                    self._changed.notify_all()

    def _route(self, packet: av.Packet) -> None:
        """Put a packet where it goes: the first reader of its stream gets it, each other one a
        copy (a reader moves a packet's times and stream as it writes it, and the muxer takes its
        data)."""
        index = packet.stream.index
        if self.on_packet is not None and (index == self.video or packet.stream.type == "audio"):
            self.on_packet(packet)
        if index == self.video:
            self._video.append(packet)
            return
        if self._kept is not None and (packet.pts is None or packet.pts * packet.time_base >= self._keep_from):
            self._kept[index].append(packet)
        for n, queue in enumerate(self._readers[index]):
            queue.append(packet if n == 0 else _copy(packet))


class Subscription:
    """One reader's packets of one stream of a :class:`SharedDemux` (an iterator); ``first``: it
    was the stream's first reader (the others may not decode with the stream's own decoder)."""

    def __init__(self, shared: SharedDemux, index: int, queue: deque[av.Packet], first: bool):
        self.shared, self.index, self._queue, self.first = shared, index, queue, first

    def __iter__(self) -> Subscription:
        return self

    def __next__(self) -> av.Packet:
        packet = self.shared._next(self._queue)
        if packet is None:
            raise StopIteration
        return packet

    def close(self) -> None:
        self.shared.unsubscribe(self.index, self._queue)
        self._queue.clear()


def _copy(packet: av.Packet) -> av.Packet:
    """A packet of its own: the same data, times and side data (an AAC stream's skipped samples,
    a new configuration), bound to the same input stream. PyAV cannot set the discard flag (an
    edit list's hidden packets): a copy of one is read as a packet that plays."""
    copy = av.Packet(bytes(packet))
    copy.stream = packet.stream
    copy.pts, copy.dts, copy.duration, copy.time_base = packet.pts, packet.dts, packet.duration, packet.time_base
    copy.is_keyframe = packet.is_keyframe
    for data in packet.iter_sidedata():
        copy.set_sidedata(data)
    return copy
