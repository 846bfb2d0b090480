"""User-facing errors: the CLI prints their message as one line and exits non-zero."""


class RtstyleError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class ModelError(RtstyleError):
    """A file is missing, unreadable or not a usable image-to-image style model."""


class StyleNotFoundError(RtstyleError):
    """A style name matches no model on the search path."""


class SourceError(RtstyleError):
    """An input (video, image, camera) cannot be opened or has nothing usable."""


class SinkError(RtstyleError):
    """An output cannot be created or written."""


class StyleMixError(RtstyleError, ValueError):
    """A style mix, style weight vector or style vector is malformed."""


class MissingExtraError(RtstyleError):
    """A feature needs an optional dependency group (e.g. ``[train]`` for PyTorch) that is not installed."""
