"""The child process of ``validate_model`` (``sandbox``): load one model file with kraken.

Usage: ``python -m esctui.formats.kraken_model.worker PATH [--memory-limit BYTES]``

It limits its own address space first (the parent also does, before exec), installs the
torchvision shim, loads the file with ``kraken.models.load_models`` and writes one JSON line to
stdout: ``{"ok": true, "nets": [...], "notes": [...]}`` or ``{"ok": false, "kind": ...,
"message": ...}``. Anything kraken or coremltools print goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import re
import sys
from typing import Any

_MEMORY_SIGNS = (
    "memoryerror",
    "can't allocate memory",
    "cannot allocate memory",
    "bad_alloc",
    "out of memory",
    "failed to map segment",
)


def looks_out_of_memory(text: str) -> bool:
    """Whether an error text (or a crashed child's stderr) says memory ran out."""
    text = text.lower()
    return any(sign in text for sign in _MEMORY_SIGNS)


class _WarningCollector(logging.Handler):
    """Keeps kraken's warnings (e.g. a net skipped because it needs a newer kraken)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main(argv: list[str] | None = None) -> int:
    """Load the model, print the JSON result; exit code 0 whenever a result was printed."""
    parser = argparse.ArgumentParser(prog="esctui.formats.kraken_model.worker")
    parser.add_argument("path")
    parser.add_argument("--memory-limit", type=int, default=0)
    args = parser.parse_args(argv)
    if args.memory_limit > 0:
        limit_address_space(args.memory_limit)
    result_stream = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints must not mix with JSON
    collector = _WarningCollector()
    logging.getLogger("kraken").addHandler(collector)
    try:
        nets = _load(args.path)
        result: dict[str, Any] = {"ok": True, "nets": nets, "notes": collector.messages}
        result["kraken_version"] = importlib.metadata.version("kraken")
    except BaseException as error:  # every failure becomes a plain result
        result = failure_result(error, args.memory_limit)
        result["notes"] = collector.messages
    result_stream.write(json.dumps(result, default=str, ensure_ascii=False) + "\n")
    result_stream.flush()
    return 0


def limit_address_space(limit: int) -> None:
    """Lower this process's RLIMIT_AS to ``limit`` bytes (never raise it above the hard one);
    no core file either. The one limit of esctui's children: this one and the engine's."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    if soft == resource.RLIM_INFINITY or soft > limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash must not write a core file


def _load(path: str) -> list[dict[str, Any]]:
    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    from kraken.models import load_models

    return [_describe(net) for net in load_models(path)]


def _describe(net: Any) -> dict[str, Any]:
    """The facts esctui keeps about one loaded kraken net, JSON-ready."""
    metadata = dict(getattr(net, "user_metadata", None) or {})
    codec = getattr(net, "codec", None)
    c2l = getattr(codec, "c2l", None)
    class_mapping = getattr(net, "class_mapping", None)  # reading-order nets
    if class_mapping is None:
        class_mapping = metadata.get("class_mapping")
    for key in ("codec", "class_mapping", "_full_class_mapping", "vgsl"):
        metadata.pop(key, None)
    return {
        "model_class": type(net).__name__,
        "tasks": list(net.model_type or []),
        "seg_type": net.seg_type,
        "one_channel_mode": net.one_channel_mode,
        "legacy_polygons": net.use_legacy_polygons,
        "min_kraken_version": str(net._kraken_min_version),
        "vgsl": (net.user_metadata or {}).get("vgsl") or getattr(net, "spec", None),
        "class_mapping": class_mapping,
        "level": getattr(net, "level", None),
        "graphemes": sorted(c2l) if isinstance(c2l, dict) else None,
        "parameters": sum(p.numel() for p in net.parameters()) if hasattr(net, "parameters") else 0,
        "metadata": json.loads(json.dumps(metadata, default=str)),
    }


def failure_result(error: BaseException, memory_limit: int) -> dict[str, Any]:
    chain = _exception_chain(error)
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain).lower()
    if (
        any(isinstance(e, MemoryError) for e in chain)
        or looks_out_of_memory(text)
        or _near_memory_limit(memory_limit)
    ):
        return {"ok": False, "kind": "memory", "message": str(error)}
    message = str(error)
    return {
        "ok": False,
        "kind": "kraken",
        "error_type": type(error).__name__,
        "message": message,
        "loader_errors": loader_errors(message),
    }


def _near_memory_limit(memory_limit: int) -> bool:
    """True if the process came within a hair of its address-space limit.

    A refused allocation surfaces as many errors (e.g. coremltools' "Couldn't parse file
    content!"); the peak size tells them apart from a genuinely broken file.
    """
    if memory_limit <= 0:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    peak = int(line.split()[1]) * 1024
                    return peak >= memory_limit - max(32 * 2**20, memory_limit // 50)
    except (OSError, ValueError):
        pass
    return False


def _exception_chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def loader_errors(message: str) -> dict[str, str]:
    """Split load_models' "No loader found ... Tried:" message into one reason per loader."""
    if "Tried:" not in message:
        return {}
    tried = message.split("Tried:", 1)[1]
    parts = re.split(r"\n  (\w+): ", "\n" + tried.lstrip("\n"))
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


if __name__ == "__main__":
    sys.exit(main())
