"""What esctui knows about a kraken model file, the error it raises, and the limits it applies.

Plain records (no torch, no kraken): what the file's metadata says (``ModelHeader`` with one
``HeaderNet`` per network) and what kraken found when it loaded the file (``ModelInfo`` with
one ``NetInfo`` per network).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from esctui.domain.errors import FormatError

ModelFormat = Literal["coreml", "safetensors"]

#: A safetensors JSON header or CoreML description larger than this is refused.
MAX_HEADER_BYTES = 100 * 2**20
#: A file whose networks ask for more weights than this is refused before loading.
MAX_PARAMETERS = 200_000_000
#: kraken's reshape layer builds a zero tensor of its input shape while it sets the model up.
MAX_RESHAPE_VALUES = 50_000_000
#: A safetensors network may not ask for much more than the weights the file holds.
UNSTORED_WEIGHTS_SLACK = 1_000_000


class ModelError(FormatError):
    """A file refused as a kraken model; ``str(error)`` says why in plain words."""


@dataclass(frozen=True)
class HeaderNet:
    """One network described in a model file's metadata, as kraken will build it."""

    key: str  # safetensors prefix; "" for a CoreML file's main net, e.g. "ro_model" for aux nets
    model_class: str  # kraken's registry name: TorchVGSLModel, ROMLP, PPOCRv6Model, ...
    tasks: tuple[str, ...]  # kraken's model_type, e.g. ("segmentation",)
    vgsl: str | None
    min_kraken_version: str | None
    metadata: dict[str, Any]
    estimated_parameters: int | None  # None: esctui cannot tell; kraken's limits apply


@dataclass(frozen=True)
class ModelHeader:
    """What a model file says about itself, read without torch or kraken."""

    path: Path
    format: ModelFormat
    byte_size: int
    nets: tuple[HeaderNet, ...]
    stored_values: int | None  # weight values in a safetensors file; None for CoreML
    file_metadata: dict[str, str]  # CoreML's own author / license / description fields

    @property
    def estimated_parameters(self) -> int | None:
        """Sum over the nets, or None when any net could not be estimated."""
        known = [n.estimated_parameters for n in self.nets if n.estimated_parameters is not None]
        return sum(known) if len(known) == len(self.nets) else None


@dataclass(frozen=True)
class TrainingInfo:
    """Training metadata kraken keeps in a net, when present."""

    accuracy: float | None = None  # last validation accuracy recorded
    epochs: int | None = None  # completed training epochs
    hyper_params: dict[str, Any] = field(default_factory=dict)
    license: str | None = None
    authors: list[str] = field(default_factory=list)
    description: str | None = None
    scripts: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    name: str | None = None


@dataclass(frozen=True)
class NetInfo:
    """One network kraken loaded from the file."""

    kind: str  # ModelKind value of the first task
    tasks: list[str]  # kraken's model_type
    model_class: str
    seg_type: str | None
    one_channel_mode: str | None
    legacy_polygons: bool | None  # recognition nets only
    min_kraken_version: str | None
    vgsl: str | None
    classes: dict[str, list[str]]  # e.g. {"baselines": [...], "regions": [...]}
    alphabet: str | None  # recognition: the codec's graphemes, sorted and joined
    parameters: int
    training: TrainingInfo


@dataclass(frozen=True)
class ModelInfo:
    """What kraken says about a model file, plus the file's size and SHA-256."""

    path: Path
    format: ModelFormat
    byte_size: int
    sha256: str
    nets: list[NetInfo]
    notes: list[str] = field(default_factory=list)  # kraken's warnings, version remarks
    kraken_version: str = ""  # the kraken that loaded the file

    @property
    def kinds(self) -> list[str]:
        """One ModelKind value per net, in file order."""
        return [net.kind for net in self.nets]

    def to_record(self) -> dict[str, Any]:
        """JSON-ready metadata, e.g. for the store's ``Model.metadata``."""
        return {
            "format": self.format,
            "nets": [dataclasses.asdict(net) for net in self.nets],
            "notes": list(self.notes),
            "kraken_version": self.kraken_version,
        }


def optional_str(value: Any) -> str | None:
    """``value`` when it is a non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def count_in_words(n: int) -> str:
    """A large number in words a reader takes in at once: '830 million'."""
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if n >= size:
            return f"{n / size:,.3g} {word}"
    return f"{n:,}"
