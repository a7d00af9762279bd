"""What a killed esctui process can leave in the data folder, and how it is swept away.

Each open Store keeps a session marker ``.sessions/<pid>-<token>``, removed on a clean exit. A
marker whose process is dead means a crash; then the whole folder is swept: staging folders
and model uploads of dead processes, files no page points to, temporary files of interrupted
atomic writes (a directory walk per document). On every open, deletes interrupted before their
``rmtree`` are finished and jobs of ended processes are marked failed.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tinydb import Query
from tinydb.table import Table

from esctui.domain import JobStatus, now

SESSIONS = ".sessions"
_OPEN_SESSIONS: set[Path] = set()  # session markers of the Stores open in this process
_ROW = Query()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (possibly as another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start_session(root: Path) -> Path:
    """Leave this process's marker in the data folder."""
    folder = root / SESSIONS
    folder.mkdir(exist_ok=True)
    marker = folder / f"{os.getpid()}-{secrets.token_hex(4)}"
    marker.touch()
    _OPEN_SESSIONS.add(marker)
    return marker


def end_session(marker: Path) -> None:
    """A clean exit: the next open skips the crash sweep."""
    marker.unlink(missing_ok=True)
    _OPEN_SESSIONS.discard(marker)


def dead_sessions(root: Path) -> list[Path]:
    """Markers of processes that ended without closing their store (a crash)."""
    folder = root / SESSIONS
    if not folder.is_dir():
        return []
    dead = []
    for marker in folder.iterdir():
        pid = marker.name.split("-")[0]
        ours = pid == str(os.getpid())  # ours and not open here: an earlier process, pid reused
        if not (pid.isdigit() and pid_alive(int(pid))) or (ours and marker not in _OPEN_SESSIONS):
            dead.append(marker)
    return dead


def first_open(root: Path) -> bool:
    """Whether no esctui that keeps session markers has opened this folder yet."""
    return not (root / SESSIONS).is_dir()


def remove_dead_staging(documents: Path) -> None:
    """Staging folders (``<doc>/.staging/<pid>-...``) of imports whose process is dead."""
    for doc_dir in documents.iterdir():
        staging = doc_dir / ".staging"
        if staging.is_dir():
            for sub in staging.iterdir():
                pid = int(sub.name.split("-")[0]) if sub.name.split("-")[0].isdigit() else 0
                if not pid_alive(pid):
                    shutil.rmtree(sub, ignore_errors=True)


def remove_orphan_files(doc_dir: Path, part_rows: Sequence[Mapping[str, Any]]) -> None:
    """Images, thumbnails and page files of a document that no page points to."""
    keep = {p["filename"] for p in part_rows} | {p["thumbnail"] for p in part_rows}
    keep |= {f"pages/{p['id']}.json" for p in part_rows}
    for sub in ("images", "thumbs", "pages"):
        folder = doc_dir / sub
        if folder.is_dir():
            for file in folder.iterdir():
                if f"{sub}/{file.name}" not in keep:
                    file.unlink(missing_ok=True)


def remove_dead_temp_files(root: Path) -> None:
    """``.NAME.tmp-PID-…`` files left by an atomic write whose process was killed."""
    for tmp in root.rglob(".*.tmp-*"):
        pid_text = tmp.name.rsplit(".tmp-", 1)[1].split("-")[0]
        if pid_text.isdigit() and not pid_alive(int(pid_text)):
            tmp.unlink(missing_ok=True)


def remove_dead_uploads(models: Path) -> None:
    """Copies of models being validated (``.upload-<pid>-...``) by a process that is dead."""
    for upload in models.glob(".upload-*"):
        pid = upload.name.split("-")[1]
        if not (pid.isdigit() and pid_alive(int(pid))):
            shutil.rmtree(upload, ignore_errors=True)


def finish_interrupted_deletes(root: Path) -> None:
    """A delete renames the document's folder to ``.trash-*`` first; finish its ``rmtree``."""
    for trash in root.glob(".trash-*"):
        shutil.rmtree(trash, ignore_errors=True)


def fail_interrupted_jobs(jobs: Table) -> None:
    """Running jobs whose process has ended (or is this one, freshly started) failed."""
    for row in jobs.search(_ROW.status == JobStatus.RUNNING.value):
        if not pid_alive(int(row.get("pid", 0))) or row.get("pid") == os.getpid():
            jobs.update(
                {
                    "status": JobStatus.FAILED.value,
                    "error": interrupted_message(int(row.get("done", 0)), int(row.get("total", 0))),
                    "finished": now(),
                },
                _ROW.id == row["id"],
            )


def interrupted_message(done: int, total: int) -> str:
    """What a job's record says when its process ended while it ran: the counts its last
    commit recorded (what was committed), not 0/0."""
    if not done:
        return "interrupted (process ended) before anything was committed"
    of = f" of {total:,}" if total else ""
    return (
        f"interrupted (process ended) after {done:,}{of} items; what was committed until then "
        "is kept"
    )
