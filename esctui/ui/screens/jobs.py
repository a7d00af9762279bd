"""All import jobs (running and finished) with the report of the selected one."""

from __future__ import annotations

import datetime as dt

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from esctui.domain import Job
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.widgets.tables import RowTable, selected_row_key


def render_report(job: Job, live: str = "") -> str:
    """The report of a job as Rich markup."""
    from rich.markup import escape

    when = dt.datetime.fromtimestamp(job.started).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"[b]{escape(job.title)}[/b]", f"{job.kind} · started {when} · {job.status}"]
    if live:
        lines.append(f"[b]running:[/b] {escape(live)}")
    if job.finished:
        lines.append(f"took {job.finished - job.started:.1f} s")
    if job.error:
        lines.append(f"[red]{escape(job.error)}[/red]")
    lines.append(job.report.summary())
    lines += [f"[yellow]note[/yellow] {escape(n)}" for n in job.report.notes]
    if job.report.skipped:
        lines.append("\n[b]Skipped[/b]")
        lines += [f"• {escape(i.name)}: {escape(i.reason)}" for i in job.report.skipped]
    if job.report.imported:
        lines.append(f"\n[b]{job.report.verb.capitalize()}[/b]")
        lines += [
            f"• {escape(i.name)}" + (f" ({escape(i.reason)})" if i.reason else "")
            for i in job.report.imported
        ]
    return "\n".join(lines)


class JobsScreen(Screen[None]):
    """Import jobs, newest first; the report of the highlighted one on the right."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel", "Cancel job"),
        Binding("f5,g", "reload", "Refresh"),
    ]

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select = select
        self.jobs: dict[str, Job] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Jobs", classes="title")
        with Horizontal():
            yield RowTable(id="jobs")
            with VerticalScroll(classes="side panel", id="report-box"):
                yield Static("", id="report")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Started", "Kind", "Status", "Result")
        self.action_reload()

    def on_job_updated(self, message: JobUpdated) -> None:
        table = self.query_one(DataTable)
        job_id = message.progress.job_id
        if job_id not in self.jobs:
            self.action_reload()
            return
        table.update_cell(job_id, "Result", message.progress.describe(), update_width=False)
        if self._selected_id() == job_id:
            self._show(job_id)

    def on_job_finished(self, message: JobFinished) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        table = self.query_one(DataTable)
        current = self.select or self._selected_id()
        self.select = None
        table.clear()
        self.jobs = {j.id: j for j in self.app.store.list_jobs()}  # type: ignore[attr-defined]
        live = self.app.progress  # type: ignore[attr-defined]
        for job in self.jobs.values():
            result = live[job.id].describe() if job.id in live else job.report.summary()
            table.add_row(
                dt.datetime.fromtimestamp(job.started).strftime("%m-%d %H:%M"),
                job.kind,
                job.status,
                result,
                key=job.id,
            )
        if current in self.jobs:
            table.move_cursor(row=table.get_row_index(current))
        if not self.jobs:
            self.query_one("#report", Static).update("No imports yet.")
        self._show(self._selected_id())
        table.focus()

    def _selected_id(self) -> str | None:
        return selected_row_key(self.query_one(DataTable))

    def _show(self, job_id: str | None) -> None:
        if job_id is None or job_id not in self.jobs:
            return
        live = self.app.progress.get(job_id)  # type: ignore[attr-defined]
        self.query_one("#report", Static).update(
            render_report(self.jobs[job_id], live.describe() if live else "")
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.row_key.value if event.row_key else None)

    def action_cancel(self) -> None:
        job_id = self._selected_id()
        if job_id and self.app.cancel_job(job_id):  # type: ignore[attr-defined]
            self.notify("Cancelling… pages already imported stay whole.")
        else:
            self.notify("That job is not running in this window.", severity="warning")
