"""Running work as a job: progress (count, rate, ETA, current item), cancel, report.

A job kind (``JobKind``) is any object with ``kind``, ``verb``, ``title``, ``document_id`` and
an async ``run(ctx)``. It calls ``ctx.start(total)`` and ``ctx.advance(item)`` as it goes and
fills ``ctx.report``. ``run_job`` wraps it: records the job in the store, gives the report the
kind's verb, turns errors into a failed job with a plain message (the one place that catches
them), records a cancel, and keeps the report. The TUI and the CLI both call it.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from esctui.domain import Job, JobReport, JobStatus, now
from esctui.domain.errors import EsctuiError, is_disk_full
from esctui.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class JobProgress:
    """A snapshot of a running job, sent to the UI or the CLI progress bar.

    ``rate`` and ``eta`` are measured from the first finished item on (None until a few items
    and a second have passed): the start (a manifest read, the first connections, loading
    kraken) is not work on items, and counting it made the first ETA of a 15 s import 2 min.
    """

    job_id: str
    title: str
    done: int
    total: int | None
    current: str
    rate: float | None  # items per second
    eta: float | None  # seconds left
    elapsed: float

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None

    def describe(self) -> str:
        """One line: '12/40 · 3.1/s · about 9 s left · page12.jpg'."""
        count = f"{self.done:,}" + (f"/{self.total:,}" if self.total is not None else "")
        parts = [count]
        if self.rate is not None:
            parts.append(f"{self.rate:.1f}/s")
        if self.eta is not None and self.done != self.total:
            parts.append(f"about {format_seconds(self.eta)} left")
        if self.current:
            parts.append(self.current)
        return " · ".join(parts)


# An ETA needs a few items measured after the first one and a second of them.
ETA_MIN_ITEMS = 2
ETA_MIN_SECONDS = 1.0
CANCELLED_BY_USER = "cancelled by the user"


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


ProgressCallback = Callable[[JobProgress], None]
PROGRESS_INTERVAL = 0.1  # seconds between progress snapshots

# The job whose ``run`` is running in this task (and the tasks and threads it starts): lets
# ``CommitBatches`` record the job's counts with each commit without being handed the context.
_running_job: contextvars.ContextVar[JobContext | None] = contextvars.ContextVar(
    "esctui_running_job", default=None
)


class JobContext:
    """What a running job sees of itself: progress reporting and the report to fill."""

    def __init__(self, store: Store, job: Job, on_progress: ProgressCallback | None) -> None:
        self.store = store
        self.job = job
        self.report: JobReport = job.report
        self._on_progress = on_progress
        self._started = time.monotonic()
        self._current = ""
        self._last_sent = 0.0
        self._trailing_scheduled = False
        self._first_done: tuple[float, int] | None = None  # (elapsed, done) at the first item
        self.closed = False  # the job has ended: no more snapshots

    def start(self, total: int | None) -> None:
        """Say how many items there are (None if unknown yet)."""
        self.job.total = total or 0
        self._total = total
        self._emit(force=True)

    def advance(self, current: str = "", n: int = 1) -> None:
        """Count ``n`` items done; ``current`` names what is being worked on."""
        self.job.done += n
        self._current = current
        # The first and the last item are always shown at once; the others ten times a second.
        self._emit(force=self.job.done in (n, self._total_or_none()))

    def working_on(self, current: str) -> None:
        """Name the current item without counting it."""
        self._current = current
        self._emit()

    def _total_or_none(self) -> int | None:
        return getattr(self, "_total", None)

    def record_counts(self, done: int) -> None:
        """Write the job's counts (``done`` items committed or left out) and report to its
        record, inside a commit's transaction: a killed job's record shows what was committed,
        not 0/0."""
        self.store.save_job(dataclasses.replace(self.job, done=done))

    def snapshot(self) -> JobProgress:
        elapsed = time.monotonic() - self._started
        done = self.job.done
        total = self._total_or_none()
        rate = eta = None
        if done > 0 and self._first_done is None:
            self._first_done = (elapsed, done)
        elif self._first_done is not None:
            items = done - self._first_done[1]
            seconds = elapsed - self._first_done[0]
            if items >= ETA_MIN_ITEMS and seconds >= ETA_MIN_SECONDS:
                rate = items / seconds
                eta = max(0, total - done) / rate if total is not None else None
        return JobProgress(
            self.job.id, self.job.title, done, total, self._current, rate, eta, elapsed
        )

    def _emit(self, force: bool = False) -> None:
        """Send a snapshot, at most ten a second; a held-back one follows within 0.1 s."""
        if self._on_progress is None:
            return
        t = time.monotonic()
        wait = PROGRESS_INTERVAL - (t - self._last_sent)
        if force or wait <= 0:
            self._last_sent = t
            self._on_progress(self.snapshot())
            return
        if not self._trailing_scheduled:  # else the last change would show only at the next
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # called from a worker thread: the next call sends it
                return
            self._trailing_scheduled = True
            loop.call_later(wait, self._send_trailing)

    def _send_trailing(self) -> None:
        self._trailing_scheduled = False
        if not self.closed:
            self._emit()


class JobKind(Protocol):
    """What one kind of job does; an instance is one piece of work, ready to run."""

    @property
    def kind(self) -> str:
        """The job's kind as stored and listed: "images", "pdf", "export", "masks", ..."""
        ...

    @property
    def verb(self) -> str:
        """What the job does to the items of its report: "imported", "written", ..."""
        ...

    @property
    def title(self) -> str: ...

    @property
    def document_id(self) -> str | None: ...

    async def run(self, ctx: JobContext) -> None: ...


