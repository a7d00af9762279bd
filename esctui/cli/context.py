"""What every CLI handler shares: the store, output (plain or JSON), running a job."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from esctui.domain import Job, JobStatus, Record
from esctui.domain.errors import EsctuiError
from esctui.domain.text import printable, printable_lines, terminal_safe_json
from esctui.jobs.runner import JobKind, JobProgress, run_job
from esctui.store import Store, resolve_data_dir

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_PARTIAL, EXIT_CANCELLED = 0, 1, 2, 3, 130

if TYPE_CHECKING:  # what ArgumentParser.add_subparsers returns (argparse names it privately)
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]

Handler = Callable[[argparse.Namespace, "CliContext"], int]
Listed = TypeVar("Listed", bound=Record)


def add_command(
    group: Subcommands,
    name: str,
    handler: Handler,
    summary: str,
    common: argparse.ArgumentParser,
    *positionals: str | tuple[str, str],
    **options: Any,
) -> argparse.ArgumentParser:
    """The command ``NAME POSITIONALS...`` in ``group``, run by ``handler``; returns its parser
    (for more arguments). A positional is a name or (name, help); ``options`` go to argparse."""
    parser = group.add_parser(name, help=summary, parents=[common], **options)
    for positional in positionals:
        dest, text = (positional, None) if isinstance(positional, str) else positional
        parser.add_argument(dest, help=text)
    parser.set_defaults(handler=handler)
    return parser


class CliContext:
    def __init__(self, *, data_dir: str | None, user: str | None, json_output: bool) -> None:
        self.data_dir = resolve_data_dir(data_dir)
        self.user = user or ""
        self.json_output = json_output
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.data_dir, user=self.user)
        return self._store

    # ------------------------------------------------------------------ output
    # Every line the CLI writes goes through these: names from files and servers (file names,
    # IIIF labels, page and document names, errors quoting them) are shown with ``printable``,
    # so an ESC, OSC or newline in a name can neither drive the terminal nor forge a line.

    def print(self, text: object = "") -> None:
        """One line on stdout; a newline inside ``text`` is shown as ``\\n``."""
        print(printable(text))

    def print_block(self, text: object) -> None:
        """Several lines (a description): line breaks kept, everything else made printable."""
        print(printable_lines(text))

    def error(self, text: object) -> None:
        print(f"esctui: {printable(text)}", file=sys.stderr)

    def emit_json(self, value: Any) -> None:
        text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write(terminal_safe_json(text) + "\n")

    def show_list(
        self,
        items: Sequence[Listed],
        headers: list[str],
        row: Callable[[Listed], list[str]],
        empty: str,
    ) -> int:
        """``--json``: the items' records; else a table of ``row(item)``, or ``empty``."""
        if self.json_output:
            self.emit_json([item.to_record() for item in items])
        elif not items:
            self.print(empty)
        else:
            self.table([row(item) for item in items], headers)
        return EXIT_OK

    def table(self, rows: list[list[str]], headers: list[str]) -> None:
        """A plain aligned table (no colours: output is often piped); cells made printable."""
        shown = [[printable(cell) for cell in row] for row in [headers, *rows]]
        widths = [max(len(x) for x in col) for col in zip(*shown, strict=False)]
        for row in shown:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip())

    # ------------------------------------------------------------------ jobs

    def run_job(self, work: JobKind) -> int:
        """Run a job with a progress bar (TTY) or plain lines, print its report."""
        job = self.run(work)
        return EXIT_CANCELLED if job is None else self.report_job(job)

    def run(self, work: JobKind) -> Job | None:
        """Run a job with a progress bar (TTY) or plain lines; None when cancelled (Ctrl-C)."""
        progress = _ProgressDisplay(enabled=not self.json_output)
        try:
            with progress:
                return asyncio.run(run_job(self.store, work, progress.update))
        except KeyboardInterrupt:
            self.error("cancelled: pages already imported are kept whole; see `esctui jobs`")
            return None

    def report_job(self, job: Job) -> int:
        report = job.report
        if self.json_output:
            self.emit_json(job.to_record())
        else:
            for item in report.imported:
                detail = f"  ({item.reason})" if item.reason else ""
                self.print(f"{report.verb:<9} {item.name}{detail}")
            for item in report.skipped:
                self.print(f"skipped   {item.name}: {item.reason}")
            for note in report.notes:
                self.print(f"note      {note}")
            self.print(f"{job.status}: {report.summary()}  [job {job.id}]")
            if job.error:
                self.error(job.error)
        return exit_status(job)

    def confirmed(self, question: str, *, yes: bool) -> bool:
        """``--yes``, or the user's y on a terminal; elsewhere a UsageError (never guess)."""
        if yes:
            return True
        if not sys.stdin.isatty():
            raise UsageError("refusing to delete without --yes when not on a terminal")
        if input(f"{question} [y/N] ").strip().lower() in ("y", "yes"):
            return True
        self.print("kept")
        return False

    def page_ids(self, document_id: str, spec: str | None) -> list[str] | None:
        """The pages a ``--pages`` option names, in its order (None: every page).

        Raises UsageError (exit status 2) for a malformed spec or a page that does not exist.
        """
        if not spec:
            return None
        parts = self.store.list_parts(document_id)
        try:
            return [parts[n - 1].id for n in parse_page_numbers(spec, len(parts))]
        except ValueError as error:
            raise UsageError(f"--pages: {error}") from None


class UsageError(EsctuiError):
    """A command line that asks for something impossible (exit status 2)."""


def positive_int(text: str) -> int:
    """An option's whole number of 1 or more (else a usage error, exit status 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def exit_status(job: Job) -> int:
    """0 done, 3 done with items skipped, 1 failed, 130 cancelled."""
    if job.status == JobStatus.FAILED.value:
        return EXIT_FAILED
    if job.status == JobStatus.CANCELLED.value:
        return EXIT_CANCELLED
    return EXIT_PARTIAL if job.report.skipped else EXIT_OK


_PAGE_SPEC = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_page_numbers(spec: str, count: int) -> list[int]:
    """1-based page numbers from ``"1,3-5"`` (in the order given, each once).

    Raises ``ValueError`` with a plain message for a malformed spec or a page out of range.
    """
    numbers: list[int] = []
    for piece in spec.split(","):
        match = _PAGE_SPEC.match(piece)
        if not match:
            raise ValueError(f"{piece.strip()!r} is not a page number or a range like 3-5.")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if first < 1 or last < first:
            raise ValueError(f"{piece.strip()!r} is not a valid range of pages.")
        if last > count:
            raise ValueError(f"page {last} does not exist; the document has {count} pages.")
        numbers.extend(n for n in range(first, last + 1) if n not in numbers)
    return numbers


class _ProgressDisplay:
    """rich's progress bar on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self._progress: Any = None
        self._task: Any = None
        self._last_line = 0.0

    def __enter__(self) -> _ProgressDisplay:
        if self.enabled and self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[current]}", markup=False),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def update(self, snap: JobProgress) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            if self._task is None:
                self._task = self._progress.add_task(
                    printable(snap.title), total=snap.total, rate="", current=""
                )
            self._progress.update(
                self._task,
                completed=snap.done,
                total=snap.total,
                rate=f"{snap.rate:.1f}/s" if snap.rate is not None else "",
                current=printable(snap.current)[-40:],
            )
            return
        import time

        now = time.monotonic()
        if now - self._last_line >= 2.0 or (snap.total and snap.done == snap.total):
            self._last_line = now
            print(f"progress  {printable(snap.describe())}", file=sys.stderr, flush=True)
