"""What the TUI knows about the jobs it runs: the importer, its worker, its last progress, a
progress line with an honest ETA, and why it was stopped if it was.

The job runner records a cancel as "cancelled by the user" unless told better: the TUI knows
when the user quit or deleted the document, and gives the runner that reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from esctui.domain.text import printable

if TYPE_CHECKING:
    from textual.worker import Worker

    from esctui.domain import Job
    from esctui.jobs.runner import JobKind, JobProgress

STOPPED_BY_QUIT = "stopped: you quit esctui while it ran"
STOPPED_BY_DELETE = "stopped: its document was deleted"
STOPPED_BY_CLOSE = "stopped: esctui closed while it ran"

# What a job of each kind is called in sentences, and what stays when it is cancelled.
JOB_NOUNS = {
    "images": "import",
    "pdf": "import",
    "iiif": "import",
    "xml": "import",
    "sequence": "import",
    "export": "export",
    "masks": "line masks job",
    "model": "model upload",
}
KEPT_ON_CANCEL = {
    "images": "pages already imported stay whole",
    "pdf": "pages already imported stay whole",
    "iiif": "pages already imported stay whole; importing again resumes",
    "xml": "pages already imported stay whole",
    "sequence": "documents already imported stay whole",
    "export": "nothing is written: the ZIP or file being written is removed",
    "masks": "pages already done keep their new masks",
    "model": "the model is not added",
}


def job_noun(kind: str) -> str:
    """'import', 'export', 'line masks job'… for the kind of a job."""
    return JOB_NOUNS.get(kind, "job")


@dataclass(eq=False)
class RunningJob:
    """One job started by this window and not yet ended."""

    importer: JobKind
    worker: Worker[Job]
    job_id: str
    progress: JobProgress | None = None
    stop_reason: str | None = None  # set when this window stops it

    @property
    def kind(self) -> str:
        return self.importer.kind

    @property
    def title(self) -> str:
        """The job's title; an IIIF import renames itself once it has read the label."""
        return self.progress.title if self.progress and self.progress.title else self.importer.title

    def document_ids(self) -> set[str]:
        """The documents the job writes to (each one of a sequence of imports too)."""
        ids = {self.importer.document_id} if self.importer.document_id else set()
        for inner in getattr(self.importer, "importers", []):
            if inner.document_id:
                ids.add(inner.document_id)
        return ids

    def update(self, progress: JobProgress) -> None:
        self.progress = progress

    def describe(self) -> str:
        """The progress line, or 'starting…' before the first report."""
        return printable(self.progress.describe()) if self.progress else "starting…"

    def summary(self) -> str:
        """Its title and where it is, for a question: "'IIIF: … into Book' (3/5)"."""
        where = ""
        if self.progress is not None:
            total = self.progress.total
            where = f" ({self.progress.done:,}" + (f"/{total:,}" if total is not None else "") + ")"
        return f"'{printable(self.title)}'{where}"
