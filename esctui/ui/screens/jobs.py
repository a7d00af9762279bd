"""All jobs (running and finished) with the report of the selected one."""

from __future__ import annotations

import datetime as dt

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Header, Static

from esctui.domain import Job, JobStatus
from esctui.jobs.runner import format_seconds
from esctui.ui.messages import JobFinished, JobUpdated
from esctui.ui.screens.lists import ListScreen
from esctui.ui.widgets.footer import KeyFooter
from esctui.ui.widgets.tables import Row, RowTable
from esctui.ui.widgets.text import cell, safe

SIDE_SHARE, SIDE_MIN = 0.4, 28  # app.tcss: .side (the report panel)
FIXED_COLUMNS = 11 + 6 + 9 + 2 * 4 + 2  # Started, Kind, Status, cell padding, scroll bar


def render_report(job: Job, live: str = "") -> str:
    """The report of a job as Rich markup (every name from a file or server made safe)."""
    when = dt.datetime.fromtimestamp(job.started).strftime("%Y-%m-%d %H:%M:%S")
    lines = [f"[b]{safe(job.title)}[/b]", f"{job.kind} · started {when} · {job.status}"]
    if live:
        lines.append(f"[b]running:[/b] {safe(live)}")
    if job.finished:
        lines.append(f"took {format_seconds(job.finished - job.started)}")
    if job.error:
        lines.append(f"[red]{safe(job.error)}[/red]")
    lines.append(safe(job.report.summary()))
    lines += [f"[yellow]note[/yellow] {safe(n)}" for n in job.report.notes]
    if job.report.skipped:
        lines.append("\n[b]Skipped[/b]")
        lines += [f"• {safe(i.name)}: {safe(i.reason)}" for i in job.report.skipped]
    if job.report.imported:
        lines.append(f"\n[b]{safe(job.report.verb.capitalize())}[/b]")
        lines += [
            f"• {safe(i.name)}" + (f" ({safe(i.reason)})" if i.reason else "")
            for i in job.report.imported
        ]
    return "\n".join(lines)


class JobsScreen(ListScreen[list[Job], Job]):
    """Jobs, newest first; the report of the highlighted one on the right, live while it runs."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="jobs.back"),
        Binding("c", "cancel", "Cancel job", id="jobs.cancel"),
        Binding("f5,g", "reload", "Refresh", key_display="g", id="jobs.refresh"),
    ]
    EMPTY = "No jobs yet: imports, exports, line masks and model uploads show here."

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select = select
        self.asked_for: set[str] = set()  # job ids reloaded for once: not in the store (yet)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Jobs", classes="title")
        with Horizontal():
            yield RowTable(id="jobs")
            with VerticalScroll(classes="side panel", id="report-box"):
                yield Static("", id="report")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("Started", key="started", width=11)
        table.add_column("Kind", key="kind", width=6)
        table.add_column("Status", key="status", width=9)
        table.add_column("Result", key="result", width=self.result_width())
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.items:  # back from a dialog or the help: what ran meanwhile
            self.action_reload()

    def on_job_updated(self, message: JobUpdated) -> None:
        """Progress of a running job: its row and report change in place. A job this list does
        not show (it started after the list was read, or fell off it) is looked for once."""
        job_id = message.progress.job_id
        job = self.job(job_id)
        if job is None or job_id not in self.table.rows:
            if job_id not in self.asked_for:
                self.asked_for.add(job_id)
                self.action_reload(hold_keys=False)
            return
        self.table.update_cell(job_id, "result", self._result(job))
        if self.selected_id == job_id:
            self._show(job_id)

    def on_job_finished(self, message: JobFinished) -> None:
        self.action_reload(hold_keys=False)

    def result_width(self) -> int:
        """The Result column: what the side panel and the other columns leave."""
        width = self.size.width or 80
        return max(10, width - max(SIDE_MIN, int(width * SIDE_SHARE)) - FIXED_COLUMNS)

    def _result(self, job: Job) -> Text:
        live = self.app.describe_job(job.id)
        if live is not None and job.status == JobStatus.RUNNING.value:
            return cell(live, self.result_width())
        return cell(job.report.summary(), self.result_width())

    def job(self, job_id: str | None) -> Job | None:
        return next((job for job in self.items if job.id == job_id), None)

    def action_reload(self, hold_keys: bool = True) -> None:
        select, self.select = self.select, None
        self.reload(select=select, hold_keys=hold_keys)

    def load(self) -> list[Job]:
        return self.store.list_jobs()

    def listed(self, loaded: list[Job]) -> list[Job]:
        return loaded

    def row(self, job: Job) -> Row:
        started = dt.datetime.fromtimestamp(job.started).strftime("%m-%d %H:%M")
        return Row(job.id, (started, job.kind, job.status, self._result(job)))

    def shown(self) -> None:
        if not self.items:  # said in the report panel
            self.query_one("#report", Static).update(self.EMPTY)
        self._show(self.selected_id)

    def _show(self, job_id: str | None) -> None:
        job = self.job(job_id)
        if job is None:
            return
        live = self.app.describe_job(job.id) if job.status == JobStatus.RUNNING.value else None
        self.query_one("#report", Static).update(render_report(job, live or ""))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.row_key.value if event.row_key else None)
        self.refresh_bindings()  # Cancel is offered for a running job only

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel only for a job that runs in this window."""
        if action == "cancel":
            job_id = self.selected_id
            return job_id is not None and self.app.describe_job(job_id) is not None
        return True

    def action_cancel(self) -> None:
        job_id = self.selected_id
        if job_id and self.app.cancel_job(job_id):
            self.notify("Cancelling…")
        else:
            self.notify("That job is not running in this window.", severity="warning")
