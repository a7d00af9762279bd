"""Run eScriptorium's own segmentation or recognition on a remote document and follow it.

::

    job = RemoteTaskJob(target, 12, "segment", pages=[1, 2])
    job = RemoteTaskJob(target, 12, "transcribe", model="catmus", version="catmus")
    await run_job(store, job)

The server runs one task per page (in its Celery workers); this job starts them, then follows
the task reports (``/api/tasks/?document=``) until every page's task is over, showing how many
are queued and running. A crashed or canceled task is reported as a skipped page with the
server's message. The task reports' ``workflow_state`` is read, not the page's ``workflow``
field, whose labels for crashed and canceled are swapped upstream. Cancelling this job cancels
the document's tasks on the server. ``esctui pull`` then brings the result back.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import TYPE_CHECKING

from esctui.domain.errors import JobError
from esctui.domain.text import plural, printable
from esctui.jobs.remote.common import RemoteTarget

if TYPE_CHECKING:
    from esctui.jobs.runner import JobContext
    from esctui.net.escriptorium import (
        EscriptoriumClient,
        ModelJob,
        RemotePart,
        TaskReport,
    )

STEPS = {"segment": "core.tasks.segment", "transcribe": "core.tasks.transcribe"}
VERBS = {"segment": "segmented", "transcribe": "transcribed"}
POLL_SECONDS = 2.0
TASK_SECONDS_PER_PAGE = 600.0  # a page's task may take this long (CPU segmentation: ~60 s)
START_SECONDS = 120.0  # the server must have queued its tasks by then


class RemoteTaskJob:
    """Start the server's segmentation (``step="segment"``) or recognition (``"transcribe"``)
    of some pages of a remote document and wait for it.

    ``pages``: 1-based page numbers (None: all); ``model``: a model's number or name on the
    server (segmentation: the server's default when None; recognition needs one);
    ``version``: the layer recognition writes to (default: named as the model)."""

    document_id = None

    def __init__(
        self,
        target: RemoteTarget,
        remote_document: int,
        step: str,
        *,
        model: str | None = None,
        pages: list[int] | None = None,
        version: str | None = None,
        seconds_per_page: float = TASK_SECONDS_PER_PAGE,
    ) -> None:
        if step not in STEPS:
            raise JobError(f"the server's tasks are segment or transcribe, not {step!r}")
        self.target = target
        self.remote_document = remote_document
        self.step = step
        self.kind = f"remote_{step}"
        self.verb = VERBS[step]
        self.model = model
        self.pages = pages
        self.version = version
        self.seconds_per_page = seconds_per_page
        self._model_name = ""
        self.title = f"{step.capitalize()} on {target.name}: document {remote_document}"

    async def run(self, ctx: JobContext) -> None:
        from esctui.net.escriptorium import TokenRefusedError

        ctx.start(None)
        ctx.working_on(f"connecting to {self.target.name}")
        try:
            async with self.target.client() as escr:
                await self._run(ctx, escr)
        except TokenRefusedError as error:
            raise JobError(f"{error}: esctui remote login {self.target.name} --user USER") from None

    async def _run(self, ctx: JobContext, escr: EscriptoriumClient) -> None:
        from esctui.net.escriptorium import ModelJob

        document = await escr.document(self.remote_document)
        ctx.job.title = f"{self.step.capitalize()} on {self.target.name}: {document.name}"
        parts = self._chosen(await escr.parts(document.pk))
        before = {task.pk for task in await escr.tasks(document.pk)}
        pks = [part.pk for part in parts]
        if self.step == "segment":
            model = await self._model(escr, ModelJob.SEGMENT) if self.model else None
            await escr.segment(document.pk, pks, model=model)
        else:
            model = await self._model(escr, ModelJob.RECOGNIZE)
            name = self.version or self._model_name
            layer = (await escr.ensure_layers(document.pk, [name]))[name]
            await escr.transcribe(document.pk, pks, model=model, layer=layer.pk)
            ctx.report.notes.append(f"texts written to the layer {printable(name)!r}")
        ctx.start(len(parts))
        try:
            await self._follow(ctx, escr, document.pk, parts, before)
        except asyncio.CancelledError:
            await asyncio.shield(escr.cancel_tasks(document.pk))
            raise
        ctx.report.notes.append(
            f"bring the result here with: esctui pull {self.target.name} {document.pk}"
        )

    def _chosen(self, parts: list[RemotePart]) -> list[RemotePart]:
        if not parts:
            raise JobError(f"document {self.remote_document} on {self.target.name} has no pages")
        if self.pages is None:
            return parts
        beyond = [n for n in self.pages if not 1 <= n <= len(parts)]
        if beyond:
            raise JobError(
                f"page {beyond[0]} does not exist; document {self.remote_document} has "
                f"{plural(len(parts), 'page')}"
            )
        return [parts[n - 1] for n in self.pages]

    async def _model(self, escr: EscriptoriumClient, job: ModelJob) -> int:
        """The pk of the model ``self.model`` names (its number or its name)."""
        models = await escr.models(job)
        wanted = (self.model or "").strip()
        for model in models:
            if str(model.pk) == wanted or model.name == wanted:
                self._model_name = model.name
                return model.pk
        known = ", ".join(f"{m.pk} {printable(m.name)!r}" for m in models[:10]) or "none"
        if not wanted:
            raise JobError(
                f"recognition needs a model (--model): {job.value} models on "
                f"{self.target.name}: {known}"
            )
        raise JobError(
            f"there is no {job.value} model {printable(wanted)!r} on {self.target.name} "
            f"(there are: {known}; add one with esctui models push FILE --remote "
            f"{self.target.name})"
        )

    async def _follow(
        self,
        ctx: JobContext,
        escr: EscriptoriumClient,
        document: int,
        parts: list[RemotePart],
        before: set[int],
    ) -> None:
        """Poll the task reports until every chosen page's task is over (or the time is up)."""
        method = STEPS[self.step]
        waiting = {part.title: part for part in parts}  # task reports name pages by title
        started = time.monotonic()
        deadline = started + START_SECONDS + self.seconds_per_page * len(parts)
        seen = False
        while waiting:
            reports = [t for t in await escr.tasks(document) if t.pk not in before]
            mine = [t for t in reports if t.part_label in waiting]
            seen = seen or bool(mine)
            for title, task in _latest_per_page(mine).items():
                if task.state.over and (task.method == method or _failed(task)):
                    self._record(ctx, waiting.pop(title), task)
                    ctx.advance(title)
            states = Counter(t.state.name.lower() for t in _latest_per_page(mine).values())
            now = time.monotonic()
            if waiting and (now > deadline or (not seen and now > started + START_SECONDS)):
                for title in waiting:
                    ctx.report.add_skipped(
                        title,
                        f"the server's {self.step} task was not over after "
                        f"{int(now - started)} s; see its progress on {self.target.name}",
                    )
                return
            if waiting:
                said = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
                ctx.working_on(said or "waiting for the server to queue the tasks")
                await asyncio.sleep(POLL_SECONDS)

    def _record(self, ctx: JobContext, part: RemotePart, task: TaskReport) -> None:
        from esctui.net.escriptorium import TaskState

        title = part.original_filename or part.title or f"page {part.pk}"
        if task.state == TaskState.FINISHED:
            ctx.report.add_imported(title, f"page {part.order + 1}")
            return
        said = task.messages.strip().splitlines()[-1:] or ["no message"]
        what = "crashed" if task.state == TaskState.CRASHED else "was canceled"
        ctx.report.add_skipped(
            title, f"the server's {task.method.rsplit('.', 1)[-1]} task {what}: "
            f"{printable(said[0])}",
        )  # fmt: skip


def _failed(task: TaskReport) -> bool:
    from esctui.net.escriptorium import TaskState

    return task.state in (TaskState.CRASHED, TaskState.CANCELED)


def _latest_per_page(tasks: list[TaskReport]) -> dict[str, TaskReport]:
    """Each page's newest task report (the one a chain of tasks has got to)."""
    latest: dict[str, TaskReport] = {}
    for task in sorted(tasks, key=lambda t: t.pk):
        latest[task.part_label] = task
    return latest
