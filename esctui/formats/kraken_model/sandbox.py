"""Validate a model file: load it with kraken in a separate, limited Python process.

``validate_model`` checks the header first (``read_model_header``), then runs
``python -m esctui.formats.kraken_model.worker`` with a memory and a time limit, and turns the
child's one-line JSON answer into a ``ModelInfo``, or its failure into a plain sentence.
Neither step calls ``torch.load``: kraken 7 loads CoreML and safetensors without pickle.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from esctui.domain import ModelKind
from esctui.formats.kraken_model.header import read_model_header
from esctui.formats.kraken_model.records import (
    HeaderNet,
    ModelError,
    ModelHeader,
    ModelInfo,
    NetInfo,
    TrainingInfo,
    optional_str,
)
from esctui.formats.kraken_model.worker import looks_out_of_memory

DEFAULT_TIMEOUT = 120.0
DEFAULT_MEMORY_LIMIT = 3 * 2**30
WORKER_MODULE = "esctui.formats.kraken_model.worker"


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
    package_root = str(Path(__file__).resolve().parents[3])  # the folder holding esctui
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
        seg_type=optional_str(raw.get("seg_type")),
        one_channel_mode=optional_str(raw.get("one_channel_mode")),
        legacy_polygons=bool(raw.get("legacy_polygons")) if recognition else None,
        min_kraken_version=optional_str(raw.get("min_kraken_version")),
        vgsl=optional_str(raw.get("vgsl")),
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
