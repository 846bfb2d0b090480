"""Live controls shared by every way of steering a live run (window hotkeys, browser page).

One object holds the state and one table maps keys to actions, so the window and the
page cannot drift apart: the page asks the server for the same table. All methods are
thread-safe; the inference and output threads read a consistent :meth:`state`.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

STRENGTH_STEP = 0.1
MESSAGE_SECONDS = 3.0

# Key (as a browser's KeyboardEvent.key names it) -> action. OpenCV key codes are mapped
# onto the same names by :func:`key_name`.
KEYS: dict[str, str] = {
    "n": "next_style", "p": "prev_style",
    "+": "strength_up", "=": "strength_up", "-": "strength_down",
    "c": "toggle_colours", "t": "toggle_smoothing", "m": "toggle_mirror", "o": "toggle_painting",
    "h": "toggle_hud",
    "s": "snapshot", "q": "quit", "Escape": "quit",
}


def key_name(code: int) -> str | None:
    """OpenCV ``waitKey`` code -> the key's name in :data:`KEYS` terms (None for no key)."""
    if code < 0:
        return None
    code &= 0xFF
    return "Escape" if code == 27 else chr(code)


@dataclass(frozen=True)
class ControlState:
    """A consistent copy of the controls, taken once per frame."""

    style: str
    strength: float
    keep_colours: bool
    smoothing: bool
    hud: bool
    message: str
    mirror: bool = False  # the camera flipped left to right, as a mirror (a selfie view) shows it
    painting: bool = True  # off: the camera shown as it is, nothing painted (a streamer's filter switched off)


class LiveControls:
    """The style list and the switches a person changes while the filter runs."""

    ACTIONS = ("next_style", "prev_style", "strength_up", "strength_down", "toggle_colours",
               "toggle_smoothing", "toggle_mirror", "toggle_painting",
               "toggle_hud", "snapshot", "quit")

    def __init__(self, styles: list[str], strength: float = 1.0, keep_colours: bool = False,
                 smoothing: bool = False, hud: bool = True, mirror: bool = False):
        if not styles:
            raise ValueError("at least one style is needed")
        self.styles = list(styles)
        self._index = 0
        self._strength = strength
        self._keep_colours = keep_colours
        self._smoothing = smoothing
        self._hud = hud
        self._mirror = mirror
        self._painting = True
        self._snapshot = False
        self._message, self._message_until = "", 0.0
        self._lock = threading.Lock()
        self.quit_event = threading.Event()

    # --- actions (one per hotkey / page button) ---------------------------------------
    def next_style(self) -> None:
        with self._lock:
            self._index = (self._index + 1) % len(self.styles)

    def prev_style(self) -> None:
        with self._lock:
            self._index = (self._index - 1) % len(self.styles)

    def set_style(self, name: str) -> None:
        with self._lock:
            if name not in self.styles:
                raise ValueError(f"unknown style '{name}'")
            self._index = self.styles.index(name)

    def set_strength(self, value: float) -> None:
        with self._lock:
            self._strength = round(min(1.0, max(0.0, float(value))), 2)

    def strength_up(self) -> None:
        self.set_strength(self._strength + STRENGTH_STEP)

    def strength_down(self) -> None:
        self.set_strength(self._strength - STRENGTH_STEP)

    def toggle_colours(self) -> None:
        self._switch("_keep_colours")

    def toggle_smoothing(self) -> None:
        self._switch("_smoothing")

    def toggle_mirror(self) -> None:
        self._switch("_mirror")

    def toggle_painting(self) -> None:
        self._switch("_painting")

    def toggle_hud(self) -> None:
        self._switch("_hud")

    def _switch(self, flag: str) -> None:
        with self._lock:
            setattr(self, flag, not getattr(self, flag))

    def snapshot(self) -> None:
        with self._lock:
            self._snapshot = True

    def quit(self) -> None:
        self.quit_event.set()

    # --- dispatch ----------------------------------------------------------------------
    def act(self, action: str, value: object = None) -> None:
        """Run an action by name; ``style`` and ``strength`` take a value (page widgets)."""
        if action == "style":
            self.set_style(str(value))
        elif action == "strength":
            self.set_strength(float(value))  # type: ignore[arg-type]
        elif action in self.ACTIONS:
            getattr(self, action)()
        else:
            raise ValueError(f"unknown action '{action}'")

    def press(self, key: str | None) -> bool:
        """Act on a key name; False when the key means nothing."""
        action = KEYS.get(key or "")
        if action is None:
            return False
        self.act(action)
        return True

    # --- reading -----------------------------------------------------------------------
    @property
    def quitting(self) -> bool:
        return self.quit_event.is_set()

    def say(self, message: str) -> None:
        """A short note for the HUD and the page (snapshot saved, style failed, ...)."""
        with self._lock:
            self._message, self._message_until = message, time.monotonic() + MESSAGE_SECONDS

    def take_snapshot(self) -> bool:
        """True once per snapshot request: the output thread saves the next frame."""
        with self._lock:
            wanted, self._snapshot = self._snapshot, False
            return wanted

    def state(self) -> ControlState:
        with self._lock:
            message = self._message if time.monotonic() < self._message_until else ""
            return ControlState(self.styles[self._index], self._strength, self._keep_colours,
                                self._smoothing, self._hud, message, self._mirror, self._painting)

    def as_dict(self) -> dict:
        """State for the browser page, with the style list and the shared key table."""
        s = self.state()
        return {"style": s.style, "styles": self.styles, "strength": s.strength, "keep_colours": s.keep_colours,
                "smoothing": s.smoothing, "mirror": s.mirror, "painting": s.painting, "hud": s.hud,
                "message": s.message, "keys": KEYS, "quitting": self.quitting}
