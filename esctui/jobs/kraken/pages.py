"""Pages on the engine's workers: up to one page per worker at once, progress per line, a
failing page skipped, a rerun skipping the pages the same model already did.

``run_pages(ctx, parts, work, concurrency)`` calls ``work(part)`` (which asks the engine, then
commits the page whole with ``finish_in_thread``) for each page. The job's count is pages; its
current item is the engine's last step, e.g. "page 3: drawing line masks 12/51". A page's
:class:`~esctui.engine.EngineError` (image unreadable, lines unsuitable, worker crashed, out of
memory, timed out) is reported as skipped and the others go on; a ModelUnusableError (or any
other error) stops the job. A cancel drops the pages in work (the engine kills their workers).

``plan_pages`` is how both jobs open their run: the pages chosen, the model chosen, each page
looked at (to do, already done by the same model, or skipped with a sentence), and the "already
done" note.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from esctui.domain import ModelKind, Part, now
from esctui.domain.errors import JobError
from esctui.engine import (
    KrakenEngine,
    LinesUnsuitableError,
    PageImageError,
    PageTimeoutError,
    Progress,
    WorkerCrashedError,
)
from esctui.jobs.kraken.choice import ChosenModel, choose_model
from esctui.jobs.runner import JobContext
from esctui.store import PageLayout, Store

#: Engine errors that concern one page: it is skipped, the job goes on.
PAGE_ERRORS: tuple[type[Exception], ...] = (
    PageImageError,
    LinesUnsuitableError,
    WorkerCrashedError,
    PageTimeoutError,
)


def page_label(part: Part) -> str:
    """The page's number, as the engine names it ("... while segmenting page 3.")."""
    return str(part.order + 1)


def progress_to(ctx: JobContext) -> Callable[[Progress], None]:
    """An engine progress callback that names the step as the job's current item:
    'page 3: drawing line masks 12/51'."""

    def show(step: Progress) -> None:
        ctx.working_on(f"page {step.describe()}")

    return show


@contextlib.asynccontextmanager
async def engine_for(
    engine: KrakenEngine | None, workers: int | None
) -> AsyncIterator[KrakenEngine]:
    """The caller's engine (left running), or a new one with ``workers`` processes (closed)."""
    if engine is not None:
        yield engine
        return
    own = KrakenEngine(workers)
    try:
        yield own
    finally:
        await own.close()