async def run_job(
    store: Store,
    work: JobKind,
    on_progress: ProgressCallback | None = None,
    *,
    job_id: str | None = None,
    cancel_reason: Callable[[], str] | None = None,
) -> Job:
    """Run ``work`` as a recorded job and return the finished job record.

    ``job_id`` (default: a new one) lets a caller know the job's id before it starts. A cancel
    (``asyncio.CancelledError``) is recorded, with ``cancel_reason()`` when the caller knows why
    (the user quit, the document was deleted), and re-raised. Any other exception makes the job
    FAILED with a plain message; it is not re-raised (the report says what happened).
    """
    job = Job(
        kind=work.kind,
        title=work.title,
        document_id=work.document_id,
        report=JobReport(verb=work.verb),
        user=store.user,
        pid=os.getpid(),
    )
    if job_id is not None:
        job.id = job_id
    await asyncio.to_thread(store.save_job, job)
    ctx = JobContext(store, job, on_progress)
    running = _running_job.set(ctx)
    try:
        await work.run(ctx)
        job.status = JobStatus.DONE.value
    except asyncio.CancelledError:
        job.status = JobStatus.CANCELLED.value
        job.error = cancel_reason() if cancel_reason is not None else CANCELLED_BY_USER
        _finish(store, job, ctx)
        raise
    except EsctuiError as error:
        job.status = JobStatus.FAILED.value
        job.error = str(error)
    except OSError as error:  # the disk is full, a folder cannot be read, ...
        job.status = JobStatus.FAILED.value
        job.error = os_error_sentence(error, store.root)
    except Exception as error:  # a bug or an unexpected library error: keep the job record
        log.exception("job %s failed", job.id)
        job.status = JobStatus.FAILED.value
        job.error = f"unexpected error: {type(error).__name__}: {error}"
    finally:
        _running_job.reset(running)
    _finish(store, job, ctx)
    return job


def os_error_sentence(error: OSError, data_dir: Path | str, *, in_job: bool = True) -> str:
    """An operating-system error (disk full, permission denied, ...) as a sentence naming the
    file or folder, and saying that what was committed before it is kept."""
    from esctui.domain.text import printable

    stopped = "the job stopped" if in_job else "nothing more was written"
    kept = "the pages committed before are kept whole" if in_job else "what was saved is kept"
    if is_disk_full(error):
        return (
            f"the disk holding {printable(data_dir)} is full: {stopped}; {kept}. "
            "Free some space and try again."
        )
    where = error.filename if error.filename is not None else ""
    what = f" ({printable(os.fsdecode(where))})" if where else ""
    reason = (error.strerror or type(error).__name__).rstrip(".").lower()
    return f"{reason}{what}: {stopped}; {kept}."


def _finish(store: Store, job: Job, ctx: JobContext) -> None:
    ctx.closed = True
    job.finished = now()
    job.report = ctx.report
    try:
        store.save_job(job)
    except OSError as error:  # a full disk: the caller still gets the job and its report
        log.warning("job %s: its record could not be saved: %s", job.id, error)
        if job.status != JobStatus.FAILED.value or not job.error:
            job.status = JobStatus.FAILED.value
            job.error = os_error_sentence(error, store.root)
    if ctx._on_progress is not None:
        ctx._on_progress(ctx.snapshot())


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def fewer_collections(gen0: int = 20_000) -> Iterator[None]:
    """Run Python's cyclic garbage collector less often while a bulk job allocates heavily.

    Parsing hundreds of XML pages keeps many small objects (points, lines) alive until they
    are committed; with the default threshold (700) the collector scans them again and again
    (a third of the XML import's parse time, measured). Nested and concurrent uses share one
    setting; the old thresholds come back when the last one ends. No object is kept longer.
    """
    import gc

    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(max(gen0, _gc_saved[0]), *_gc_saved[1:])
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)


