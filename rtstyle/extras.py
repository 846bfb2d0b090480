"""Access to the PyTorch tools (training, export, the optimization method) from the runtime package.

The tools live in ``tools/`` of a checkout and are installed as ``rtstyle._tools`` (the
same files, see pyproject.toml), so that the ``rtstyle`` command finds them in both
places. They need the ``[train]`` extra; without it the user gets one clear line.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from rtstyle.errors import MissingExtraError


def training_tool(name: str, feature: str) -> ModuleType:
    """Import tool module ``name`` (e.g. ``"optimize"``); ``feature`` names what needs it in the error."""
    try:
        import torch  # noqa: F401  (only checks that the extra is installed)
    except ImportError:
        raise MissingExtraError(f"{feature} needs PyTorch: pip install 'rtstyle[train]' "
                                "(install torch==2.13.0 first from PyTorch's CPU wheel index: README, Training)") from None
    try:
        return importlib.import_module(f"rtstyle._tools.{name}")
    except ModuleNotFoundError as e:
        if e.name != "rtstyle._tools":
            raise
    return importlib.import_module(f"tools.{name}")  # a source checkout: tools/ next to rtstyle/