async def run_pages(
    ctx: JobContext,
    parts: Sequence[Part],
    work: Callable[[Part], Awaitable[None]],
    *,
    concurrency: int,
) -> None:
    """``work(part)`` for every page, ``concurrency`` (the engine's workers) in kraken at a time,
    each counted when it ends. One page more waits in the engine's queue, so a worker that
    finishes a page starts the next while the last one is committed (not idle meanwhile)."""
    pending = iter(parts)

    async def take_pages() -> None:
        for part in pending:  # shared by the tasks: each page is taken once
            try:
                await work(part)
            except PAGE_ERRORS as error:
                ctx.report.add_skipped(part.name, str(error))
            ctx.advance(part.name)

    tasks = [
        asyncio.ensure_future(take_pages()) for _ in range(max(1, min(concurrency + 1, len(parts))))
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


# ---------------------------------------------------------------------- planning a run


@dataclass(frozen=True)
class PagesRun:
    """What a kraken job asks of ``plan_pages``: which pages, which model, how it is said."""

    store: Store
    document_id: str
    part_ids: list[str] | None
    model_ref: str | None
    kind: ModelKind
    infinitive: str  # "segment": "The document has no pages to segment."
    verb: str  # "segmented": "2 pages already segmented with ..."
    force: bool
    error: type[JobError]  # what the job raises when it cannot start


#: What ``look`` says of a page: None to do it, a sentence to skip it.
PageLook = Callable[[Part, PageLayout], str | None]
#: What a job's ``prepare`` gives once the model is chosen (in a thread): the engine task
#: name, its options (``already_done``) and how to look at each page.
Prepared = tuple[str, dict[str, Any], PageLook]


async def plan_pages(
    ctx: JobContext,
    run: PagesRun,
    prepare: Callable[[ChosenModel], Prepared],
    *,
    none_suits: str | None = None,
) -> tuple[ChosenModel, list[Part]]:
    """Select the pages, choose the model, start the count, look at every page (in a thread),
    report the skipped pages and those the model already did; the model and the pages to do.

    A page the same model already did with the same options is left (``force`` redoes it);
    ``look`` says why another is skipped. ``none_suits`` ("No page can be read with {model}"):
    when every page is skipped, the job fails with it and the pages' reasons instead of ending
    with nothing done.
    """
    parts = await asyncio.to_thread(run.store.select_parts, run.document_id, run.part_ids)
    if not parts:
        raise run.error(f"The document has no pages to {run.infinitive}.")
    model = await asyncio.to_thread(choose_model, run.store, run.model_ref, run.kind)
    ctx.start(len(parts))
    ctx.working_on("looking at the pages")

    def look_at_pages() -> tuple[list[Part], list[str], list[tuple[str, str]]]:
        task, options, look = prepare(model)
        todo: list[Part] = []
        done_before: list[str] = []
        skipped: list[tuple[str, str]] = []
        for part in parts:
            layout = run.store.read_page_layout(run.document_id, part.id)
            if not run.force and already_done(part, task, model, options, layout):
                done_before.append(part.name)
            elif (reason := look(part, layout)) is not None:
                skipped.append((part.name, reason))
            else:
                todo.append(part)
        return todo, done_before, skipped

    todo, done_before, skipped = await asyncio.to_thread(look_at_pages)
    if none_suits is not None and skipped and not todo and not done_before:
        raise run.error(f"{none_suits.format(model=repr(model.name))}: {why_skipped(skipped)}")
    for name, reason in skipped:
        ctx.report.add_skipped(name, reason)
    if skipped:
        ctx.advance(skipped[-1][0], n=len(skipped))
    if done_before:
        ctx.report.notes.append(already_note(run.verb, model, done_before))
        ctx.report.count(f"already {run.verb}", len(done_before))
        ctx.advance(done_before[-1], n=len(done_before))
    return model, todo


def why_skipped(skipped: Sequence[tuple[str, str]]) -> str:
    """Each distinct reason once, with the pages it stands for: "input: the page has no lines;
    p2, p3: the model reads boxes, and this page has only baselines" (one reason: no names)."""
    pages_by_reason: dict[str, list[str]] = {}
    for name, reason in skipped:
        pages_by_reason.setdefault(reason, []).append(name)
    if len(pages_by_reason) == 1:
        return next(iter(pages_by_reason))
    parts = []
    for reason, names in pages_by_reason.items():
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{shown}: {reason}")
    return "; ".join(parts)


# ---------------------------------------------------------------------- resumable reruns


def layout_fingerprint(layout: PageLayout) -> str:
    """A short digest of which regions and lines a page holds (a rerun checks it is unchanged)."""
    digest = hashlib.sha256()
    for ids in (sorted(r.id for r in layout.regions), sorted(ln.id for ln in layout.lines)):
        digest.update(",".join(ids).encode())
        digest.update(b"|")
    return digest.hexdigest()[:16]


def engine_run(
    model: ChosenModel, options: dict[str, Any], layout: PageLayout, **details: Any
) -> dict[str, Any]:
    """What to keep in ``Part.engine_runs`` after kraken did a page."""
    return {
        "model": model.name,
        "sha256": model.sha256,
        "options": options,
        "layout": layout_fingerprint(layout),
        "when": now(),
        **details,
    }


def already_done(
    part: Part, task: str, model: ChosenModel, options: dict[str, Any], layout: PageLayout
) -> bool:
    """Whether ``model`` did ``task`` on this page with these options and the page's regions and
    lines are still the ones it left."""
    run = part.engine_runs.get(task)
    return (
        isinstance(run, dict)
        and run.get("sha256") == model.sha256
        and run.get("options") == options
        and run.get("layout") == layout_fingerprint(layout)
    )


def already_note(verb: str, model: ChosenModel, names: Sequence[str]) -> str:
    """'2 pages already segmented with 'kraken default (blla)' (p1, p2); --force redoes them'."""
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    count = f"{len(names)} page{'s' if len(names) != 1 else ''}"
    return f"{count} already {verb} with {model.name!r} ({shown}); --force redoes them"
