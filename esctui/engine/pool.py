"""The parent side: :class:`KrakenEngine` runs kraken in a pool of reusable worker processes.

Nothing here imports kraken or torch: workers start on the first call that needs one (or on
:meth:`KrakenEngine.start`), never at import. Each worker is a separate process group with an
address-space limit, serves page after page, and is replaced when it dies, hangs, runs out of
memory or is cancelled mid-page. Up to ``workers`` pages are in work at once::

    async with KrakenEngine() as engine:
        pages = await asyncio.gather(*(engine.segment(path, page=name) for path, name in todo))

Every failure is an :class:`~esctui.engine.errors.EngineError` whose text is a sentence.
A call cancelled while its page is in work stops that worker (its whole process group) at once;
:meth:`KrakenEngine.close` (or leaving ``async with``) stops them all. Workers also die with the
process that started them, and any still running when the interpreter exits are killed.

One engine belongs to one event loop (the one of its first call).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
import tempfile
import weakref
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from esctui.domain import DEFAULT_MAX_PIXELS
from esctui.engine import limits
from esctui.engine.data import (
    SEGMENTATION_CONTENTS,
    STAGE_STARTING,
    TEXT_DIRECTIONS,
    LineShape,
    PageMasks,
    PageRecognition,
    PageSegmentation,
    Progress,
    SegmentationContent,
    TextDirection,
)
from esctui.engine.errors import (
    EngineClosedError,
    EngineError,
    EngineStartError,
    LinesUnsuitableError,
    ModelUnusableError,
    PageImageError,
    PageTimeoutError,
    WorkerCrashedError,
    WorkerOutOfMemoryError,
)
from esctui.engine.protocol import (
    HEADER_BYTES,
    KIND_IMAGE,
    KIND_LINES,
    KIND_MEMORY,
    KIND_MODEL,
    FrameError,
    decode,
    encode,
    frame_length,
)

WORKER_MODULE = "esctui.engine.worker"
#: Time kraken may spend on one page before its worker is stopped.
DEFAULT_PAGE_TIMEOUT = 600.0
#: Time a worker may take to import kraken and say it is ready.
DEFAULT_STARTUP_TIMEOUT = 180.0
#: A worker's log (its stderr) is cut back to its last STDERR_KEEP bytes beyond this size.
STDERR_LIMIT = 2**20
STDERR_KEEP = 64 * 2**10
#: A page's masks are shared among idle workers, with at least this many lines each.
MIN_LINES_PER_SHARE = 8
STOP_GRACE = 2.0

ProgressCallback = Callable[[Progress], None]
T = TypeVar("T")

_VERBS = {"segment": "segmenting", "recognize": "recognizing", "masks": "computing the masks of"}
_ERRORS: dict[str, type[EngineError]] = {
    KIND_MODEL: ModelUnusableError,
    KIND_IMAGE: PageImageError,
    KIND_LINES: LinesUnsuitableError,
}


@dataclass(frozen=True)
class WorkerSettings:
    """How each worker process is started and limited."""

    memory_limit: int
    threads: int
    max_pixels: int
    startup_timeout: float


class KrakenEngine:
    """kraken segmentation, recognition and masks in ``workers`` separate processes.

    ``workers`` defaults to one per core, bounded by available memory
    (:func:`esctui.engine.limits.default_worker_count`); ``threads`` (torch threads per worker)
    to the cores shared among the workers. ``memory_limit`` is each worker's address space,
    ``page_timeout`` the seconds one page may take.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        memory_limit: int = limits.DEFAULT_MEMORY_LIMIT,
        page_timeout: float = DEFAULT_PAGE_TIMEOUT,
        threads: int | None = None,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        max_pixels: int = DEFAULT_MAX_PIXELS,
    ) -> None:
        self.workers = max(1, workers or limits.default_worker_count())
        self.settings = WorkerSettings(
            memory_limit=memory_limit,
            threads=max(1, threads or limits.cpu_count() // self.workers),
            max_pixels=max_pixels,
            startup_timeout=startup_timeout,
        )
        #: Seconds kraken may spend on one page (may be changed between pages).
        self.page_timeout = page_timeout
        self._slots = asyncio.Semaphore(self.workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._reaping: set[asyncio.Task[None]] = set()
        self._demand = 0  # pages (or shares of a page) submitted and not finished
        self._starting = 0  # workers being started
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def __aenter__(self) -> KrakenEngine:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the running workers (idle and busy)."""
        return sorted(w.pid for w in (*self._idle, *self._busy) if w.alive)

    @property
    def busy_worker_pids(self) -> list[int]:
        """Process ids of the workers in the middle of a page."""
        return sorted(w.pid for w in self._busy if w.alive)

    async def start(self, count: int | None = None) -> None:
        """Start ``count`` workers now (default: all) instead of on the first pages."""
        self._check_loop()
        wanted = min(self.workers, count or self.workers) - len(self._idle) - len(self._busy)
        if wanted <= 0:
            return
        acquired = 0
        try:
            for _ in range(wanted):
                await self._slots.acquire()
                acquired += 1
            started = await asyncio.gather(
                *(self._spawn() for _ in range(wanted)), return_exceptions=True
            )
        finally:
            for _ in range(acquired):
                self._slots.release()
        errors = [r for r in started if isinstance(r, BaseException)]
        workers = [r for r in started if isinstance(r, _Worker)]
        if self._closed:
            for worker in workers:
                self._retire(worker)
            raise EngineClosedError("The kraken engine was closed while it was starting.")
        self._idle.extend(workers)
        if errors:
            raise errors[0]

    async def segment(
        self,
        image: str | os.PathLike[str],
        *,
        model: str | os.PathLike[str] | None = None,
        text_direction: TextDirection = "horizontal-lr",
        content: SegmentationContent = "both",
        page: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> PageSegmentation:
        """Find the regions and lines of one page with a segmentation model (None: kraken's
        default blla model). ``content``: "both", "lines" (no regions) or "regions" (no lines:
        kraken skips all line work). Progress: stages, then each line's mask."""
        if text_direction not in TEXT_DIRECTIONS:
            raise EngineError(f"kraken knows no text direction {text_direction!r}.")
        if content not in SEGMENTATION_CONTENTS:
            raise EngineError(f"A segmentation cannot return {content!r}.")
        page = page or Path(image).name
        payload = {
            "image": _absolute(image),
            "model": _absolute(model) if model is not None else None,
            "text_direction": text_direction,
            "content": content,
        }
        with self._demanding(1):
            result, info = await self._run("segment", payload, page, progress)
        return PageSegmentation.from_wire(result, info)

    async def recognize(
        self,
        image: str | os.PathLike[str],
        model: str | os.PathLike[str],
        lines: Sequence[LineShape],
        *,
        text_direction: TextDirection = "horizontal-lr",
        page: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> PageRecognition:
        """Read the text of the given lines (all with baseline and mask, or all boxes) with a
        recognition model; one result per line, in order. A model trained on baselines refuses
        box lines and the reverse. Progress: each line."""
        if text_direction not in TEXT_DIRECTIONS:
            raise EngineError(f"kraken knows no text direction {text_direction!r}.")
        page = page or Path(image).name
        _check_lines(lines, page)
        if not lines:
            return PageRecognition([])
        payload = {
            "image": _absolute(image),
            "model": _absolute(model),
            "lines": [line.to_wire() for line in lines],
            "text_direction": text_direction,
        }
        with self._demanding(1):
            result, info = await self._run("recognize", payload, page, progress)
        return PageRecognition.from_wire(result, info)

    async def masks(
        self,
        image: str | os.PathLike[str],
        baselines: Sequence[Sequence[tuple[int, int]]],
        *,
        boundaries: Sequence[Sequence[tuple[int, int]]] = (),
        topline: bool | None = False,
        page: str | None = None,
        progress: ProgressCallback | None = None,
        shares: int | None = None,
    ) -> PageMasks:
        """kraken's masks around ``baselines`` (whole pixels inside the image, see
        :func:`esctui.engine.masks.kraken_baseline`), bounded by each other and by
        ``boundaries`` (the baselines of the page's other lines). ``topline``: False when the
        text lies above the baseline, True below, None around it.

        The polygons are exactly those of ``calculate_polygonal_environment(image, baselines,
        suppl_obj=boundaries, topline=topline)``. The lines are shared among ``shares`` workers
        (at most ``workers``; default: as many as are free, with at least MIN_LINES_PER_SHARE
        lines each).
        Progress: each line."""
        count = len(baselines)
        if not count:
            return PageMasks([])
        page = page or Path(image).name
        share_count = count_shares(count, self.workers, self._demand, shares)
        indices = [list(range(start, count, share_count)) for start in range(share_count)]
        payload = {
            "image": _absolute(image),
            "baselines": [[list(point) for point in line] for line in baselines],
            "boundaries": [[list(point) for point in line] for line in boundaries],
            "topline": topline,
        }
        done = [0] * share_count

        def relay(share: int) -> ProgressCallback | None:
            if progress is None:
                return None

            def forward(step: Progress) -> None:
                if step.total:
                    done[share] = step.done
                    progress(Progress(page, step.stage, sum(done), count))
                else:
                    progress(step)

            return forward

        calls = [
            self._run("masks", {**payload, "indices": share}, page, relay(i))
            for i, share in enumerate(indices)
        ]
        with self._demanding(share_count):  # now: a page submitted next sees fewer free workers
            results = await _all_or_nothing(calls)
        return PageMasks.combine(
            count,
            [
                (share, PageMasks.from_wire(*result))
                for share, result in zip(indices, results, strict=True)
            ],
        )

    async def close(self) -> None:
        """Stop every worker (asked to stop when idle, killed when busy) and wait for them."""
        self._closed = True
        for worker in list(self._busy):
            worker.closing = True
            worker.kill()
        idle, self._idle = self._idle, []
        await asyncio.gather(*(worker.stop() for worker in idle), return_exceptions=True)
        while self._reaping or self._busy or self._starting:
            await asyncio.gather(*self._reaping, return_exceptions=True)
            if not self._reaping:
                await asyncio.sleep(0.01)  # a busy call is ending, or a start will be undone

    def kill(self) -> None:
        """Kill every worker's process group now (synchronous; for emergencies and atexit)."""
        self._closed = True
        for worker in (*self._idle, *self._busy):
            worker.closing = True
            worker.kill()

    # ------------------------------------------------------------------------------ inside

    @contextlib.contextmanager
    def _demanding(self, count: int) -> Iterator[None]:
        """Count ``count`` pages or shares as wanting a worker while the block runs."""
        self._demand += count
        try:
            yield
        finally:
            self._demand -= count

    async def _run(
        self, op: str, payload: dict[str, Any], page: str, progress: ProgressCallback | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send one request to a free worker (starting one if needed) and wait for its result."""
        worker = await self._acquire(page, progress)
        try:
            return await worker.request(op, payload, page, progress, self.page_timeout)
        finally:
            self._release(worker)

    async def _acquire(self, page: str, progress: ProgressCallback | None) -> _Worker:
        self._check_loop()
        await self._slots.acquire()
        try:
            if self._closed:
                raise EngineClosedError(f"The kraken engine was closed before page {page}.")
            while self._idle:
                worker = self._idle.pop()
                if worker.usable:
                    self._busy.add(worker)
                    return worker
                self._retire(worker)
            if progress is not None:
                progress(Progress(page, STAGE_STARTING))
            worker = await self._spawn()
            if self._closed:
                self._retire(worker)
                raise EngineClosedError(f"The kraken engine was closed before page {page}.")
            self._busy.add(worker)
            return worker
        except BaseException:
            self._slots.release()
            raise

    async def _spawn(self) -> _Worker:
        self._starting += 1
        try:
            return await _Worker.spawn(self.settings)
        finally:
            self._starting -= 1

    def _release(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        if worker.usable and not self._closed:
            self._idle.append(worker)
        else:
            self._retire(worker)
        self._slots.release()

    def _retire(self, worker: _Worker) -> None:
        """Kill a worker's process group and reap it in the background (close() waits)."""
        worker.kill()
        task = asyncio.ensure_future(worker.wait_closed())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif loop is not self._loop:
            raise EngineError("This kraken engine belongs to another event loop; start a new one.")
        if self._closed:
            raise EngineClosedError("The kraken engine is closed.")


class _Worker:
    """One worker process: its pipes, its bounded log, and one request at a time."""

    def __init__(
        self, process: asyncio.subprocess.Process, log: _BoundedLog, settings: WorkerSettings
    ) -> None:
        self.process = process
        self.log = log
        self.settings = settings
        self.pid = process.pid
        self.broken = False  # killed, crashed, or its state is not trusted
        self.closing = False  # the engine is closing: a broken pipe is not a crash
        self._next_id = 0
        self._watch = asyncio.ensure_future(self._watch_log())
        _LIVE.add(self)

    @classmethod
    async def spawn(cls, settings: WorkerSettings) -> _Worker:
        """Start a worker and wait until kraken is imported in it."""
        log = _BoundedLog()
        package_root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        threads = str(settings.threads)
        env.update(
            OMP_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
            MALLOC_ARENA_MAX="2",  # fewer malloc arenas: less address space reserved for nothing
            PYTHONIOENCODING="utf-8",
        )
        command = [
            sys.executable,
            "-P",
            "-m",
            WORKER_MODULE,
            "--memory-limit",
            str(settings.memory_limit),
            "--threads",
            threads,
            "--max-pixels",
            str(settings.max_pixels),
            "--parent-pid",
            str(os.getpid()),
        ]
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log.file,
                env=env,
                start_new_session=True,  # its own process group: killed as a whole
            )
        except OSError as error:
            log.close()
            raise EngineStartError(f"The kraken worker could not be started: {error}.") from None
        worker = cls(process, log, settings)
        try:
            async with asyncio.timeout(settings.startup_timeout):
                message = await worker._read()
        except TimeoutError:
            worker.kill()
            await worker.wait_closed()
            raise EngineStartError(
                f"kraken did not start within {settings.startup_timeout:g} s; the machine may be "
                "too busy."
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError, FrameError):
            await worker._wait_exit()
            tail = worker.log.tail()
            worker.kill()
            await worker.wait_closed()
            if limits.out_of_memory(tail):
                raise EngineStartError(_start_memory_sentence(settings)) from None
            raise EngineStartError(
                f"The kraken worker could not start ({worker._how_it_ended()}). "
                f"{_last_line(tail)}".strip()
            ) from None
        except BaseException:
            worker.kill()
            await worker.wait_closed()
            raise
        if message.get("type") != "ready":
            worker.kill()
            await worker.wait_closed()
            if message.get("kind") == KIND_MEMORY:
                raise EngineStartError(_start_memory_sentence(settings))
            raise EngineStartError(f"kraken cannot be loaded: {message.get('message', '?')}")
        return worker

    @property
    def alive(self) -> bool:
        """Not ended: also checked in /proc, since asyncio learns of a death only later."""
        return self.process.returncode is None and limits.process_running(self.pid)

    @property
    def usable(self) -> bool:
        return self.alive and not self.broken

    async def request(
        self,
        op: str,
        payload: dict[str, Any],
        page: str,
        progress: ProgressCallback | None,
        timeout: float,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One request; its result and info (pid, seconds, peak memory), or an EngineError."""
        self._next_id += 1
        request_id = self._next_id
        verb = _VERBS.get(op, op)
        assert self.process.stdin is not None
        try:
            async with asyncio.timeout(timeout):
                self.process.stdin.write(
                    encode({"id": request_id, "op": op, "page": page, **payload})
                )
                await self.process.stdin.drain()
                while True:
                    message = await self._read()
                    if message.get("id") != request_id:
                        continue
                    kind = message.get("type")
                    if kind == "progress":
                        if progress is not None:
                            progress(
                                Progress(
                                    page,
                                    str(message.get("stage", "")),
                                    int(message.get("done", 0)),
                                    int(message.get("total", 0)),
                                )
                            )
                    elif kind == "result":
                        return message["result"], message.get("info") or {}
                    elif kind == "error":
                        raise self._refusal(message, verb, page)
        except TimeoutError:
            self.broken = True
            self.kill()
            raise PageTimeoutError(
                f"kraken took longer than {timeout:g} s {verb} page {page}; its worker was stopped."
            ) from None
        except (asyncio.IncompleteReadError, ConnectionError):
            self.broken = True
            raise await self._ended(verb, page) from None
        except FrameError as error:
            self.broken = True
            self.kill()
            raise WorkerCrashedError(
                f"The kraken worker sent {error} while {verb} page {page}; it was stopped."
            ) from None
        except EngineError:
            raise
        except BaseException:  # cancelled mid-page, or the progress callback failed
            self.broken = True
            self.kill()
            raise

    async def stop(self) -> None:
        """Ask an idle worker to stop, then make sure its process group is gone."""
        self.closing = True
        if self.alive and self.process.stdin is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):
                self.process.stdin.write(encode({"op": "stop"}))
                await self.process.stdin.drain()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE):
                    await self.process.wait()
        self.kill()
        await self.wait_closed()

    def kill(self) -> None:
        """SIGKILL the worker's whole process group (any helper it started goes too)."""
        self.broken = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()

    async def wait_closed(self) -> None:
        """Wait until the process is reaped, then release its pipes and log."""
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        self._watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._watch
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.log.close()
        _LIVE.discard(self)

    async def _read(self) -> dict[str, Any]:
        stdout = self.process.stdout
        assert stdout is not None
        header = await stdout.readexactly(HEADER_BYTES)
        return decode(await stdout.readexactly(frame_length(header)))

    def _refusal(self, message: dict[str, Any], verb: str, page: str) -> EngineError:
        kind = message.get("kind")
        text = str(message.get("message") or "kraken gave no reason.")
        if kind == KIND_MEMORY:
            self.broken = True  # it exits after saying so; never trust it again
            return WorkerOutOfMemoryError(self._memory_sentence(verb, page))
        return _ERRORS.get(str(kind), EngineError)(text)

    async def _ended(self, verb: str, page: str) -> EngineError:
        """The error for a worker whose pipe closed in the middle of a page."""
        if self.closing:
            self.kill()
            return EngineClosedError(f"The kraken engine was closed while {verb} page {page}.")
        await self._wait_exit()
        tail = self.log.tail()
        how = self._how_it_ended()
        self.kill()
        if limits.out_of_memory(tail):
            return WorkerOutOfMemoryError(self._memory_sentence(verb, page))
        return WorkerCrashedError(
            f"The kraken worker stopped unexpectedly ({how}) while {verb} page {page}."
        )

    async def _wait_exit(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self.process.wait()

    def _how_it_ended(self) -> str:
        code = self.process.returncode
        if code is None:
            return "it closed its pipe"
        if code < 0:
            return f"signal {-code}"
        return f"exit status {code}"

    def _memory_sentence(self, verb: str, page: str) -> str:
        return (
            f"The kraken worker ran out of memory while {verb} page {page} (a worker may use "
            f"{_size(self.settings.memory_limit)}); it was replaced."
        )

    async def _watch_log(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self.log.trim()


class _BoundedLog:
    """A worker's stderr: an unlinked temporary file cut back to its tail when it grows."""

    def __init__(self) -> None:
        descriptor, path = tempfile.mkstemp(prefix="esctui-kraken-", suffix=".log")
        os.close(descriptor)
        self.file: BinaryIO = open(path, "a+b")  # noqa: SIM115 - closed in close()
        os.unlink(path)

    def trim(self) -> None:
        """Keep the last STDERR_KEEP bytes once the log is over STDERR_LIMIT."""
        with contextlib.suppress(OSError, ValueError):
            size = os.fstat(self.file.fileno()).st_size
            if size > STDERR_LIMIT:
                tail = self._read_from(size - STDERR_KEEP, STDERR_KEEP)
                self.file.truncate(0)
                self.file.write(b"[earlier output removed]\n" + tail)
                self.file.flush()

    def tail(self, count: int = 4000) -> str:
        with contextlib.suppress(OSError, ValueError):
            size = os.fstat(self.file.fileno()).st_size
            start = max(0, size - count)
            return self._read_from(start, size - start).decode("utf-8", "replace")
        return ""

    def close(self) -> None:
        self.file.close()

    def _read_from(self, offset: int, count: int) -> bytes:
        return os.pread(self.file.fileno(), count, offset)


_LIVE: weakref.WeakSet[_Worker] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    """No worker outlives the interpreter that started it."""
    for worker in list(_LIVE):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(worker.pid, signal.SIGKILL)


async def _all_or_nothing(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Run calls at once; if one fails, cancel the others (stopping their workers) and raise."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def count_shares(lines: int, workers: int, demand: int, shares: int | None = None) -> int:
    """Among how many workers to share a page's ``lines`` masks: ``shares`` if given (at most
    one per worker and per line), else the workers no other page wants, each with at least
    MIN_LINES_PER_SHARE lines; always at least one."""
    if shares is not None:
        return max(1, min(shares, workers, lines))
    free = max(1, workers - demand)
    return max(1, min(free, lines // MIN_LINES_PER_SHARE))


def _check_lines(lines: Sequence[LineShape], page: str) -> None:
    """Lines kraken can recognize together: all baselines with masks, or all boxes."""
    kinds = {line.kind for line in lines}
    if len(kinds) > 1:
        raise LinesUnsuitableError(
            f"Page {page} mixes lines with baselines and lines with boxes only; kraken reads one "
            "kind at a time. Segment the page again or recognize the two kinds apart."
        )
    for number, line in enumerate(lines, start=1):
        if line.baseline is not None:
            if len(line.baseline) < 2:
                raise LinesUnsuitableError(
                    f"Line {number} of page {page} has a baseline of fewer than 2 points."
                )
            if not line.boundary or len(line.boundary) < 3:
                raise LinesUnsuitableError(
                    f"Line {number} of page {page} has a baseline but no mask; kraken needs the "
                    "mask to cut the line out. Compute the masks first."
                )
        elif line.bbox is None:
            raise LinesUnsuitableError(
                f"Line {number} of page {page} has neither a baseline nor a box."
            )
        else:
            x0, y0, x1, y1 = line.bbox
            if x1 <= x0 or y1 <= y0:
                raise LinesUnsuitableError(f"Line {number} of page {page} has an empty box.")


def _start_memory_sentence(settings: WorkerSettings) -> str:
    return (
        f"The kraken worker could not start: {_size(settings.memory_limit)} of memory is not "
        "enough to load kraken."
    )


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.fspath(path))


def _size(n: int) -> str:
    """'6 GB', '1.5 GB', '900 MB'."""
    if n >= 2**30:
        return f"{n / 2**30:.1f}".removesuffix(".0") + " GB"
    return f"{n / 2**20:.0f} MB"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
