"""A kraken worker process: serves segment / recognize / masks requests until told to stop.

Usage (the engine starts it; see :mod:`esctui.engine.pool`)::

    python -P -m esctui.engine.worker --memory-limit BYTES --threads N --max-pixels N
        --parent-pid PID

Before anything else it keeps its stdout for the protocol (:mod:`esctui.engine.protocol`) and
points file descriptor 1 at stderr, so whatever kraken, torch or lightning print lands in the
engine's bounded log, never in a reply; stdin (the requests) is kept the same way and fd 0
becomes /dev/null. It then limits its address space, asks to die with its parent, installs the
torchvision shim, imports kraken once and says it is ready. Loaded models stay cached (by path,
modification time and size, the last :data:`MODEL_CACHE_SIZE`), so one process serves page
after page.

Progress: recognition and masks report every line; segmentation reports its stages (the
network on the whole page, regions, baselines) and then each line as kraken draws its mask,
which is most of the time after the network. For that, kraken's segmentation module is given
counting wrappers around its own functions while a page is segmented.

Each request ends in one result or one error message. Errors kraken can explain (a missing or
wrong model, a bad image, unsuitable lines) are sentences written here; anything else is
reported with kraken's words. After running out of memory the worker answers and exits: its
state is no longer trusted and the engine starts a fresh one.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import statistics
import sys
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from esctui.engine import data, limits, masks
from esctui.engine.protocol import (
    KIND_IMAGE,
    KIND_KRAKEN,
    KIND_LINES,
    KIND_MEMORY,
    KIND_MODEL,
    KIND_REQUEST,
    FrameError,
    read_frame,
    write_frame,
)
from esctui.formats.kraken_model.worker import limit_address_space

MODEL_CACHE_SIZE = 4
#: Threads (torch's, OpenMP's, BLAS's) for recognition: a text line is a small input, and
#: extra threads mostly spin while the line is cut out (overfit_bl on 3 corpus pages, one worker
#: of 2 threads on two busy cores: 67.9 s and 27.6 processor s; limited to 1 during
#: recognition: 21.4 s and 9.3 s). Segmentation (a whole page through the network) keeps the
#: worker's threads.
RECOGNITION_THREADS = 1
#: A folder where each worker writes its cProfile statistics (unset: no profiling).
PROFILE_ENV = "ESCTUI_WORKER_PROFILE"
MAX_NOTES = 20

Report = Callable[..., None]

_VERBS = {"segment": "segmenting", "recognize": "recognizing", "masks": "computing the masks of"}
_MODEL_KINDS = {
    "segmentation": "a segmentation model",
    "recognition": "a recognition model",
    "reading_order": "a reading-order model",
}


class Refusal(Exception):
    """A request kraken cannot serve, with the sentence that says why."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def main(argv: list[str] | None = None) -> int:
    """Serve requests until ``stop`` or the end of stdin; the exit status says why it ended."""
    parser = argparse.ArgumentParser(prog="esctui.engine.worker")
    parser.add_argument("--memory-limit", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-pixels", type=int, default=250_000_000)
    parser.add_argument("--parent-pid", type=int, default=0)
    args = parser.parse_args(argv)

    replies = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints must not reach replies
    requests = os.fdopen(os.dup(sys.stdin.fileno()), "rb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, sys.stdin.fileno())
    os.close(null)
    if args.parent_pid:
        limits.die_with_parent(args.parent_pid)
    if args.memory_limit > 0:
        limit_address_space(args.memory_limit)

    try:
        version = _import_kraken(args.threads)
    except Exception as error:  # noqa: BLE001 - reported to the parent as a plain message
        kind = KIND_MEMORY if _is_memory(error) else KIND_KRAKEN
        write_frame(replies, {"type": "failed", "kind": kind, "message": _short(error)})
        return 1
    write_frame(replies, {"type": "ready", "pid": os.getpid(), "kraken_version": version})
    server = Server(replies, args.max_pixels)
    with _profiled(os.environ.get(PROFILE_ENV)):
        return server.serve(requests)


@contextlib.contextmanager
def _profiled(folder: str | None) -> Iterator[None]:
    """With ``ESCTUI_WORKER_PROFILE=FOLDER`` (for benchmarks; off by default), the requests run
    under cProfile and the worker writes FOLDER/worker-PID.prof when it stops."""
    if not folder:
        yield
        return
    import cProfile

    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(os.path.join(folder, f"worker-{os.getpid()}.prof"))


def _import_kraken(threads: int) -> str:
    """Import kraken and torch once (seconds); the kraken version."""
    import importlib.metadata

    from esctui.compat import torchvision_shim

    torchvision_shim.install()
    import torch

    torch.set_num_threads(max(1, threads))
    import kraken.configs  # noqa: F401
    import kraken.containers  # noqa: F401
    import kraken.lib.segmentation  # noqa: F401
    import kraken.lib.vgsl.spred  # noqa: F401
    import kraken.models  # noqa: F401
    import kraken.tasks  # noqa: F401

    return importlib.metadata.version("kraken")


class NoteCollector(logging.Handler):
    """kraken's warnings during one request, each once with its count."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message in self.counts or len(self.counts) < MAX_NOTES:
            self.counts[message] = self.counts.get(message, 0) + 1

    def add_warnings(self, caught: list[warnings.WarningMessage]) -> None:
        """kraken's Python warnings become notes too; other libraries' go to the log."""
        for warning in caught:
            if f"{os.sep}kraken{os.sep}" in warning.filename:
                self.emit(logging.makeLogRecord({"msg": str(warning.message), "levelno": 30}))
            else:
                message = warnings.formatwarning(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
                sys.stderr.write(message)

    def take(self) -> list[str]:
        notes = [m if n == 1 else f"{m} ({n} times)" for m, n in self.counts.items()]
        self.counts = {}
        return notes


class Server:
    """The request loop and its handlers; models are cached between requests."""

    def __init__(self, replies: BinaryIO, max_pixels: int) -> None:
        self.replies = replies
        self.max_pixels = max_pixels
        self.models: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()
        self.notes = NoteCollector()
        logging.getLogger("kraken").addHandler(self.notes)

    def serve(self, requests: BinaryIO) -> int:
        """0: told to stop or stdin ended; 2: an unreadable request; 3: out of memory; 4: the
        parent stopped reading."""
        while True:
            try:
                request = read_frame(requests)
            except FrameError:
                return 2
            if request is None or request.get("op") == "stop":
                return 0
            try:
                if not self.handle(request):
                    return 3
            except OSError:  # replies cannot be written: the parent is gone
                return 4

    def handle(self, request: dict[str, Any]) -> bool:
        """Answer one request; False when the worker should end (memory ran out)."""
        request_id = request.get("id")
        op = str(request.get("op"))
        page = str(request.get("page") or "?")

        def report(stage: str, done: int = 0, total: int = 0) -> None:
            message = {"type": "progress", "id": request_id, "stage": stage}
            write_frame(self.replies, {**message, "done": done, "total": total})

        handlers = {"segment": self.segment, "recognize": self.recognize, "masks": self.masks}
        started = time.perf_counter()
        cpu_started = time.process_time()
        self.notes.take()
        try:
            handler = handlers.get(op)
            if handler is None:
                raise Refusal(KIND_REQUEST, f"The kraken worker does not know the task {op!r}.")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = handler(request, page, report)
            self.notes.add_warnings(caught)
        except Refusal as refusal:
            self._send_error(request_id, refusal.kind, refusal.message)
            return True
        except Exception as error:  # noqa: BLE001 - every failure becomes a message
            if _is_memory(error):
                self._send_error(request_id, KIND_MEMORY, _short(error))
                return False
            if isinstance(error, KeyError | TypeError | ValueError) and _from_here(error):
                message = f"The kraken worker got a request it cannot read ({_short(error)})."
                self._send_error(request_id, KIND_REQUEST, message)
                return True
            verb = _VERBS.get(op, op)
            message = f"kraken failed while {verb} page {page}: {_short(error)}"
            self._send_error(request_id, KIND_KRAKEN, _sentence(message))
            return True
        result["notes"] = self.notes.take()
        info = {
            "pid": os.getpid(),
            "seconds": time.perf_counter() - started,
            "cpu_seconds": time.process_time() - cpu_started,
            "peak_memory": limits.peak_memory(),
        }
        write_frame(
            self.replies, {"type": "result", "id": request_id, "result": result, "info": info}
        )
        return True

    def _send_error(self, request_id: Any, kind: str, message: str) -> None:
        self.notes.take()
        write_frame(
            self.replies, {"type": "error", "id": request_id, "kind": kind, "message": message}
        )

    # ------------------------------------------------------------------------------ tasks

    def segment(self, request: dict[str, Any], page: str, report: Report) -> dict[str, Any]:
        from kraken.configs import SegmentationInferenceConfig

        content = request.get("content", "both")
        image = self.open_image(request["image"], page)
        task = self.task(request.get("model"), "segmentation", report)
        config = SegmentationInferenceConfig(text_direction=request["text_direction"])
        report(data.STAGE_NETWORK)
        with _segmentation_progress(report, find_lines=content != "regions"):
            segmentation = task.predict(im=image, config=config)
        return segmentation_result(segmentation, content)

    def recognize(self, request: dict[str, Any], page: str, report: Report) -> dict[str, Any]:
        from kraken.configs import RecognitionInferenceConfig

        lines = request["lines"]
        image = self.open_image(request["image"], page)
        model_path = request["model"]
        task = self.task(model_path, "recognition", report)
        kind = "baselines" if lines and lines[0].get("baseline") is not None else "bbox"
        trained_on = task.seg_type
        if lines and trained_on in ("baselines", "bbox") and trained_on != kind:
            raise Refusal(KIND_LINES, _seg_type_mismatch(os.path.basename(model_path), page, kind))
        if not lines:
            return {"lines": []}
        segmentation = _recognition_input(lines, kind, request["text_direction"], image)
        # Line images are cut out in this process: a pool of helpers would compete with the
        # other workers for the same cores.
        config = RecognitionInferenceConfig(num_line_workers=0)
        report(data.STAGE_RECOGNIZING, 0, len(lines))
        results = []
        with _torch_threads(RECOGNITION_THREADS):
            for done, record in enumerate(
                task.predict(im=image, segmentation=segmentation, config=config), 1
            ):
                confidences = [float(c) for c in record.confidences]
                confidence = statistics.fmean(confidences) if confidences else None
                results.append({"text": record.prediction, "confidence": confidence})
                report(data.STAGE_RECOGNIZING, done, len(lines))
        if len(results) != len(lines):
            raise RuntimeError(f"kraken returned {len(results)} lines for {len(lines)}")
        return {"lines": results}

    def masks(self, request: dict[str, Any], page: str, report: Report) -> dict[str, Any]:
        baselines = request["baselines"]
        indices = request.get("indices")
        if indices is None:
            indices = list(range(len(baselines)))
        image = self.open_image(request["image"], page)
        total = len(indices)
        report(data.STAGE_MASKS, 0, total)
        polygons = masks.polygonize(
            image,
            baselines,
            request.get("boundaries") or [],
            request.get("topline", False),
            indices,
            on_line=lambda done: report(data.STAGE_MASKS, done, total),
        )
        return {"polygons": polygons}

    # ------------------------------------------------------------------------------ inputs

    def open_image(self, path: str, page: str) -> Any:
        """The page image, upright (kraken's own loader); Refusal with a sentence if it fails."""
        from kraken.lib.util import open_image
        from PIL import Image, UnidentifiedImageError

        name = os.path.basename(path)
        if not os.path.isfile(path):
            raise Refusal(KIND_IMAGE, f"The image of page {page} is missing ({name}).")
        Image.MAX_IMAGE_PIXELS = None  # checked below, against the engine's own limit
        try:
            with Image.open(path) as probe:
                width, height = probe.size
        except UnidentifiedImageError:
            raise Refusal(
                KIND_IMAGE,
                f"The image of page {page} ({name}) cannot be read: it is not an image, or it "
                "is damaged.",
            ) from None
        except OSError as error:
            raise Refusal(
                KIND_IMAGE, f"The image of page {page} ({name}) cannot be read: {_short(error)}."
            ) from None
        if width * height > self.max_pixels:
            raise Refusal(
                KIND_IMAGE,
                f"The image of page {page} ({name}) has {width * height / 1e6:.0f} megapixels, "
                f"more than the {self.max_pixels / 1e6:.0f} kraken may open.",
            )
        try:
            image = open_image(path)
            image.load()
        except MemoryError:
            raise
        except (OSError, SyntaxError, ValueError) as error:
            raise Refusal(
                KIND_IMAGE,
                f"The image of page {page} ({name}) is damaged and cannot be decoded "
                f"({_short(error)}).",
            ) from None
        return image

    def task(self, path: str | None, kind: str, report: Report) -> Any:
        """kraken's task model of ``kind`` ("segmentation" or "recognition") from the file."""
        entry = self._load(path, report)
        if kind not in entry["tasks"]:
            entry["tasks"][kind] = _task_model(entry, kind)
        return entry["tasks"][kind]

    def _load(self, path: str | None, report: Report) -> dict[str, Any]:
        from kraken.models import load_models

        if path is None:
            import kraken

            path = os.path.join(os.path.dirname(kraken.__file__), "blla.mlmodel")
        name = os.path.basename(path)
        try:
            info = os.stat(path)
        except FileNotFoundError:
            raise Refusal(
                KIND_MODEL,
                f"The model file {name} is no longer on disk (it was removed or moved).",
            ) from None
        except OSError as error:
            message = f"The model file {name} cannot be read: {_short(error)}."
            raise Refusal(KIND_MODEL, message) from None
        key = (os.path.realpath(path), info.st_mtime_ns, info.st_size)
        if key in self.models:
            self.models.move_to_end(key)
            return self.models[key]
        report(data.STAGE_MODEL)
        try:
            nets = load_models(path)
        except Exception as error:
            if _is_memory(error):
                raise
            reason = _short(error).replace(str(path), name)
            message = _sentence(f"kraken cannot load the model {name}: {reason}")
            raise Refusal(KIND_MODEL, message) from None
        kinds = [task for net in nets for task in (net.model_type or [])]
        entry: dict[str, Any] = {"name": name, "nets": nets, "kinds": kinds, "tasks": {}}
        self.models[key] = entry
        while len(self.models) > MODEL_CACHE_SIZE:
            self.models.popitem(last=False)
        return entry


def _task_model(entry: dict[str, Any], kind: str) -> Any:
    """kraken's SegmentationTaskModel / RecognitionTaskModel, or a Refusal saying what it is."""
    from kraken.tasks import RecognitionTaskModel, SegmentationTaskModel

    name = entry["name"]
    if kind not in entry["kinds"]:
        found = [_MODEL_KINDS.get(k, f"a {k} model") for k in dict.fromkeys(entry["kinds"])]
        what = " and ".join(found) if found else "no model kraken can use"
        if kind == "segmentation":
            need = "it cannot find the lines of a page. Choose a segmentation model."
        else:
            need = "it cannot read the text of lines. Choose a recognition model."
        raise Refusal(KIND_MODEL, f"{name} is {what}: {need}")
    if kind == "segmentation":
        return SegmentationTaskModel(entry["nets"])
    return RecognitionTaskModel(entry["nets"])


def _seg_type_mismatch(model: str, page: str, kind: str) -> str:
    if kind == "bbox":
        return (
            f"{model} was trained on lines with baselines, but the lines of page {page} have only "
            "boxes. Segment the page with baselines first, or choose a model trained on boxes."
        )
    return (
        f"{model} was trained on box lines (bbox), but the lines of page {page} have baselines. "
        "Choose a model trained on baselines."
    )


def _recognition_input(lines: list[dict[str, Any]], kind: str, direction: str, image: Any) -> Any:
    """kraken's Segmentation of the given lines (ids line0, line1, ... in their order)."""
    from kraken.containers import BaselineLine, BBoxLine, Segmentation

    if kind == "baselines":
        records: list[Any] = [
            BaselineLine(id=f"line{i}", baseline=ln["baseline"], boundary=ln["boundary"])
            for i, ln in enumerate(lines)
        ]
    else:
        records = [
            BBoxLine(id=f"line{i}", bbox=tuple(ln["bbox"]), text_direction=direction)
            for i, ln in enumerate(lines)
        ]
    return Segmentation(
        type=kind,
        imagename=getattr(image, "filename", "") or "",
        text_direction=direction,
        script_detection=False,
        lines=records,
    )


@contextlib.contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op threads and the OpenMP / BLAS pools (numpy's, used to cut the lines out)
    limited to ``count`` while the block runs (then set back)."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(min(count, before))
    try:
        with threadpool_limits(limits=count):
            yield
    finally:
        torch.set_num_threads(before)


# --------------------------------------------------------------------------- segmentation


@contextlib.contextmanager
def _segmentation_progress(report: Report, *, find_lines: bool) -> Iterator[None]:
    """Report the stages of kraken's baseline segmenter and each line's polygon.

    kraken 7.1.1's segmenter (``kraken.lib.vgsl.spred``) vectorizes regions, then baselines,
    then calls ``calculate_polygonal_environment`` once per baseline. Wrappers around these
    module functions count the calls and pass everything through unchanged. Without
    ``find_lines`` the baselines are not looked for (regions only: no line work at all). If a
    kraken version lacks these functions, only the stage before the network is reported.
    """
    import kraken.lib.vgsl.spred as spred

    names = ("vectorize_regions", "vectorize_lines", "calculate_polygonal_environment")
    originals = {name: getattr(spred, name, None) for name in names}
    if any(function is None for function in originals.values()):
        yield
        return
    counts = {"regions": 0, "baselines": 0, "polygons": 0}

    def regions(*args: Any, **kwargs: Any) -> Any:
        if not counts["regions"]:
            report(data.STAGE_REGIONS)
        counts["regions"] += 1
        return originals["vectorize_regions"](*args, **kwargs)  # type: ignore[misc]

    def baselines(*args: Any, **kwargs: Any) -> Any:
        if not counts["baselines"]:
            report(data.STAGE_BASELINES)
        if not find_lines:
            return []
        found = originals["vectorize_lines"](*args, **kwargs)  # type: ignore[misc]
        counts["baselines"] += len(found) or 0
        return found

    def polygon(*args: Any, **kwargs: Any) -> Any:
        result = originals["calculate_polygonal_environment"](*args, **kwargs)  # type: ignore[misc]
        counts["polygons"] += 1
        report(
            data.STAGE_POLYGONS, counts["polygons"], max(counts["baselines"], counts["polygons"])
        )
        return result

    spred.vectorize_regions = regions
    spred.vectorize_lines = baselines
    spred.calculate_polygonal_environment = polygon
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(spred, name, function)


def segmentation_result(segmentation: Any, content: str) -> dict[str, Any]:
    """kraken's Segmentation as the engine's wire form (see ``data.PageSegmentation``).

    Lines follow kraken's reading order: the last neural order when the model has a
    reading-order net, else the order of ``segmentation.lines`` (kraken's polygonal order).
    """
    regions: dict[str, tuple[list[tuple[float, float]], str]] = {}
    for region_type, items in (segmentation.regions or {}).items():
        for region in items:
            outline = masks.mask_from_kraken(region.boundary)
            if outline is not None:
                regions[region.id] = (outline, _type(region.tags, region_type))
    lines = list(segmentation.lines or [])
    if segmentation.line_orders:
        lines = [lines[i] for i in segmentation.line_orders[-1]]
    ordered = []
    for line in lines:
        first = next((r for r in (line.regions or []) if r in regions), None)
        if first is not None and first not in ordered:
            ordered.append(first)
    ordered.extend(r for r in regions if r not in ordered)
    index = {region_id: i for i, region_id in enumerate(ordered)}
    result: dict[str, Any] = {"regions": [], "lines": []}
    if content != "lines":
        result["regions"] = [{"polygon": regions[r][0], "type": regions[r][1]} for r in ordered]
    if content != "regions":
        for order, line in enumerate(lines):
            first = next((r for r in (line.regions or []) if r in index), None)
            result["lines"].append(
                {
                    "baseline": [(float(x), float(y)) for x, y in line.baseline],
                    "mask": masks.mask_from_kraken(line.boundary),
                    "type": _type(line.tags, "default"),
                    "region": index[first] if first is not None and content == "both" else None,
                    "order": order,
                }
            )
    return result


def _type(tags: Any, default: str) -> str:
    """The ``type`` tag kraken gives a line or region (``{'type': [{'type': 'text'}]}``)."""
    try:
        value = tags["type"][0]["type"]
    except (KeyError, IndexError, TypeError):
        return default
    return str(value) if value else default


# --------------------------------------------------------------------------- errors


def _chain(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _is_memory(error: BaseException) -> bool:
    chain = _chain(error)
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    return any(isinstance(e, MemoryError) for e in chain) or limits.out_of_memory(text)


def _from_here(error: BaseException) -> bool:
    """Whether an exception was raised in this module (a malformed request), not in kraken."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is not None and traceback.tb_frame.f_code.co_filename == __file__


def _short(error: BaseException, limit: int = 300) -> str:
    """kraken's own words for an error, on one line and not too long."""
    text = " ".join(str(error).split()) or type(error).__name__
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


if __name__ == "__main__":
    sys.exit(main())
