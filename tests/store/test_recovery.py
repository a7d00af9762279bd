"""Crash recovery and concurrency: what a killed process leaves, and several processes at once.

Crash and concurrency tests run real processes (``python -c`` and ``python -m esctui``) on one
data folder: a second process, ``kill -9``, then a fresh ``Store`` on the same folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from esctui.domain import (
    Job,
    JobStatus,
    Line,
)
from esctui.store import PageLayout, Store
from tests.helpers import add_pages, read_json

SUBPROCESS_TIMEOUT = 120


def dead_pid() -> int:
    """The id of a process that has ended (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leave_crash_marker(store: Store) -> None:
    """The session marker a killed process leaves behind (a clean exit removes it)."""
    (store.root / ".sessions" / f"{dead_pid()}-0a0b0c0d").touch()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """The id of a process that runs for the duration of the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def staging_leftovers(root: Path) -> list[Path]:
    return [p for p in root.glob("documents/*/.staging/*")]


def test_a_running_job_of_a_dead_process_is_marked_failed_on_reopen(
    store: Store, live_pid: int
) -> None:
    dead = Job(kind="images", title="killed", pid=dead_pid())
    alive = Job(kind="images", title="still running", pid=live_pid)
    store.save_job(dead)
    store.save_job(alive)

    reopened = Store(store.root)
    found = reopened.get_job(dead.id)
    assert found.status == JobStatus.FAILED.value
    assert "interrupted" in found.error
    assert found.finished is not None
    assert reopened.get_job(alive.id).status == JobStatus.RUNNING.value


def test_orphans_of_a_dead_process_are_swept_on_reopen(
    store: Store, make_image, live_pid: int
) -> None:
    doc = store.create_document("Codex")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    doc_dir = store.document_dir(doc.id)
    dead_staging = doc_dir / ".staging" / f"{dead_pid()}-abcd1234"
    make_image(dead_staging / "half.png")
    live_staging = doc_dir / ".staging" / f"{live_pid}-abcd1234"
    make_image(live_staging / "busy.png")
    orphans = [
        make_image(doc_dir / "images" / "orphan.png"),
        make_image(doc_dir / "thumbs" / "orphan.jpg"),
        make_image(doc_dir / "pages" / "orphan.json", "PNG"),
    ]
    never_committed = store.root / "documents" / "0123456789abcdef"
    make_image(never_committed / "images" / "x.png")
    leave_crash_marker(store)

    Store(store.root)

    assert not dead_staging.exists()
    assert (live_staging / "busy.png").exists()  # another process is still working there
    assert not any(p.exists() for p in orphans)
    assert not never_committed.exists()
    assert store.part_image_path(part).is_file()
    assert store.part_thumbnail_path(part).is_file()


# Crash windows the store's recovery does not cover yet. Each test reproduces, with files, the
# state a kill -9 at that moment leaves. Strict: they fail (XPASS) once the store is fixed.


def test_the_folder_of_a_deleted_document_is_swept_after_a_crash(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    add_pages(store, doc.id, make_image, ["p1"])
    folder = store.document_dir(doc.id)
    saved = store.root.parent / "saved"
    shutil.copytree(folder, saved)
    store.delete_document(doc.id)
    shutil.copytree(saved, folder)  # the rmtree never happened
    leave_crash_marker(store)

    Store(store.root)
    assert not folder.exists()


def test_temp_files_of_an_interrupted_atomic_write_are_swept(store: Store) -> None:
    doc = store.create_document("Codex")
    pid = dead_pid()
    leftovers = [
        store.root / f".catalog.json.tmp-{pid}-0a0b0c0d",
        store.document_dir(doc.id) / f".document.json.tmp-{pid}-0a0b0c0d",
    ]
    for path in leftovers:
        path.write_bytes(b'{"half": ')
    leave_crash_marker(store)

    Store(store.root)
    assert not any(p.exists() for p in leftovers)


def test_a_clean_reopen_skips_the_crash_sweep_and_a_crash_marker_triggers_it(
    store: Store, make_image
) -> None:
    """Opening after clean exits reads no document files (start-up time); after a crash it does."""
    doc = store.create_document("Codex")
    orphan = make_image(store.document_dir(doc.id) / "images" / "orphan.png")
    store.close()
    assert list((store.root / ".sessions").iterdir()) == []

    Store(store.root).close()
    assert orphan.exists()  # no crash, no sweep

    leave_crash_marker(store)
    reopened = Store(store.root)
    assert not orphan.exists()
    assert [m.name for m in (store.root / ".sessions").iterdir()] == [reopened.session_marker.name]


# ---------------------------------------------------------------------- real processes

IMPORT_SCRIPT = """
import asyncio, sys, time
from pathlib import Path
from esctui.jobs.imports.images import ImageImportOptions, LocalImagesImporter
from esctui.jobs.runner import run_job
from esctui.store import Store

root, document, go, ready, *files = sys.argv[1:]
store = Store(Path(root))
Path(ready).touch()  # opened, imports loaded: waiting for the start signal
while not Path(go).exists():
    time.sleep(0.002)
options = ImageImportOptions(workers=1, commit_every_pages=1)  # one transaction per page
job = asyncio.run(run_job(store, LocalImagesImporter(store, document, files, options)))
print(job.status, len(job.report.imported), job.error)
"""


@pytest.mark.slow
def test_two_processes_importing_into_one_document_lose_nothing(
    store: Store, make_image, jpeg_copies, tmp_path: Path
) -> None:
    doc = store.create_document("Shared")
    scan = make_image(tmp_path / "scan.jpg", size=(1500, 2000), noise=True, quality=90)
    # 40 each: a JPEG page is not decoded, so a process's page is little more than its commit
    sets = {tag: jpeg_copies(scan, tmp_path / tag, 40, f"{tag}{{}}.jpg") for tag in ("a", "b")}
    go = tmp_path / "go"
    ready = {tag: tmp_path / f"ready-{tag}" for tag in sets}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", IMPORT_SCRIPT, str(store.root), doc.id, str(go)]
            + [str(ready[tag])]
            + [str(p) for p in files],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag, files in sets.items()
    ]
    deadline = time.monotonic() + SUBPROCESS_TIMEOUT
    while not all(r.exists() for r in ready.values()):  # both started, however loaded the machine
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=SUBPROCESS_TIMEOUT) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert out.split()[:2] == ["done", "40"], out + err

    catalog = read_json(store.catalog_path)  # both files are whole JSON
    document = read_json(store.document_dir(doc.id) / "document.json")
    assert len(document["parts"]) == 80
    reopened = Store(store.root)
    parts = reopened.list_parts(doc.id)
    expected = {
        hashlib.sha256(p.read_bytes()).hexdigest() for files in sets.values() for p in files
    }
    assert {p.sha256 for p in parts} == expected
    assert sorted(p.order for p in parts) == list(range(80))
    tags = "".join(p.name[0] for p in parts)
    switches = sum(x != y for x, y in zip(tags, tags[1:], strict=False))
    assert switches >= 2, f"the two imports did not interleave: {tags}"
    for tag, files in sets.items():  # each process's pages keep their relative order
        names = [p.name for p in parts if p.name.startswith(tag)]
        assert names == [f.stem for f in files]
    assert reopened.get_document(doc.id).page_count == 80
    assert {r["page_count"] for r in catalog["documents"].values()} == {80}
    jobs = reopened.list_jobs()
    assert sorted((j.status, j.done) for j in jobs) == [("done", 40), ("done", 40)]
    assert all(reopened.part_image_path(p).is_file() for p in parts)


@pytest.mark.slow
def test_a_process_creating_documents_while_another_imports(
    store: Store, make_image, tmp_path: Path
) -> None:
    doc = store.create_document("Busy")
    files = [make_image(tmp_path / "in" / f"p{i}.png", size=(90, 120)) for i in range(15)]
    go = tmp_path / "go"
    creator = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys, time
                from pathlib import Path
                from esctui.store import Store
                store = Store(Path(sys.argv[1]))
                while not Path(sys.argv[2]).exists():
                    time.sleep(0.002)
                for i in range(30):
                    store.create_document(f"created {i}")
                """
            ),
            str(store.root),
            str(go),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    importer = subprocess.Popen(
        [sys.executable, "-c", IMPORT_SCRIPT, str(store.root), doc.id, str(go)]
        + [str(tmp_path / "importer-ready")]
        + [str(p) for p in files],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    go.touch()
    _, creator_err = creator.communicate(timeout=SUBPROCESS_TIMEOUT)
    out, err = importer.communicate(timeout=SUBPROCESS_TIMEOUT)
    assert creator.returncode == 0, creator_err
    assert importer.returncode == 0 and out.startswith("done 15"), out + err

    reopened = Store(store.root)
    names = {d.name for d in reopened.list_documents()}
    assert names == {"Busy"} | {f"created {i}" for i in range(30)}
    assert reopened.get_document("Busy").page_count == 15
    assert len(reopened.list_parts(doc.id)) == 15


KILL_IMAGES = 60


@pytest.fixture(scope="module")
def kill_images(tmp_path_factory: pytest.TempPathFactory, make_image, jpeg_copies) -> Path:
    """60 scan-like JPEGs (1000x1400 with grain): enough work that an import takes a while."""
    folder = tmp_path_factory.mktemp("kill-images")
    scan = make_image(folder.parent / "scan.jpg", size=(1000, 1400), noise=True, quality=90)
    jpeg_copies(scan, folder, KILL_IMAGES)
    return folder


def _page_count_on_disk(catalog: Path) -> int:
    """The page count the catalog holds (a whole commit: the catalog is written last)."""
    return sum(r["page_count"] for r in read_json(catalog).get("documents", {}).values())


# A real kill -9 at the worst moment of a commit: the process kills itself right after the
# document file is replaced, before the catalog is written. (A kill timed from outside lands
# there about 5 times in 6 when it polls document.json.)
KILL_AFTER_DOCUMENT_WRITE = """
import os, signal, sys
from esctui.store import atomic

real_write = atomic.write_files_durably

def write(files, **options):
    real_write(files, **options)
    if any(path.name == "document.json" for path, _data in files):
        os.kill(os.getpid(), signal.SIGKILL)

atomic.write_files_durably = write
from esctui.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_kill_9_between_the_document_and_catalog_writes(
    store: Store, make_image, tmp_path: Path
) -> None:
    doc = store.create_document("Crash")
    files = [make_image(tmp_path / "in" / f"p{i}.png", size=(60, 80)) for i in range(3)]
    crashed = subprocess.run(
        [sys.executable, "-c", KILL_AFTER_DOCUMENT_WRITE, "import", "images", "Crash"]
        + [str(f) for f in files],
        env={**os.environ, "ESCTUI_DATA": str(store.root)},
        capture_output=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert crashed.returncode == -signal.SIGKILL

    reopened = Store(store.root)
    assert len(reopened.list_parts(doc.id)) == 3
    assert reopened.get_job(reopened.list_jobs()[0].id).status == JobStatus.FAILED.value
    assert reopened.get_document(doc.id).page_count == 3


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["staging", "after-first-commit"])
def test_kill_9_during_an_import_then_a_clean_reopen(
    store: Store, kill_images: Path, tmp_path: Path, moment: str
) -> None:
    doc = store.create_document("Crash")
    doc_dir = store.document_dir(doc.id)
    env = {**os.environ, "ESCTUI_DATA": str(store.root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "esctui", "import", "images", "Crash", str(kill_images)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if moment == "staging" and list(doc_dir.glob(".staging/*/*")):
                break
            if moment == "after-first-commit" and _page_count_on_disk(store.catalog_path):
                break
            time.sleep(0.001)
        assert proc.poll() is None, "the import ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    reopened = Store(store.root)
    assert [d.name for d in reopened.list_documents()] == ["Crash"]
    parts = reopened.list_parts(doc.id)
    assert len(parts) < KILL_IMAGES
    if moment == "after-first-commit":
        assert parts
    for part in parts:
        with Image.open(reopened.part_image_path(part)) as image:
            image.load()
            assert image.size == (part.width, part.height)
        thumbnail = reopened.ensure_thumbnail(part)  # made from the page if not made yet
        assert thumbnail is not None
        with Image.open(thumbnail) as thumb:
            thumb.load()
        assert hashlib.sha256(reopened.part_image_path(part).read_bytes()).hexdigest() == (
            part.sha256
        )
    stored = {p.name for p in (doc_dir / "images").iterdir()} if parts else set()
    assert stored == {Path(p.filename).name for p in parts}  # no orphan image left
    assert staging_leftovers(store.root) == []
    [job] = reopened.list_jobs()
    assert job.status == JobStatus.FAILED.value
    assert "interrupted" in job.error
    read_json(store.catalog_path)
    assert reopened.get_document(doc.id).page_count == len(parts)

    # The folder is fully usable: importing the same folder again adds only the missing pages.
    again = subprocess.run(
        [sys.executable, "-m", "esctui", "import", "images", "Crash", str(kill_images)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
    )
    assert again.returncode == (3 if parts else 0), again.stderr
    final = Store(store.root)
    assert len(final.list_parts(doc.id)) == KILL_IMAGES
    assert [p.name for p in final.list_parts(doc.id)][len(parts) :] == [
        f"page{i}" for i in range(1, KILL_IMAGES + 1) if f"page{i}" not in {p.name for p in parts}
    ]
    assert final.get_document(doc.id).page_count == KILL_IMAGES


def test_saving_a_stale_document_copy_keeps_the_typology_the_pages_gave(
    store: Store, make_image
) -> None:

    doc = store.create_document("Codex")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    stale = store.get_document(doc.id)  # e.g. a description dialog left open
    lines = [Line(part.id, baseline=[(0, 5), (9, 5)], type="heading")]
    store.write_page_layout(doc.id, part.id, PageLayout(lines=lines))
    stale.description = "written meanwhile"
    store.update_document(stale)
    saved = store.get_document(doc.id)
    assert saved.description == "written meanwhile"
    assert saved.typology == {"regions": {}, "lines": {"heading": 1}}


def test_a_model_copy_left_by_a_killed_upload_is_swept(store: Store, live_pid: int) -> None:
    dead = store.models_dir() / f".upload-{dead_pid()}-abcd"
    alive = store.models_dir() / f".upload-{live_pid}-abcd"
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "big.mlmodel").write_bytes(b"x" * 1000)
    leave_crash_marker(store)
    Store(store.root)
    assert not dead.exists()
    assert (alive / "big.mlmodel").exists()  # still being validated by a live process


def test_a_marker_with_our_pid_from_an_earlier_process_counts_as_a_crash(store: Store) -> None:
    """After a restart the new process may get the crashed one's pid: still a crash."""
    doc = store.create_document("Codex")
    orphan = store.document_dir(doc.id) / "images" / "orphan.png"
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"left by a crash")
    store.close()
    (store.root / ".sessions" / f"{os.getpid()}-deadbeef").touch()  # not a Store open here
    Store(store.root)
    assert not orphan.exists()
