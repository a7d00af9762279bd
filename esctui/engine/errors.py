"""What can go wrong when kraken works on a page, each as a sentence a historian understands.

Jobs tell them apart by class: a :class:`ModelUnusableError` will fail on every page (stop the
job), the others concern one page (skip it and go on). After any of them the engine is still
usable: a worker that crashed, ran out of memory or hung has been stopped and is replaced on the
next call.
"""

from __future__ import annotations

from esctui.domain.errors import EsctuiError


class EngineError(EsctuiError):
    """kraken could not do what was asked; ``str(error)`` says why in plain words."""


class ModelUnusableError(EngineError):
    """The model file is gone, cannot be loaded, or is of the wrong kind for the task."""


class PageImageError(EngineError):
    """The page image is missing, damaged, not an image, or too large."""


class LinesUnsuitableError(EngineError):
    """The lines given do not suit the task or the model (e.g. boxes for a baseline model)."""


class WorkerCrashedError(EngineError):
    """The worker process died in the middle of a page (killed, crashed)."""


class WorkerOutOfMemoryError(WorkerCrashedError):
    """The page needed more memory than a worker may use."""


class PageTimeoutError(EngineError):
    """kraken took longer than the time limit on one page; its worker was stopped."""


class EngineStartError(EngineError):
    """A worker process could not start (kraken cannot be imported, too little memory)."""


class EngineClosedError(EngineError):
    """The engine was closed while a page was waiting or in progress."""
