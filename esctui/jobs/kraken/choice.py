"""Which kraken model a job runs: kraken's default segmentation model or one from the store."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from esctui.domain import Model, ModelKind
from esctui.domain.errors import JobError
from esctui.engine import ModelUnusableError
from esctui.store import Store

#: The name shown for kraken's own segmentation model (``kraken/blla.mlmodel``).
DEFAULT_SEGMENTATION_NAME = "kraken default (blla)"
#: Names that choose it on the command line.
DEFAULT_SEGMENTATION_ALIASES = ("default", "blla", DEFAULT_SEGMENTATION_NAME)

_TASK_WORDS = {ModelKind.SEGMENTATION: "segmenting", ModelKind.RECOGNITION: "transcribing"}


class ModelChoiceError(JobError):
    """No model was named where one is needed."""


@dataclass(frozen=True)
class ChosenModel:
    """A model ready for the engine: ``path`` None means kraken's default blla model."""

    name: str
    path: Path | None
    sha256: str
    seg_type: str | None  # "baselines", "bbox", or None when the metadata does not say


def choose_model(store: Store, ref: str | None, kind: ModelKind) -> ChosenModel:
    """The model named ``ref`` (name or id; None: kraken's default for segmentation).

    Raises ModelUnusableError (a sentence) for a model of the wrong kind or whose file is gone.
    """
    if kind is ModelKind.SEGMENTATION and (ref is None or ref in DEFAULT_SEGMENTATION_ALIASES):
        return default_segmentation_model()
    if ref is None:
        raise ModelChoiceError(
            f"{_TASK_WORDS[kind].capitalize()} needs a {kind.value} model: name one "
            "(`esctui models list` shows them)."
        )
    return stored_model(store, store.get_model(ref), kind)


def stored_model(store: Store, model: Model, kind: ModelKind) -> ChosenModel:
    """A stored model checked for ``kind`` and for its file in the data folder."""
    if kind.value not in model.kinds:
        kinds = " and ".join(model.kinds) or "unknown"
        raise ModelUnusableError(
            f"The model {model.name!r} is a {kinds} model; {_TASK_WORDS[kind]} needs a "
            f"{kind.value} model."
        )
    path = store.models_dir() / model.filename
    if not path.is_file():
        raise ModelUnusableError(
            f"The file of the model {model.name!r} is missing from the data folder ({path}); "
            "delete the model and upload it again."
        )
    return ChosenModel(model.name, path, model.sha256, model_seg_type(model, kind))


def model_seg_type(model: Model, kind: ModelKind) -> str | None:
    """kraken's ``seg_type`` of the model's first net of ``kind`` ("baselines", "bbox")."""
    for net in model.metadata.get("nets", []):
        if isinstance(net, dict) and net.get("kind") == kind.value:
            value = net.get("seg_type")
            return value if isinstance(value, str) and value else None
    return None


def models_of_kind(store: Store, kind: ModelKind) -> list[Model]:
    """The stored models usable for ``kind`` (for model lists in the TUI and the CLI)."""
    return [model for model in store.list_models() if kind.value in model.kinds]


def default_segmentation_model() -> ChosenModel:
    """kraken's blla model, found without importing kraken."""
    path = _blla_path()
    if path is None:
        raise ModelUnusableError(
            "kraken's default segmentation model (blla.mlmodel) is not installed; "
            "upload a segmentation model and choose it."
        )
    return ChosenModel(DEFAULT_SEGMENTATION_NAME, None, _sha256(path), "baselines")


def _blla_path() -> Path | None:
    spec = importlib.util.find_spec("kraken")  # finds the package; does not import it
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "blla.mlmodel"
    return path if path.is_file() else None


@functools.cache
def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()
