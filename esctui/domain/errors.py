"""Errors whose message is meant for the user, in plain words."""

import errno


class EsctuiError(Exception):
    """Base class: ``str(error)`` is a sentence a historian understands."""


class NotFoundError(EsctuiError):
    """A document, page, model, version or job that does not exist."""


class ConflictError(EsctuiError):
    """A name already taken, or an action the current state does not allow."""


class StoreError(EsctuiError):
    """The data folder cannot be used (newer schema, unreadable file, locked too long)."""


class PermissionDeniedError(EsctuiError):
    """The current user may not change this object (e.g. a model owned by someone else)."""


class FormatError(EsctuiError):
    """A file (or a document fetched) that cannot be read in its format: PDF, ALTO/PAGE, ZIP,
    IIIF, kraken model. The message names the file and says why."""


class JobError(EsctuiError):
    """A job that cannot start or go on (no pages, an unknown version, an unusable target)."""


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """True for the operating system's "no space left on device" (or "quota exceeded")."""
    return isinstance(error, OSError) and error.errno in DISK_FULL_ERRNOS
