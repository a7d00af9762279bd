"""How many weights kraken will allocate for a network, estimated from its description.

``vgsl_parameter_count`` follows kraken 7's VGSL spec parser (``kraken/lib/vgsl``) layer by
layer; ``estimate_parameters`` covers the other model classes kraken 7.1.1 knows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from esctui.formats.kraken_model.records import MAX_RESHAPE_VALUES, ModelError, count_in_words

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
            "the network description makes kraken build a tensor of "
            f"{count_in_words(values)} values while setting the model up; esctui refuses it. "
            "The file is damaged or not a real model."
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
