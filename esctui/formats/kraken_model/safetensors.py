"""The safetensors side of a model header: its JSON header and kraken's metadata in it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, BinaryIO

from esctui.formats.kraken_model.records import (
    MAX_HEADER_BYTES,
    HeaderNet,
    ModelError,
    ModelHeader,
    optional_str,
)
from esctui.formats.kraken_model.vgsl import estimate_parameters


def looks_like_safetensors(start: bytes, size: int) -> bool:
    if len(start) < 9:
        return False
    length = int.from_bytes(start[:8], "little")
    return 2 <= length <= min(size - 8, MAX_HEADER_BYTES) and start[8:9] == b"{"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a model header holds")


def strict_json(text: str) -> Any:
    """JSON as a model header may hold it: no Infinity or NaN; raises ValueError (also for a
    number of more than 4300 digits) or RecursionError (nested too deeply)."""
    return json.loads(text, parse_constant=_no_constant)


def read_safetensors(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
    name = path.name
    if size < 8:
        raise ModelError(f"{name} is too short ({size} bytes) to be a safetensors model.")
    length = int.from_bytes(stream.read(8), "little")
    if length > MAX_HEADER_BYTES:
        raise ModelError(
            f"{name}: its safetensors header claims {length:,} bytes; esctui refuses headers "
            f"over {MAX_HEADER_BYTES // 2**20} MB. The file is damaged or not a model."
        )
    if 8 + length > size:
        raise ModelError(
            f"{name}: its safetensors header claims {length:,} bytes but the file has only "
            f"{size:,}. The file is damaged or was cut short."
        )
    try:
        header = strict_json(stream.read(length).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ModelError(f"{name} is not a safetensors model: its header is not valid.") from None
    if not isinstance(header, dict):
        raise ModelError(f"{name} is not a safetensors model: its header is not valid.")
    metadata = header.pop("__metadata__", None) or {}
    stored_values, data_end = _tensor_extent(header, name)
    if 8 + length + data_end > size:
        raise ModelError(
            f"{name} ends too early: its weights need {8 + length + data_end:,} bytes but the "
            f"file has only {size:,}. It was probably cut short while copying or downloading."
        )
    raw_meta = metadata.get("kraken_meta") if isinstance(metadata, dict) else None
    if not isinstance(raw_meta, str):
        raise ModelError(
            f"{name} is a safetensors file without kraken metadata: it is not a kraken model "
            "(perhaps a model made by another program)."
        )
    try:
        model_map = strict_json(raw_meta)
    except (ValueError, RecursionError):
        model_map = None
    if not isinstance(model_map, dict) or not model_map:
        raise ModelError(f"{name}: its kraken metadata is unreadable or describes no model.")
    nets = tuple(_safetensors_net(key, data) for key, data in model_map.items())
    return ModelHeader(path, "safetensors", size, nets, stored_values, {})


def _tensor_extent(tensors: dict[str, Any], name: str) -> tuple[int, int]:
    """Number of stored values and the end of the data section, from the tensor table."""
    values = 0
    end = 0
    for entry in tensors.values():
        try:
            shape = [int(n) for n in entry["shape"]]
            begin, stop = (int(n) for n in entry["data_offsets"])
        except (KeyError, TypeError, ValueError, OverflowError):
            raise ModelError(f"{name}: its safetensors tensor table is damaged.") from None
        if min(shape, default=0) < 0 or not 0 <= begin <= stop:
            raise ModelError(f"{name}: its safetensors tensor table is damaged.")
        values += math.prod(shape)
        end = max(end, stop)
    return values, end


def _safetensors_net(key: str, data: Any) -> HeaderNet:
    if not isinstance(data, dict):
        return HeaderNet(key, "", (), None, None, {}, None)
    tasks = data.get("_tasks") or []
    metadata = {k: v for k, v in data.items() if not k.startswith("_")}
    model_class = str(data.get("_model", ""))
    return HeaderNet(
        key=key,
        model_class=model_class,
        tasks=tuple(str(t) for t in tasks) if isinstance(tasks, list) else (),
        vgsl=metadata.get("vgsl") if isinstance(metadata.get("vgsl"), str) else None,
        min_kraken_version=optional_str(data.get("_kraken_min_version")),
        metadata=metadata,
        estimated_parameters=estimate_parameters(model_class, metadata),
    )
