"""Read a model file's metadata without torch or kraken, and refuse what is plainly not a model.

``read_model_header`` refuses what is obviously not a kraken model (empty, a folder, random
bytes, a pickled checkpoint, a damaged or cut-short file) and estimates the size of each network
from its description before anything is allocated. Uploaded files are never unpickled.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from esctui.formats.kraken_model.coreml import read_coreml
from esctui.formats.kraken_model.records import (
    MAX_PARAMETERS,
    UNSTORED_WEIGHTS_SLACK,
    ModelError,
    ModelHeader,
    count_in_words,
)
from esctui.formats.kraken_model.safetensors import looks_like_safetensors, read_safetensors

PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".pkl", ".pickle"})
PICKLE_MESSAGE = (
    "{name} looks like a pickled training checkpoint. esctui does not load pickled "
    "checkpoints (opening one can run any code hidden in it). Convert it with kraken first: "
    "`ketos convert -o model.safetensors {name}` and upload the .safetensors file."
)


def read_model_header(path: str | os.PathLike[str]) -> ModelHeader:
    """Read and sanity-check a model file's metadata; raise :class:`ModelError` if refused."""
    path = Path(path)
    name = path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ModelError(f"There is no file at {path}.") from None
    except OSError as error:
        raise ModelError(f"{name} cannot be read: {error.strerror or error}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise ModelError(f"{name} is a folder, not a model file.")
    if not stat.S_ISREG(info.st_mode):
        raise ModelError(f"{name} is not a regular file.")
    size = info.st_size
    if size == 0:
        raise ModelError(f"{name} is empty: it holds no model.")
    try:
        with path.open("rb") as stream:
            header = _read_header(stream, path, size)
        _check_sizes(header)
    except OSError as error:
        raise ModelError(f"{name} cannot be read: {error.strerror or error}.") from None
    except (RecursionError, OverflowError, ValueError, MemoryError) as error:
        # JSON nested to exhaust the parser, a 5000-digit number, Infinity where a size is...
        raise ModelError(
            f"{name} is not a model esctui can read: its header holds values no real model has "
            f"({type(error).__name__}). The file is damaged or was made to break readers."
        ) from None
    return header


def _read_header(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
    start = stream.read(16)
    stream.seek(0)
    suffix = path.suffix.lower()
    if looks_like_safetensors(start, size):
        return read_safetensors(stream, path, size)
    if suffix in PICKLE_SUFFIXES or start.startswith(b"PK\x03\x04") or _looks_like_pickle(start):
        raise ModelError(PICKLE_MESSAGE.format(name=path.name))
    if suffix == ".safetensors":
        return read_safetensors(stream, path, size)  # to say what is wrong with it
    return read_coreml(stream, path, size)


def _looks_like_pickle(start: bytes) -> bool:
    return len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5


def _check_sizes(header: ModelHeader) -> None:
    """Refuse networks whose description asks for absurd sizes, before kraken allocates them."""
    name = header.path.name
    for net in header.nets:
        if net.estimated_parameters is not None and net.estimated_parameters > MAX_PARAMETERS:
            raise ModelError(
                f"{name}: its network description asks for about "
                f"{count_in_words(net.estimated_parameters)} weights; esctui refuses models above "
                f"{count_in_words(MAX_PARAMETERS)}. The file is damaged or not a real model."
            )
    total = header.estimated_parameters
    if total is not None and total > MAX_PARAMETERS:
        raise ModelError(
            f"{name}: its networks ask for about {count_in_words(total)} weights together; esctui "
            f"refuses models above {count_in_words(MAX_PARAMETERS)}."
        )
    stored = header.stored_values
    if total is not None and stored is not None and total > 4 * stored + UNSTORED_WEIGHTS_SLACK:
        raise ModelError(
            f"{name}: its network description asks for about {count_in_words(total)} weights "
            f"but the file holds only {count_in_words(stored)}. The file is damaged or not a real "
            "model."
        )
