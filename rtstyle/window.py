"""Live output to an OpenCV window, with a HUD and the hotkeys of :mod:`rtstyle.controls`.

A window needs OpenCV's GUI build (``opencv-python``); the runtime dependency is the
headless build, which has none, so the window checks first and says how to get one.
Import cv2 (or rtstyle) before PyAV: with PyAV's libxcb loaded first, Qt windows hang.
"""
from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from rtstyle.controls import KEYS, LiveControls, key_name
from rtstyle.errors import SinkError
from rtstyle.frames import VideoFrame
from rtstyle.outputs import LiveStatus

NO_GUI = ("this OpenCV build has no GUI (opencv-python-headless); for a window install the GUI build: "
          "pip uninstall -y opencv-python-headless && pip install opencv-python "
          "(or use --no-window with --serve for a browser preview)")


def gui_backend() -> str:
    """OpenCV's GUI backend as its build information names it (NONE for headless builds)."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip()
    return "NONE"


def check_window_possible() -> None:
    """Raise SinkError (instead of letting the GUI toolkit abort the process) when no window can open."""
    if gui_backend() == "NONE":
        raise SinkError(NO_GUI)
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise SinkError("no display to open a window on (DISPLAY is not set); "
                        "use --no-window with --serve, --vcam or --record")


def draw_hud(rgb: np.ndarray, lines: list[str]) -> np.ndarray:
    """A copy of the frame with the lines drawn top left on a dark band, sized to the frame."""
    out = rgb.copy()
    scale = max(0.4, out.shape[0] / 900)
    thickness = max(1, round(scale * 1.5))
    line_h = int(26 * scale) + 4
    width = max(cv2.getTextSize(t, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)[0][0] for t in lines)
    band = out[:line_h * len(lines) + 8, :width + 16]
    band[:] = (band * 0.35).astype(np.uint8)
    for i, text in enumerate(lines):
        cv2.putText(out, text, (8, line_h * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255),
                    thickness, cv2.LINE_AA)
    return out


def key_help() -> str:
    """One line naming the hotkeys, for the console."""
    by_action: dict[str, list[str]] = {}
    for key, action in KEYS.items():
        by_action.setdefault(action, []).append(key)
    return ", ".join(f"{'/'.join(keys)} {action.replace('_', ' ')}" for action, keys in by_action.items())


class WindowOutput:
    """Shows frames in a resizable window; keys and closing the window act on ``controls``."""

    def __init__(self, controls: LiveControls, title: str = "rtstyle"):
        check_window_possible()
        self.controls, self.title = controls, title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        self.opened = False

    def show(self, frame: VideoFrame, status: LiveStatus) -> None:
        image = draw_hud(frame.image, status.hud_lines()) if status.controls.hud else frame.image
        cv2.imshow(self.title, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        self.controls.press(key_name(cv2.waitKey(1)))
        visible = cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1
        if self.opened and not visible:  # closed with the window manager's button
            self.controls.quit()
        self.opened = self.opened or visible

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)
