"""kraken model files: read their header without torch, validate them in a limited process.

Laid out as kraken itself splits the subject (``kraken/models``, ``kraken/lib/vgsl``):

- ``records``: what a file says about itself and what kraken found (ModelHeader, ModelInfo, ...);
- ``header``: ``read_model_header`` (standard library only), with ``safetensors`` and ``coreml``
  reading the two file formats and ``vgsl`` estimating each network's size from its spec;
- ``sandbox``: ``validate_model``, which loads the file with kraken in ``worker``, a child
  process with a memory and a time limit.

Uploaded files are never unpickled, and nothing here calls ``torch.load``.
"""

from esctui.formats.kraken_model.header import PICKLE_MESSAGE, PICKLE_SUFFIXES, read_model_header
from esctui.formats.kraken_model.records import (
    MAX_HEADER_BYTES,
    MAX_PARAMETERS,
    MAX_RESHAPE_VALUES,
    UNSTORED_WEIGHTS_SLACK,
    HeaderNet,
    ModelError,
    ModelFormat,
    ModelHeader,
    ModelInfo,
    NetInfo,
    TrainingInfo,
)
from esctui.formats.kraken_model.sandbox import (
    DEFAULT_MEMORY_LIMIT,
    DEFAULT_TIMEOUT,
    WORKER_MODULE,
    file_sha256,
    suggested_name,
    validate_model,
)
from esctui.formats.kraken_model.vgsl import estimate_parameters, vgsl_parameter_count

__all__ = [
    "DEFAULT_MEMORY_LIMIT",
    "DEFAULT_TIMEOUT",
    "MAX_HEADER_BYTES",
    "MAX_PARAMETERS",
    "MAX_RESHAPE_VALUES",
    "PICKLE_MESSAGE",
    "PICKLE_SUFFIXES",
    "UNSTORED_WEIGHTS_SLACK",
    "WORKER_MODULE",
    "HeaderNet",
    "ModelError",
    "ModelFormat",
    "ModelHeader",
    "ModelInfo",
    "NetInfo",
    "TrainingInfo",
    "estimate_parameters",
    "file_sha256",
    "read_model_header",
    "suggested_name",
    "validate_model",
    "vgsl_parameter_count",
]
