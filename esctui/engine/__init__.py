"""kraken in separate, limited, reusable worker processes: segmentation, recognition, masks.

Importing this package is cheap (no kraken, no torch); workers start on the first call. See
:class:`KrakenEngine` (pool.py) for the API, data.py for what goes in and comes out, errors.py
for the failures (each a sentence), worker.py for the process that runs kraken.
"""

from esctui.engine.data import (
    LineShape,
    PageMasks,
    PageRecognition,
    PageSegmentation,
    Progress,
    RecognizedLine,
    SegmentedLine,
    SegmentedRegion,
    text_direction_for,
)
from esctui.engine.errors import (
    EngineClosedError,
    EngineError,
    EngineStartError,
    LinesUnsuitableError,
    ModelUnusableError,
    PageImageError,
    PageTimeoutError,
    WorkerCrashedError,
    WorkerOutOfMemoryError,
)
from esctui.engine.pool import KrakenEngine

__all__ = [
    "EngineClosedError",
    "EngineError",
    "EngineStartError",
    "KrakenEngine",
    "LineShape",
    "LinesUnsuitableError",
    "ModelUnusableError",
    "PageImageError",
    "PageMasks",
    "PageRecognition",
    "PageSegmentation",
    "PageTimeoutError",
    "Progress",
    "RecognizedLine",
    "SegmentedLine",
    "SegmentedRegion",
    "WorkerCrashedError",
    "WorkerOutOfMemoryError",
    "text_direction_for",
]
