"""Let torchvision import beside a CPU-only torch whose ABI its C++ extension does not match.

torchvision 0.28.0 on PyPI is a CUDA build. Beside the CPU build of torch 2.13.0 its C++
extension (``torchvision/_C.so``) fails to load, which torchvision tolerates, but its Python
code then registers fake kernels for ``torchvision::nms`` and ``torchvision::qnms`` and
``import torchvision`` dies with "operator torchvision::nms does not exist".

:func:`install` defines those two operator *schemas* (no kernels) before torchvision is
imported. kraken never calls them; calling one would raise "no kernel registered" instead of
running. Nothing is done when torchvision is already imported, is not installed, or its
extension loads and defines the ops itself.

Call ``install()`` before the first import of kraken (which imports torchvision).
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import sys
import threading
from typing import Any

#: The schemas torchvision's Python code expects its C++ extension to have defined.
OP_SCHEMAS: dict[str, str] = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}

_lock = threading.Lock()
# The Library object must stay alive: torch removes its definitions when it is collected.
_library: Any = None


def install() -> bool:
    """Define the missing torchvision op schemas if needed; True if this call defined any."""
    global _library
    with _lock:
        if _library is not None or "torchvision" in sys.modules:
            return False
        spec = importlib.util.find_spec("torchvision")
        if spec is None or not spec.submodule_search_locations:
            return False
        import torch

        if _ops_defined(torch):
            return False
        _try_loading_extension(torch, spec.submodule_search_locations[0])
        missing = [name for name in OP_SCHEMAS if not hasattr(torch.ops.torchvision, name)]
        if not missing:
            return False
        library = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            library.define(OP_SCHEMAS[name])
        _library = library
        return True


def _ops_defined(torch: Any) -> bool:
    return all(hasattr(torch.ops.torchvision, name) for name in OP_SCHEMAS)


def _try_loading_extension(torch: Any, package_dir: str) -> None:
    """Load torchvision's own extension as torchvision would; a healthy one defines the ops.

    Defining the schemas first would make a working extension fail ("registered twice").
    """
    finder = importlib.machinery.FileFinder(
        package_dir,
        (importlib.machinery.ExtensionFileLoader, importlib.machinery.EXTENSION_SUFFIXES),
    )
    extension = finder.find_spec("_C")
    if extension is None or extension.origin is None:
        return
    # Failing is the case this shim exists for; torchvision tolerates it too.
    with contextlib.suppress(ImportError, OSError):
        torch.ops.load_library(extension.origin)
