"""kraken model files: read their header without torch, validate them in a sandboxed process.

Two steps, cheapest first:

1. :func:`read_model_header` parses the file's metadata with the standard library only (the
   safetensors JSON header, or the ``userDefined`` map of a CoreML protobuf), refuses what is
   obviously not a kraken model (empty, a folder, random bytes, a pickled checkpoint, a damaged
   or cut-short file) and estimates the size of each network from its description before
   anything is allocated.
2. :func:`validate_model` then loads the file with kraken (``kraken.models.load_models``) in a
   separate Python process with a memory and a time limit, and reports what kraken found.

Uploaded files are never unpickled: kraken 7 loads CoreML and safetensors without pickle, and
neither step here calls ``torch.load``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

from esctui.domain import ModelKind
from esctui.domain.errors import EsctuiError
from esctui.formats.kraken_model_worker import looks_out_of_memory

ModelFormat = Literal["coreml", "safetensors"]

#: A safetensors JSON header or CoreML description larger than this is refused.
MAX_HEADER_BYTES = 100 * 2**20
#: A file whose networks ask for more weights than this is refused before loading.
MAX_PARAMETERS = 200_000_000
#: kraken's reshape layer builds a zero tensor of its input shape while it sets the model up.
MAX_RESHAPE_VALUES = 50_000_000
#: A safetensors network may not ask for much more than the weights the file holds.
UNSTORED_WEIGHTS_SLACK = 1_000_000

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_LIMIT = 3 * 2**30

PICKLE_SUFFIXES = frozenset({".ckpt", ".pt", ".pth", ".pkl", ".pickle"})
PICKLE_MESSAGE = (
    "{name} looks like a pickled training checkpoint. esctui does not load pickled "
    "checkpoints (opening one can run any code hidden in it). Convert it with kraken first: "
    "`ketos convert -o model.safetensors {name}` and upload the .safetensors file."
)
WORKER_MODULE = "esctui.formats.kraken_model_worker"


class ModelError(EsctuiError):
    """A file refused as a kraken model; ``str(error)`` says why in plain words."""


# --------------------------------------------------------------------------- header (no torch)


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
        counts = [net.estimated_parameters for net in self.nets]
        return None if any(c is None for c in counts) else sum(counts)  # type: ignore[misc]


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
    except OSError as error:
        raise ModelError(f"{name} cannot be read: {error.strerror or error}.") from None
    _check_sizes(header)
    return header


def _read_header(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
    start = stream.read(16)
    stream.seek(0)
    suffix = path.suffix.lower()
    if _looks_like_safetensors(start, size):
        return _read_safetensors(stream, path, size)
    if suffix in PICKLE_SUFFIXES or start.startswith(b"PK\x03\x04") or _looks_like_pickle(start):
        raise ModelError(PICKLE_MESSAGE.format(name=path.name))
    if suffix == ".safetensors":
        return _read_safetensors(stream, path, size)  # to say what is wrong with it
    return _read_coreml(stream, path, size)


def _looks_like_safetensors(start: bytes, size: int) -> bool:
    if len(start) < 9:
        return False
    length = int.from_bytes(start[:8], "little")
    return 2 <= length <= min(size - 8, MAX_HEADER_BYTES) and start[8:9] == b"{"


def _looks_like_pickle(start: bytes) -> bool:
    return len(start) >= 2 and start[0] == 0x80 and 2 <= start[1] <= 5


def _read_safetensors(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
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
        header = json.loads(stream.read(length).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
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
        model_map = json.loads(raw_meta)
    except json.JSONDecodeError:
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
        except (KeyError, TypeError, ValueError):
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
        min_kraken_version=_optional_str(data.get("_kraken_min_version")),
        metadata=metadata,
        estimated_parameters=estimate_parameters(model_class, metadata),
    )


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


def _read_coreml(stream: BinaryIO, path: Path, size: int) -> ModelHeader:
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


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _check_sizes(header: ModelHeader) -> None:
    """Refuse networks whose description asks for absurd sizes, before kraken allocates them."""
    name = header.path.name
    for net in header.nets:
        if net.estimated_parameters is not None and net.estimated_parameters > MAX_PARAMETERS:
            raise ModelError(
                f"{name}: its network description asks for about "
                f"{_count(net.estimated_parameters)} weights; esctui refuses models above "
                f"{_count(MAX_PARAMETERS)}. The file is damaged or not a real model."
            )
    total = header.estimated_parameters
    if total is not None and total > MAX_PARAMETERS:
        raise ModelError(
            f"{name}: its networks ask for about {_count(total)} weights together; esctui "
            f"refuses models above {_count(MAX_PARAMETERS)}."
        )
    stored = header.stored_values
    if total is not None and stored is not None and total > 4 * stored + UNSTORED_WEIGHTS_SLACK:
        raise ModelError(
            f"{name}: its network description asks for about {_count(total)} weights but the "
            f"file holds only {_count(stored)}. The file is damaged or not a real model."
        )


def _count(n: int) -> str:
    """A large number in words a reader takes in at once: '830 million'."""
    for size, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if n >= size:
            return f"{n / size:,.3g} {word}"
    return f"{n:,}"


# --------------------------------------------------------------------------- size estimates

# (base weights, weights per output class) of kraken's PP-OCRv6 variants, measured on 7.1.1.
_PPOCR_VARIANTS = {
    "tiny": (550_388, 81),
    "small": (3_020_160, 121),
    "medium": (15_544_288, 193),
}


def estimate_parameters(model_class: str, metadata: dict[str, Any]) -> int | None:
    """How many weights kraken will allocate for a net, or None if esctui cannot tell.

    Raises :class:`ModelError` when the description makes kraken build an absurdly large
    tensor while it sets the network up.
    """
    try:
        if model_class == "TorchVGSLModel":
            vgsl = metadata.get("vgsl")
            return vgsl_parameter_count(vgsl) if isinstance(vgsl, str) else None
        if model_class == "ROMLP":
            values = list(metadata.get("class_mapping", {}).values())
            classes = max(0, *values) + 1 if values else 1
            features = 2 * int(classes) + 12
            hidden = 2 * features
            return features * hidden + hidden + hidden + 1
        if model_class == "PPOCRv6Model":
            base, per_class = _PPOCR_VARIANTS[metadata.get("variant", "small")]
            return base + per_class * int(metadata["num_classes"])
        if model_class == "Wav2Vec2Mask":
            width = int(metadata["context_encoder_input_dim"])
            final = int(metadata["final_dim"])
            return width + width * final + final
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    return None


Shape = tuple[int, int, int, int]  # batch, channels, height, width; 0 = any size


class _SpecNotUnderstood(Exception):
    """A VGSL spec this estimator cannot follow; kraken decides about it."""


_MAX_SPEC_DEPTH = 64

# The layer grammar of kraken 7.1.1 (kraken/lib/vgsl/model.py), in kraken's order of trial.
_VGSL_LAYERS: list[tuple[str, re.Pattern[str]]] = [
    ("addition", re.compile(r"(?P<type>A)(?P<name>{\w+})?(?P<dim>\d+),(?P<chunk_size>\d+)")),
    ("identity", re.compile(r"(?P<type>I)(?P<name>{\w+})?")),
    (
        "rnn",
        re.compile(
            r"(?P<type>L|G)(?P<dir>f|r|b)(?P<dim>x|y)(?P<sum>s)?(?P<legacy>c|o)?"
            r"(?P<name>{\w+})?(?P<out>\d+)"
        ),
    ),
    (
        "dropout",
        re.compile(r"(?P<type>Do)(?P<name>{\w+})?(?P<p>(\d+(\.\d*)?|\.\d+))?(,(?P<dim>\d+))?"),
    ),
    ("maxpool", re.compile(r"(?P<type>Mp)(?P<name>{\w+})?(\d+),(\d+)(?:,(\d+),(\d+))?")),
    (
        "conv",
        re.compile(
            r"(?P<type>C)(?P<trans>T)?(?P<nl>s|t|r|l|lr|m)(?P<name>{\w+})?(?P<ky>\d+),"
            r"(?P<kx>\d+),(?P<out>\d+)(,(?P<stride_y>\d+),(?P<stride_x>\d+))?"
            r"(,(?P<dilation_y>\d+),(?P<dilation_x>\d+))?"
        ),
    ),
    (
        "output",
        re.compile(r"(O)(?P<name>{\w+})?(?P<dim>2|1|0)(?P<type>l|s|c)(?P<aug>a)?(?P<out>\d+)"),
    ),
    (
        "reshape",
        re.compile(
            r"(?P<type>S)(?P<name>{\w+})?(?P<dim>\d+)\((?P<part_a>\d+)x"
            r"(?P<part_b>\d+)\)(?P<high>\d+),(?P<low>\d+)"
        ),
    ),
    (
        "wav2vec2",
        re.compile(
            r"(?P<type>W)(?P<name>{\w+})(?P<final_dim>\d+),(?P<mask_width>\d+),"
            r"(?P<mask_prob>(\d+(\.\d*)?|\.\d+)),(?P<num_negatives>\d+)"
        ),
    ),
    ("groupnorm", re.compile(r"(?P<type>Gn)(?P<name>{\w+})?(?P<groups>\d+)")),
]
_DIM_MAP = {0: 0, 1: 2, 2: 3, 3: 1}  # VGSL dimension -> NCHW axis


def vgsl_parameter_count(spec: str) -> int | None:
    """Weights a VGSL spec makes kraken allocate, following kraken 7's parser; None if unsure.

    Raises :class:`ModelError` if a reshape layer would make kraken build a huge tensor.
    """
    spec = spec.strip()
    if len(spec) < 2 or spec[0] != "[" or spec[-1] != "]":
        return None
    blocks = spec[1:-1].split(" ")
    match = re.match(r"(\d+),(\d+),(\d+),(\d+)", blocks[0])
    if not match:
        return None
    batch, height, width, channels = (int(x) for x in match.groups())
    try:
        _, parameters = _parse_blocks((batch, channels, height, width), blocks[1:], False, 0)
    except (_SpecNotUnderstood, ZeroDivisionError, KeyError, IndexError, ValueError):
        return None
    return parameters


def _parse_blocks(shape: Shape, blocks: list[str], parallel: bool, depth: int) -> tuple[Shape, int]:
    if depth > _MAX_SPEC_DEPTH:
        raise _SpecNotUnderstood("nested too deeply")
    parameters = 0
    output: Shape | None = None
    channels = 0
    index = 0
    while index < len(blocks):
        layer_shape, layer_parameters, used = _parse_layer(shape, blocks, index, depth)
        parameters += layer_parameters
        index += used
        if parallel:
            if output is not None and output[2:] != layer_shape[2:]:
                raise _SpecNotUnderstood("parallel outputs differ")
            output = layer_shape
            channels += layer_shape[1]
        else:
            shape = output = layer_shape
    if output is None:
        raise _SpecNotUnderstood("empty block")
    if parallel:
        return (output[0], channels, output[2], output[3]), parameters
    return output, parameters


def _parse_layer(shape: Shape, blocks: list[str], index: int, depth: int) -> tuple[Shape, int, int]:
    """Output shape, weights and number of blocks used by the layer starting at ``index``."""
    block = blocks[index]
    for kind, pattern in _VGSL_LAYERS:
        match = pattern.match(block)
        if match:
            out_shape, parameters = _LAYER_RULES[kind](shape, match)
            return out_shape, parameters, 1
    if block[:1] in ("[", "("):
        opening, closing = block[0], "]" if block[0] == "[" else ")"
        parallel = opening == "("
        if block[-1:] == closing:
            inner = [block[1:-1]]
            used = 1
        else:
            end = _block_end(blocks, index, opening, closing)
            inner = [blocks[index][1:], *blocks[index + 1 : end], blocks[end][:-1]]
            used = end - index + 1
        out_shape, parameters = _parse_blocks(shape, inner, parallel, depth + 1)
        return out_shape, parameters, used
    raise _SpecNotUnderstood(f"unknown layer {block!r}")


def _block_end(blocks: list[str], index: int, opening: str, closing: str) -> int:
    """Index of the block that closes the bracket opened at ``index``."""
    level = 0
    for end in range(index, len(blocks)):
        level += _nesting(blocks[end], opening, closing)
        if level == 0:
            return end
    raise _SpecNotUnderstood("unbalanced brackets")


def _nesting(block: str, opening: str, closing: str) -> int:
    """kraken's bracket count: openings at the start minus closings at the end of a block."""
    other_open, other_close = ("(", ")") if opening == "[" else ("[", "]")
    count = 0
    for char in block:
        if char == opening:
            count += 1
        elif char != other_open:
            break
    for char in reversed(block):
        if char == closing:
            count -= 1
        elif char != other_close:
            break
    return count


