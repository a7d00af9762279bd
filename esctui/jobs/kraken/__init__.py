"""Jobs that run kraken models on a document's pages through :mod:`esctui.engine`.

``segment.SegmentJob`` (regions and lines), ``transcribe.TranscribeJob`` (text into a version);
``choice`` finds the model, ``pages`` runs pages on the engine's workers with per-line progress,
per-page failures and resumable reruns. Importing these modules loads neither kraken nor torch:
kraken runs only in the engine's worker processes.
"""