class JobSequence:
    """Several jobs run one after the other as one job (e.g. each manifest of a collection).

    Each step is recorded as its own job with its own report; this job's report lists how
    each ended, and its progress counts steps while naming what the current one is doing.
    """

    kind = "sequence"
    verb = "imported"
    document_id = None

    def __init__(self, store: Store, title: str, steps: list[JobKind]) -> None:
        self.store = store
        self.title = title
        self.steps = steps

    async def run(self, ctx: JobContext) -> None:
        ctx.start(len(self.steps))
        for step in self.steps:
            await self.run_step(ctx, step)

    async def run_step(self, ctx: JobContext, step: JobKind) -> Job:
        """Run one step as its own job, report how it ended; re-raise its cancel."""

        def forward(progress: JobProgress, name: str = step.title) -> None:
            ctx.working_on(f"{name}: {progress.describe()}")

        job = await run_job(self.store, step, forward)
        line = f"{job.status}: {job.report.summary()}" + (f" — {job.error}" if job.error else "")
        if job.status == JobStatus.DONE.value and not job.report.skipped:
            ctx.report.add_imported(step.title, line)
        else:
            ctx.report.add_skipped(step.title, line)
        ctx.advance(step.title)
        if job.status == JobStatus.CANCELLED.value:
            raise asyncio.CancelledError
        return job


class CommitBatches(Generic[T]):
    """Items prepared by a job, committed to the store in batches.

    A batch is committed (in a thread, see ``finish_in_thread``) once ``every_seconds`` have
    passed since the last commit or it holds ``every_items``; a timer commits what waits
    ``every_seconds`` after the last commit even when no item follows (a page staged while the
    next download stalls is committed within about a second); whatever is left is committed
    when the ``async with`` block ends, also on a cancel or an error, so prepared pages are
    kept whole. Inside ``run_job`` each commit also writes the job's counts to its record, in
    the same transaction::

        async with CommitBatches(self._commit) as batches:
            for item in ...:
                await batches.add(prepare(item))
    """

    def __init__(
        self,
        commit: Callable[[list[T]], object],
        *,
        every_seconds: float = 1.0,
        every_items: int = 200,
    ) -> None:
        self._commit = commit
        self.every_seconds = every_seconds
        self.every_items = every_items
        self._batch: list[T] = []
        self._last_commit = time.monotonic()
        self._job = _running_job.get()
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None
        self._timer_error: BaseException | None = None

    async def add(self, *items: T) -> None:
        self._raise_timer_error()
        self._batch.extend(items)
        if not self._batch:
            return
        due = time.monotonic() - self._last_commit >= self.every_seconds
        if due or len(self._batch) >= self.every_items:
            await self.flush()
        else:
            self._arm_timer()

    async def flush(self) -> None:
        async with self._lock:
            batch, self._batch = self._batch, []
            done = self._job.job.done if self._job is not None else 0  # items up to this batch
            if batch:
                await finish_in_thread(self._commit_and_record, batch, done)
            self._last_commit = time.monotonic()

    def _commit_and_record(self, batch: list[T], done: int) -> None:
        if self._job is None:
            self._commit(batch)
            return
        with self._job.store.transaction():
            self._commit(batch)
            self._job.record_counts(done)

    def _arm_timer(self) -> None:
        if self._timer is None or self._timer.done():
            wait = max(0.0, self.every_seconds - (time.monotonic() - self._last_commit))
            self._timer = asyncio.get_running_loop().create_task(self._flush_later(wait))

    async def _flush_later(self, wait: float) -> None:
        await asyncio.sleep(wait)
        try:
            await self.flush()
        except Exception as error:  # raised in the job by its next add() or at the end
            self._timer_error = error

    def _raise_timer_error(self) -> None:
        if self._timer_error is not None:
            error, self._timer_error = self._timer_error, None
            raise error

    async def _stop_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        self._timer = None

    async def __aenter__(self) -> CommitBatches[T]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self._stop_timer()
        finally:
            await self.flush()
        self._raise_timer_error()


async def finish_in_thread(function: Callable[..., R], *args: object) -> R:
    """Run ``function`` in a thread and let it finish even if the job is cancelled meanwhile.

    Used for store commits: a cancel arriving mid-commit waits for the commit to end (so the
    store holds either the batch or nothing, and we know which), then propagates.
    """
    task = asyncio.ensure_future(asyncio.to_thread(function, *args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
