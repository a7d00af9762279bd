"""The CoreML (.mlmodel) side of a model header: a minimal reader of its protobuf metadata.

Only the top-level fields are walked (streamed from the file) to find the model description;
its ``userDefined`` map holds kraken's metadata and VGSL spec. Nothing else is decoded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from esctui.formats.kraken_model.records import (
    MAX_HEADER_BYTES,
    HeaderNet,
    ModelError,
    ModelHeader,
)
from esctui.formats.kraken_model.vgsl import estimate_parameters

# CoreML: Model.description (2) -> ModelDescription.metadata (100) -> Metadata fields.
_COREML_DESCRIPTION = 2
_COREML_METADATA = 100
_COREML_USER_DEFINED = 100
_COREML_TEXT_FIELDS = {1: "short_description", 2: "version", 3: "author", 4: "license"}
_MAX_TOP_LEVEL_FIELDS = 10_000


class _ProtobufError(Exception):
    """Bytes that do not follow the protobuf wire format."""


class _CutShort(_ProtobufError):
    """A protobuf field runs past the end of the file."""


def read_coreml(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
    name = path.name
    try:
        description = _coreml_description(stream, size)
        user_defined, file_metadata = _coreml_metadata(description)
    except _CutShort:
        raise ModelError(
            f"{name} ends too early: it was probably cut short while copying or downloading."
        ) from None
    except _ProtobufError:
        raise ModelError(
            f"{name} is not a kraken model: it is neither a CoreML (.mlmodel) nor a "
            "safetensors file."
        ) from None
    try:
        kraken_meta = json.loads(user_defined.get("kraken_meta", "{}"))
    except json.JSONDecodeError:
        kraken_meta = {}  # kraken will say what is wrong with it
    if not isinstance(kraken_meta, dict):
        kraken_meta = {}
    vgsl = user_defined.get("vgsl") or kraken_meta.get("vgsl")
    if not isinstance(vgsl, str) or not vgsl:
        raise ModelError(
            f"{name} holds no kraken network description (VGSL spec): it is not a kraken model."
        )
    model_type = kraken_meta.get("model_type")
    if "kraken_meta" not in user_defined:
        model_type = ["recognition"]  # kraken's rule for models older than kraken_meta
    tasks = [model_type] if isinstance(model_type, str) else model_type
    tasks = tuple(str(t) for t in tasks) if isinstance(tasks, list) else ()
    metadata = {k: v for k, v in kraken_meta.items() if k not in ("codec", "vgsl")}
    metadata["vgsl"] = vgsl
    main = HeaderNet(
        "",
        "TorchVGSLModel",
        tasks,
        vgsl,
        None,
        metadata,
        estimate_parameters("TorchVGSLModel", metadata),
    )
    nets = [main, *_coreml_aux_nets(user_defined.get("aux_layers"), metadata)]
    return ModelHeader(path, "coreml", size, tuple(nets), None, file_metadata)


def _coreml_aux_nets(raw: str | None, metadata: dict[str, Any]) -> list[HeaderNet]:
    """Reading-order nets stored beside a segmentation net, as kraken's CoreML loader reads them."""
    try:
        aux = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        return []
    levels = {"ro_model": "baselines", "ro_model_regions": "regions"}
    nets = []
    mapping = metadata.get("class_mapping")
    for key in aux if isinstance(aux, dict) else ():
        if key not in levels:
            continue
        classes = mapping.get(levels[key], {}) if isinstance(mapping, dict) else {}
        meta = {"class_mapping": classes, "level": levels[key]}
        estimate = estimate_parameters("ROMLP", meta)
        nets.append(HeaderNet(key, "ROMLP", ("reading_order",), None, None, meta, estimate))
    return nets


def _coreml_description(stream: BinaryIO, size: int) -> bytes:
    """Walk the top-level protobuf fields of the file; return the ``description`` bytes."""
    description: bytes | None = None
    position = 0
    for _ in range(_MAX_TOP_LEVEL_FIELDS):
        if position == size:
            break
        tag = _stream_varint(stream)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise _ProtobufError("field number 0")
        if wire_type == 0:
            _stream_varint(stream)
        elif wire_type in (1, 5):
            stream.seek(8 if wire_type == 1 else 4, os.SEEK_CUR)
        elif wire_type == 2:
            length = _stream_varint(stream)
            if stream.tell() + length > size:
                raise _CutShort()
            if number == _COREML_DESCRIPTION:
                if length > MAX_HEADER_BYTES:
                    raise _ProtobufError("description too large")
                description = stream.read(length)
            else:
                stream.seek(length, os.SEEK_CUR)
        else:
            raise _ProtobufError(f"wire type {wire_type}")
        position = stream.tell()
        if position > size:
            raise _CutShort()
    else:
        raise _ProtobufError("too many fields")
    if description is None:
        raise _ProtobufError("no description")
    return description


def _stream_varint(stream: BinaryIO) -> int:
    value = 0
    for shift in range(0, 70, 7):
        byte = stream.read(1)
        if not byte:
            raise _CutShort()
        value |= (byte[0] & 0x7F) << shift
        if byte[0] < 0x80:
            return value
    raise _ProtobufError("varint too long")


def _coreml_metadata(description: bytes) -> tuple[dict[str, str], dict[str, str]]:
    """The ``userDefined`` map and the plain text fields of ``description.metadata``."""
    user_defined: dict[str, str] = {}
    file_metadata: dict[str, str] = {}
    for number, value in _message_fields(description):
        if number != _COREML_METADATA or not isinstance(value, bytes):
            continue
        for meta_number, meta_value in _message_fields(value):
            if meta_number == _COREML_USER_DEFINED and isinstance(meta_value, bytes):
                entry = dict(_message_fields(meta_value))
                key, text = entry.get(1, b""), entry.get(2, b"")
                if isinstance(key, bytes) and isinstance(text, bytes):
                    user_defined[_text(key)] = _text(text)
            elif meta_number in _COREML_TEXT_FIELDS and isinstance(meta_value, bytes):
                file_metadata[_COREML_TEXT_FIELDS[meta_number]] = _text(meta_value).strip()
    file_metadata = {key: text for key, text in file_metadata.items() if text}
    return user_defined, file_metadata


def _message_fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) pairs of one protobuf message held in memory."""
    position = 0
    while position < len(data):
        tag, position = _varint(data, position)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise _ProtobufError("field number 0")
        if wire_type == 0:
            value, position = _varint(data, position)
            yield number, value
        elif wire_type in (1, 5):
            width = 8 if wire_type == 1 else 4
            if position + width > len(data):
                raise _ProtobufError("fixed field past the end")
            yield number, int.from_bytes(data[position : position + width], "little")
            position += width
        elif wire_type == 2:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise _ProtobufError("field past the end")
            yield number, data[position : position + length]
            position += length
        else:
            raise _ProtobufError(f"wire type {wire_type}")


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = 0
    for shift in range(0, 70, 7):
        if position >= len(data):
            raise _ProtobufError("varint past the end")
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
    raise _ProtobufError("varint too long")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _ProtobufError("text is not UTF-8") from None