def _conv(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    kernel = (int(m.group("ky")), int(m.group("kx")))
    filters = int(m.group("out"))
    stride = (int(m.group("stride_y")), int(m.group("stride_x"))) if m.group("stride_x") else (1, 1)
    dilation = (
        (int(m.group("dilation_y")), int(m.group("dilation_x")))
        if m.group("dilation_x")
        else (1, 1)
    )
    padding = tuple((dilation[i] * (kernel[i] - 1)) // 2 for i in range(2))
    sizes = []
    for axis in range(2):
        size = shape[2 + axis]
        if size == 0:
            sizes.append(0)
        elif m.group("trans"):  # the smallest output kraken allows
            span = (size - 1) * stride[axis] - 2 * padding[axis]
            sizes.append(span + dilation[axis] * (kernel[axis] - 1) + 1)
        else:
            reach = size + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
            sizes.append(max(reach // stride[axis] + 1, 1))
    parameters = shape[1] * filters * kernel[0] * kernel[1] + filters
    return (shape[0], filters, sizes[0], sizes[1]), parameters


def _rnn(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    hidden = int(m.group("out"))
    legacy = m.group("legacy")
    inputs = shape[1] + (1 if legacy else 0)
    bidirectional = m.group("dir") == "b"
    if legacy == "o":  # ocropy's peephole LSTM: always both directions, no bias
        parameters = 2 * (4 * hidden * inputs + 4 * hidden * hidden + 3 * hidden)
    else:
        per_direction = 4 * hidden * inputs + 4 * hidden * hidden + (0 if legacy else 8 * hidden)
        parameters = (2 if bidirectional else 1) * per_direction
    out_channels = 2 * hidden if bidirectional else hidden
    if m.group("sum"):
        spatial = (1, shape[3]) if m.group("dim") == "y" else (shape[2], 1)
    else:
        spatial = (shape[2], shape[3])
    return (shape[0], out_channels, *spatial), parameters


def _maxpool(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    kernel = (int(m.group(3)), int(m.group(4)))
    stride = (int(m.group(5) or kernel[0]), int(m.group(6) or kernel[1]))
    sizes = [
        0 if s == 0 else (s - k) // st + 1
        for s, k, st in zip(shape[2:], kernel, stride, strict=True)
    ]
    return (shape[0], shape[1], sizes[0], sizes[1]), 0


def _output(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    dim, kind, outputs = int(m.group("dim")), m.group("type"), int(m.group("out"))
    if dim == 0 or (kind == "c" and dim == 2) or (kind in "ls" and outputs < 1):
        raise _SpecNotUnderstood("output kraken refuses")
    inputs = shape[1] + (1 if dim == 1 and m.group("aug") else 0)
    return (shape[0], outputs, shape[2], shape[3]), inputs * outputs + outputs


def _reshape(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    """Mirror kraken's Reshape.get_shape, which runs on a zero tensor of the input shape."""
    source, high, low = int(m.group("dim")), int(m.group("high")), int(m.group("low"))
    part_a, part_b = int(m.group("part_a")), int(m.group("part_b"))
    if source not in (high, low) or {source, high, low} - _DIM_MAP.keys():
        raise _SpecNotUnderstood("bad reshape")
    dummy = [s if s else 1 for s in shape]
    values = math.prod(dummy)
    if values > MAX_RESHAPE_VALUES:
        raise ModelError(
            f"the network description makes kraken build a tensor of {_count(values)} values "
            "while setting the model up; esctui refuses it. The file is damaged or not a real "
            "model."
        )
    source, high, low = _DIM_MAP[source], _DIM_MAP[high], _DIM_MAP[low]
    size = dummy[source]
    if part_a == 0:
        part_a = size // part_b if part_b and size % part_b == 0 else -1
    elif part_b == 0:
        part_b = size // part_a if size % part_a == 0 else -1
    if part_a < 1 or part_b < 1 or part_a * part_b != size:
        raise _SpecNotUnderstood("reshape does not fit")
    split = dummy[:source] + [part_a, part_b] + dummy[source + 1 :]
    destination = low
    if high != source:
        destination = high
    else:
        source += 1
    order = list(range(len(split)))
    step = 1 if destination > source else -1
    for x in range(source, destination, step):
        order[x], order[x + step] = order[x + step], order[x]
    moved = [split[i] for i in order]
    merged = (
        moved[:destination]
        + [moved[destination] * moved[destination + 1]]
        + moved[destination + 2 :]
    )
    return (merged[0], merged[1], merged[2], merged[3]), 0


def _addition(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    dim = int(m.group("dim"))
    if dim > 3:
        raise _SpecNotUnderstood("bad addition")
    out = list(shape)
    out[_DIM_MAP[dim]] = int(m.group("chunk_size"))
    return (out[0], out[1], out[2], out[3]), 0


def _groupnorm(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    return shape, 2 * shape[1]


def _wav2vec2(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    final = int(m.group("final_dim"))
    return shape, shape[1] + shape[1] * final + final


def _same(shape: Shape, m: re.Match[str]) -> tuple[Shape, int]:
    return shape, 0


_LAYER_RULES: dict[str, Callable[[Shape, re.Match[str]], tuple[Shape, int]]] = {
    "addition": _addition,
    "identity": _same,
    "rnn": _rnn,
    "dropout": _same,
    "maxpool": _maxpool,
    "conv": _conv,
    "output": _output,
    "reshape": _reshape,
    "wav2vec2": _wav2vec2,
    "groupnorm": _groupnorm,
}


# --------------------------------------------------------------------------- validation


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


def validate_model(
    path: str | os.PathLike[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    memory_limit_bytes: int = DEFAULT_MEMORY_LIMIT,
) -> ModelInfo:
    """Check the header, then load the file with kraken in a limited child process.

    Blocks for the child's lifetime (seconds): call it from a worker thread, never the UI loop.
    Raises :class:`ModelError` with the reason when the file is refused.
    """
    header = read_model_header(path)
    digest = file_sha256(header.path)
    result = _run_worker(header.path, timeout, memory_limit_bytes)
    if not result.get("ok"):
        raise ModelError(_failure_message(header, result, memory_limit_bytes))
    notes = [_without_path(str(n), header.path) for n in result.get("notes", [])]
    nets = [_net_info(raw, header.file_metadata) for raw in result.get("nets", [])]
    if not nets:
        detail = f" kraken said: {' '.join(notes)}" if notes else ""
        raise ModelError(
            f"{header.path.name}: kraken found no model it can use in this file.{detail}"
        )
    kraken_version = str(result.get("kraken_version", ""))
    if len(nets) == len(header.nets):
        nets = [
            _with_declared_version(n, h, kraken_version, notes)
            for n, h in zip(nets, header.nets, strict=True)
        ]
    return ModelInfo(
        header.path, header.format, header.byte_size, digest, nets, notes, kraken_version
    )


def _with_declared_version(
    net: NetInfo, header_net: HeaderNet, kraken_version: str, notes: list[str]
) -> NetInfo:
    """The higher of the file's declared minimum kraken version and the class's own.

    kraken 7.1.1 checks only its class's minimum and loads a file declaring a newer one.
    """
    declared = header_net.min_kraken_version
    if not declared or _version_key(declared) <= _version_key(net.min_kraken_version or ""):
        return net
    if kraken_version and _version_key(declared) > _version_key(kraken_version):
        notes.append(
            f"The file says its {net.kind} model needs kraken {declared} or newer; "
            f"kraken {kraken_version} loaded it anyway."
        )
    return dataclasses.replace(net, min_kraken_version=declared)


def _version_key(version: str) -> tuple[int, ...]:
    """'7.1.1' -> (7, 1, 1); enough to order kraken's release numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:4])


def suggested_name(info: ModelInfo, path: str | os.PathLike[str]) -> str:
    """The model's own name from its metadata, else the file name without its extension."""
    for net in info.nets:
        if net.training.name:
            return net.training.name
    return Path(path).stem


def file_sha256(path: Path) -> str:
    """SHA-256 of a file, read in 1 MB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def _run_worker(path: Path, timeout: float, memory_limit: int) -> dict[str, Any]:
    """Run the loader child; its last stdout line is a JSON result."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    # Fewer threads and malloc arenas: less address space reserved for nothing.
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MALLOC_ARENA_MAX="2")
    env["PYTHONIOENCODING"] = "utf-8"
    command = [
        sys.executable,
        "-P",  # do not put the current folder on sys.path
        "-m",
        WORKER_MODULE,
        str(path.resolve()),
        "--memory-limit",
        str(memory_limit),
    ]
    # stderr goes to a file: a chatty child must not fill the parent's memory.
    with tempfile.TemporaryFile() as stderr_file:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr_file,
            env=env,
            preexec_fn=_limits(memory_limit),
            start_new_session=True,
        )
        try:
            stdout, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.communicate()
            return {"ok": False, "kind": "timeout", "limit": timeout}
        except BaseException:
            _kill_group(process)
            process.communicate()
            raise
        lines = stdout.decode("utf-8", "replace").strip().splitlines()
        if lines:
            try:
                result = json.loads(lines[-1])
                if isinstance(result, dict):
                    return result
            except json.JSONDecodeError:
                pass
        stderr_file.seek(max(0, stderr_file.seek(0, os.SEEK_END) - 4000))
        stderr_tail = stderr_file.read().decode("utf-8", "replace")
    return {
        "ok": False,
        "kind": "crash",
        "returncode": process.returncode,
        "stderr": stderr_tail,
    }


def _limits(memory_limit: int) -> Callable[[], None]:
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()


def _failure_message(header: ModelHeader, result: dict[str, Any], memory_limit: int) -> str:
    name = header.path.name
    kind = result.get("kind")
    memory = _bytes_text(memory_limit)
    if kind == "memory" or (kind == "crash" and looks_out_of_memory(result.get("stderr", ""))):
        return f"{name}: the model needed more than {memory} of memory while loading — refused."
    if kind == "timeout":
        return (
            f"{name}: kraken took more than {result.get('limit', 0):g} s to load the model — "
            "refused."
        )
    if kind == "crash":
        code = result.get("returncode")
        how = f"was stopped by signal {-code}" if isinstance(code, int) and code < 0 else "failed"
        return (
            f"{name}: the process loading the model {how} without giving a reason; the file "
            "was refused."
        )
    return f"{name}: kraken cannot load this model. {_kraken_reason(header, result)}"


def _bytes_text(n: int) -> str:
    """'3 GB', '1.5 GB', '900 MB'."""
    if n >= 2**30:
        return f"{n / 2**30:.1f}".removesuffix(".0") + " GB"
    return f"{n / 2**20:.0f} MB"


def _kraken_reason(header: ModelHeader, result: dict[str, Any]) -> str:
    """kraken's own reason, for the loader that matches the file, in words a reader follows."""
    message = str(result.get("message", ""))
    reasons = result.get("loader_errors") or {}
    reason = reasons.get(header.format) if isinstance(reasons, dict) else None
    reason = _without_path(str(reason or message), header.path).strip()
    if result.get("error_type") == "RuntimeError" and "Missing key(s)" in reason:
        missing = _quoted_count(reason, "Missing key(s)")
        unexpected = _quoted_count(reason, "Unexpected key(s)")
        return (
            "The weights stored in the file do not match the network its metadata describes "
            f"({missing} missing, {unexpected} unexpected)."
        )
    hint = next((text for sign, text in _HINTS if sign in reason), "")
    reason = reason if reason.endswith(".") else reason + "."
    return f"kraken says: {reason}{' ' + hint if hint else ''}"


_HINTS = (
    (
        "Invalid `model_type`",
        "(The file does not say whether it is a segmentation or a recognition model; it was "
        "probably written by an old kraken version.)",
    ),
)


def _quoted_count(text: str, label: str) -> int:
    match = re.search(re.escape(label) + r": \[(.*?)\]", text, re.S)
    return len(re.findall(r"'[^']*'", match.group(1))) if match else 0


def _without_path(text: str, path: Path) -> str:
    """kraken quotes full paths; a file name is enough for the reader."""
    for form in {str(path), str(path.resolve()), path.as_posix()}:
        text = text.replace(form, path.name)
    return text


def _net_info(raw: dict[str, Any], file_metadata: dict[str, str]) -> NetInfo:
    tasks = [str(t) for t in raw.get("tasks") or []]
    metadata = raw.get("metadata") or {}
    recognition = "recognition" in tasks
    graphemes = raw.get("graphemes")
    return NetInfo(
        kind=_kind(tasks),
        tasks=tasks,
        model_class=str(raw.get("model_class", "")),
        seg_type=_optional_str(raw.get("seg_type")),
        one_channel_mode=_optional_str(raw.get("one_channel_mode")),
        legacy_polygons=bool(raw.get("legacy_polygons")) if recognition else None,
        min_kraken_version=_optional_str(raw.get("min_kraken_version")),
        vgsl=_optional_str(raw.get("vgsl")),
        classes=_classes(raw.get("class_mapping"), raw.get("level")),
        alphabet="".join(sorted(graphemes)) if isinstance(graphemes, list) else None,
        parameters=int(raw.get("parameters") or 0),
        training=_training(metadata, file_metadata),
    )


_TASK_KINDS = {
    "segmentation": ModelKind.SEGMENTATION,
    "recognition": ModelKind.RECOGNITION,
    "reading_order": ModelKind.READING_ORDER,
}


def _kind(tasks: list[str]) -> str:
    return next((_TASK_KINDS[t].value for t in tasks if t in _TASK_KINDS), ModelKind.UNKNOWN.value)


def _classes(mapping: Any, level: Any) -> dict[str, list[str]]:
    """Class names by level, in kraken's index order; kraken's internal 'aux' classes left out."""
    if not isinstance(mapping, dict):
        return {}
    if isinstance(level, str):  # a reading-order net holds the mapping of one level
        mapping = {level: mapping}
    classes = {}
    for section, names in mapping.items():
        if section == "aux" or not isinstance(names, dict):
            continue
        classes[str(section)] = [str(n) for n, _ in sorted(names.items(), key=_index_order)]
    return classes


def _index_order(item: tuple[Any, Any]) -> tuple[int, str]:
    return (item[1] if isinstance(item[1], int) else 0, str(item[0]))


def _training(metadata: dict[str, Any], file_metadata: dict[str, str]) -> TrainingInfo:
    hyper_params = metadata.get("hyper_params")
    hyper_params = hyper_params if isinstance(hyper_params, dict) else {}
    epochs = hyper_params.get("completed_epochs")
    description = _first_text(metadata, "description", "summary")
    file_description = file_metadata.get("short_description")
    if not description and file_description and file_description != "kraken model":
        description = file_description
    return TrainingInfo(
        accuracy=_last_accuracy(metadata),
        epochs=epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None,
        hyper_params=hyper_params,
        license=_first_text(metadata, "license") or file_metadata.get("license"),
        authors=_names(metadata, "authors", "author", "creators")
        or _names(file_metadata, "author"),
        description=description,
        scripts=_names(metadata, "scripts", "script"),
        languages=_names(metadata, "languages", "language"),
        name=_first_text(metadata, "name", "model_name", "title"),
    )


def _last_accuracy(metadata: dict[str, Any]) -> float | None:
    """kraken records [step, value] or [epoch, {"val_accuracy": ...}] pairs; take the last."""
    for key in ("metrics", "accuracy"):
        history = metadata.get(key)
        if not isinstance(history, list) or not history:
            continue
        last = history[-1]
        value = last[-1] if isinstance(last, list) and last else last
        if isinstance(value, dict):
            value = value.get("val_accuracy")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def _first_text(metadata: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = metadata.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _names(metadata: dict[str, Any], *keys: str) -> list[str]:
    """A list of names from a string, a list of strings or a list of {"name": ...} objects."""
    for key in keys:
        value = metadata.get(key)
        items = [value] if isinstance(value, str | dict) else value
        if not isinstance(items, list):
            continue
        names = []
        for item in items:
            if isinstance(item, dict):
                item = item.get("name")
            if isinstance(item, str) and item.strip():
                names.append(item.strip())
        if names:
            return names
    return []
