"""Live output to a virtual camera (pyvirtualcam) that video-call apps and OBS can pick.

pyvirtualcam is the optional extra ``rtstyle[vcam]``; it needs a backend: v4l2loopback
on Linux, OBS Studio's virtual camera on Windows and macOS. Anything missing becomes
one SinkError that says what to install, before the run starts.
"""
from __future__ import annotations

import sys

from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus


def backend_help() -> str:
    if sys.platform.startswith("linux"):
        return ("install and load v4l2loopback: sudo apt install v4l2loopback-dkms && "
                "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=rtstyle")
    return "install OBS Studio (28 or newer) and start its Virtual Camera once, then stop it"


class VirtualCamera:
    """Sends RGB frames of a fixed size to the system's virtual camera device."""

    def __init__(self, width: int, height: int, fps: float, device: str | None = None):
        try:
            import pyvirtualcam
        except ImportError:
            raise SinkError("the virtual camera needs pyvirtualcam: pip install 'rtstyle[vcam]'") from None
        try:
            self.camera = pyvirtualcam.Camera(width, height, fps, fmt=pyvirtualcam.PixelFormat.RGB, device=device)
        except RuntimeError as e:
            reason = str(e).splitlines()[0].split(". Did you")[0]
            raise SinkError(f"no virtual camera ({reason}); {backend_help()}") from None
        self.device = self.camera.device

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        self.camera.send(frame.image)

    def close(self) -> None:
        self.camera.close()
