"""The store: documents, pages, versions, models, jobs, transactions, recovery, and crashes.

Crash and concurrency tests run real processes (``python -c`` and ``python -m esctui``) on one
data folder: a second process, ``kill -9``, then a fresh ``Store`` on the same folder.
"""

from __future__ import annotations

import hashlib
import json
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
    LineText,
    Model,
    Region,
    TranscriptionSource,
)
from esctui.domain.errors import (
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    StoreError,
)
from esctui.store import SCHEMA_VERSION, PageLayout, StagedFile, Store
from esctui.store.atomic import AtomicJSONStorage, atomic_write_bytes, write_files_durably

SUBPROCESS_TIMEOUT = 120


# ---------------------------------------------------------------------- helpers


def stage(store: Store, document_id: str, make_image, names: list[str]) -> list[StagedFile]:
    """Page images and thumbnails written into a staging folder, as an importer leaves them."""
    folder = store.new_staging_dir(document_id)
    staged = []
    for name in names:
        image = make_image(folder / f"{name}.png", size=(60, 80))
        thumb = make_image(folder / f"{name}.thumb.jpg", size=(30, 40), seed=name)
        data = image.read_bytes()
        staged.append(
            StagedFile(
                image=image,
                thumbnail=thumb,
                name=name,
                original_filename=f"{name}.png",
                width=60,
                height=80,
                format="PNG",
                byte_size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                source=f"/scans/{name}.png",
            )
        )
    return staged


def add_pages(store: Store, document_id: str, make_image, names: list[str]) -> list:
    added, duplicates = store.add_parts(document_id, stage(store, document_id, make_image, names))
    assert not duplicates
    return added


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


def read_json(path: Path) -> dict:
    return json.loads(path.read_bytes().decode("utf-8"))


def staging_leftovers(root: Path) -> list[Path]:
    return [p for p in root.glob("documents/*/.staging/*")]


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=env,
    )


# ---------------------------------------------------------------------- documents


def test_create_list_and_find_documents(store: Store) -> None:
    first = store.create_document(
        "Register 1", main_script="Latin", read_direction="rtl", line_offset="topline"
    )
    second = store.create_document("  Register 2  ")
    assert second.name == "Register 2"

    listed = store.list_documents()
    assert [d.name for d in listed] == ["Register 2", "Register 1"]  # most recent change first
    assert all(d.page_count == 0 for d in listed)
    assert store.get_document(first.id).name == "Register 1"
    found = store.get_document("register 1")  # case-insensitive when unambiguous
    assert (found.id, found.main_script, found.read_direction, found.line_offset) == (
        first.id,
        "Latin",
        "rtl",
        "topline",
    )
    with pytest.raises(NotFoundError, match="Register 3"):
        store.get_document("Register 3")

    reopened = Store(store.root)
    assert {d.id for d in reopened.list_documents()} == {first.id, second.id}


def test_document_names_are_unique(store: Store) -> None:
    store.create_document("Codex")
    other = store.create_document("Other")
    with pytest.raises(ConflictError, match="already exists"):
        store.create_document("Codex")
    with pytest.raises(ConflictError, match="already exists"):
        store.create_document(" Codex ")
    with pytest.raises(ConflictError, match="needs a name"):
        store.create_document("   ")
    with pytest.raises(ConflictError, match="already exists"):
        store.rename_document(other.id, "Codex")
    assert sorted(d.name for d in store.list_documents()) == ["Codex", "Other"]


def test_rename_and_describe_a_document(store: Store, make_image) -> None:
    doc = store.create_document("Old name")
    add_pages(store, doc.id, make_image, ["a", "b"])
    store.rename_document("Old name", "New name")
    assert store.rename_document(doc.id, "New name").name == "New name"  # own name is free

    doc = store.get_document(doc.id)
    doc.description = "Letters, 1740–1750"
    doc.metadata = {"shelfmark": "MS 12", "language": "lat"}
    store.update_document(doc)

    reopened = Store(store.root).get_document(doc.id)
    assert reopened.name == "New name"
    assert reopened.description == "Letters, 1740–1750"
    assert reopened.metadata == {"shelfmark": "MS 12", "language": "lat"}
    assert reopened.page_count == 2  # saving attributes does not reset the page count
    with pytest.raises(NotFoundError):
        store.get_document("Old name")


def test_delete_document_removes_its_row_and_folder(store: Store, make_image) -> None:
    doc = store.create_document("Doomed")
    keep = store.create_document("Kept")
    add_pages(store, doc.id, make_image, ["a", "b"])
    add_pages(store, keep.id, make_image, ["c"])
    folder = store.document_dir(doc.id)
    assert len(list((folder / "images").iterdir())) == 2

    store.delete_document("Doomed")

    assert not folder.exists()
    assert not list(store.root.glob(".trash-*"))
    with pytest.raises(NotFoundError):
        store.get_document(doc.id)
    reopened = Store(store.root)
    assert [d.name for d in reopened.list_documents()] == ["Kept"]
    assert len(reopened.list_parts(keep.id)) == 1
    assert reopened.part_image_path(reopened.list_parts(keep.id)[0]).is_file()


def test_non_ascii_names_are_stored_as_utf8(store: Store) -> None:
    name = "Évangéliaire de Saint-Médard — 東大寺 ܟܬܒܐ"
    store.create_document(name, main_script="Syriac")
    raw = store.catalog_path.read_bytes()
    assert name.encode("utf-8") in raw
    assert b"\\u" not in raw  # not escaped
    assert Store(store.root).get_document(name).name == name


# ---------------------------------------------------------------------- schema, transactions


def test_schema_version_is_stored_and_a_newer_one_refused(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION
    catalog = read_json(store.catalog_path)
    assert [r["value"] for r in catalog["meta"].values() if r["key"] == "schema_version"] == [
        SCHEMA_VERSION
    ]

    for row in catalog["meta"].values():
        row["value"] = SCHEMA_VERSION + 1
    newer = json.dumps(catalog).encode()
    store.catalog_path.write_bytes(newer)
    with pytest.raises(StoreError, match=rf"newer esctui \(schema {SCHEMA_VERSION + 1}"):
        Store(store.root)
    assert store.catalog_path.read_bytes() == newer  # refused, not rewritten

    for row in catalog["meta"].values():
        row["value"] = SCHEMA_VERSION
    store.catalog_path.write_bytes(json.dumps(catalog).encode())
    assert Store(store.root).schema_version == SCHEMA_VERSION  # and the lock was released


def test_a_failed_transaction_rolls_back_state_and_moved_in_files(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    add_pages(store, doc.id, make_image, ["kept"])
    catalog_before = store.catalog_path.read_bytes()
    document_json = store.document_dir(doc.id) / "document.json"
    document_before = document_json.read_bytes()
    staged = stage(store, doc.id, make_image, ["p1", "p2"])

    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.create_document("Ghost")
        added, _ = store.add_parts(doc.id, staged)
        assert len(added) == 2
        assert all(store.part_image_path(p).exists() for p in added)  # moved in already
        raise RuntimeError("boom")

    assert [p.name for p in store.list_parts(doc.id)] == ["kept"]
    assert store.get_document(doc.id).page_count == 1
    with pytest.raises(NotFoundError):
        store.get_document("Ghost")
    assert not any(store.part_image_path(p).exists() for p in added)
    assert not any(store.part_thumbnail_path(p).exists() for p in added)
    assert len(list((store.document_dir(doc.id) / "images").iterdir())) == 1
    assert store.catalog_path.read_bytes() == catalog_before
    assert document_json.read_bytes() == document_before
    # The store is still usable after the rollback.
    store.create_document("After")
    assert Store(store.root).get_document("After")


# ---------------------------------------------------------------------- pages


def test_pages_added_in_order_reordered_moved_and_deleted(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    add_pages(store, doc.id, make_image, ["p1", "p2", "p3"])
    add_pages(store, doc.id, make_image, ["p4"])
    parts = store.list_parts(doc.id)
    assert [p.name for p in parts] == ["p1", "p2", "p3", "p4"]
    assert [p.order for p in parts] == [0, 1, 2, 3]
    for part in parts:
        assert store.part_image_path(part).is_file()
        assert store.part_thumbnail_path(part).is_file()
    by_name = {p.name: p.id for p in parts}
    assert not list((store.document_dir(doc.id) / ".staging").glob("*/*.png"))  # moved, not copied

    store.reorder_parts(doc.id, [by_name[n] for n in ["p3", "p1", "p4", "p2"]])
    assert [p.name for p in store.list_parts(doc.id)] == ["p3", "p1", "p4", "p2"]
    with pytest.raises(ConflictError):
        store.reorder_parts(doc.id, [by_name["p1"], by_name["p2"]])  # not every page
    with pytest.raises(ConflictError):
        store.reorder_parts(doc.id, [by_name[n] for n in ["p1", "p1", "p2", "p3"]])

    assert store.move_part(doc.id, by_name["p2"], -1) == 2
    assert [p.name for p in store.list_parts(doc.id)] == ["p3", "p1", "p2", "p4"]
    assert store.move_part(doc.id, by_name["p3"], -1) == 0  # already first: stays
    assert store.move_part(doc.id, by_name["p3"], +10) == 3  # clamped to the end
    assert [p.name for p in store.list_parts(doc.id)] == ["p1", "p2", "p4", "p3"]

    doomed = [p for p in store.list_parts(doc.id) if p.name in ("p2", "p3")]
    assert store.delete_parts(doc.id, [p.id for p in doomed]) == 2
    remaining = Store(store.root).list_parts(doc.id)
    assert [(p.name, p.order) for p in remaining] == [("p1", 0), ("p4", 1)]
    assert store.get_document(doc.id).page_count == 2
    for part in doomed:
        assert not store.part_image_path(part).exists()
        assert not store.part_thumbnail_path(part).exists()
    with pytest.raises(NotFoundError):
        store.get_part(doc.id, doomed[0].id)


def test_a_page_with_the_same_sha256_is_not_added_twice(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    [first] = add_pages(store, doc.id, make_image, ["p1"])
    [again] = stage(store, doc.id, make_image, ["p1"])  # same pixels, same bytes
    assert again.sha256 == first.sha256
    added, duplicates = store.add_parts(doc.id, [again])
    assert added == []
    assert [(d.sha256, existing) for d, existing in duplicates] == [(first.sha256, "p1")]
    assert len(store.list_parts(doc.id)) == 1
    assert store.known_hashes(doc.id) == {first.sha256: "p1"}


def test_page_layout_round_trip(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    version = store.create_transcription(doc.id, "manual", TranscriptionSource.MANUAL.value)
    region = Region(part_id=part.id, polygon=[(0, 0), (60, 0), (60, 80)])
    line = Line(part_id=part.id, baseline=[(1, 10), (50, 10)], region_id=region.id)
    text = LineText(line_id=line.id, transcription_id=version.id, text="ſanctus ꝑ")
    store.write_page_layout(doc.id, part.id, PageLayout([region], [line], [text]))

    layout = Store(store.root).read_page_layout(doc.id, part.id)
    assert layout.regions[0].polygon == [(0.0, 0.0), (60.0, 0.0), (60.0, 80.0)]
    assert layout.lines[0].baseline == [(1.0, 10.0), (50.0, 10.0)]
    assert layout.texts_for(version.id)[line.id].text == "ſanctus ꝑ"
    assert (
        store.get_part(doc.id, part.id).region_count,
        store.get_part(doc.id, part.id).line_count,
    ) == (1, 1)


# ---------------------------------------------------------------------- transcription versions


def test_transcription_versions(store: Store, make_image) -> None:
    doc = store.create_document("Codex")
    [part] = add_pages(store, doc.id, make_image, ["p1"])
    first = store.create_transcription(doc.id, "kraken", TranscriptionSource.XML.value)
    other = store.create_transcription(doc.id, "manual", TranscriptionSource.MANUAL.value)
    with pytest.raises(ConflictError, match="already exists"):
        store.create_transcription(doc.id, "kraken", TranscriptionSource.XML.value)
    with pytest.raises(ConflictError, match="needs a name"):
        store.create_transcription(doc.id, " ", TranscriptionSource.XML.value)
    assert store.create_transcription(doc.id, "kraken", "xml", reuse=True).id == first.id
    assert [v.name for v in store.list_transcriptions(doc.id)] == ["kraken", "manual"]

    with pytest.raises(ConflictError):
        store.rename_transcription(doc.id, "kraken", "manual")
    store.rename_transcription(doc.id, first.id, "kraken v1")
    assert store.get_transcription(doc.id, "kraken v1").id == first.id
    with pytest.raises(NotFoundError):
        store.get_transcription(doc.id, "kraken")

    line = Line(part_id=part.id, baseline=[(0, 5), (9, 5)])
    texts = [
        LineText(line_id=line.id, transcription_id=first.id, text="a"),
        LineText(line_id=line.id, transcription_id=other.id, text="b"),
    ]
    store.write_page_layout(doc.id, part.id, PageLayout([], [line], texts))
    store.delete_transcription(doc.id, "kraken v1")

    reopened = Store(store.root)
    assert [v.name for v in reopened.list_transcriptions(doc.id)] == ["manual"]
    layout = reopened.read_page_layout(doc.id, part.id)
    assert [(t.transcription_id, t.text) for t in layout.texts] == [(other.id, "b")]
    again = reopened.create_transcription(doc.id, "kraken v1", "xml")  # the name is free again
    assert again.id != first.id


# ---------------------------------------------------------------------- models


def test_models_visibility_and_permissions(tmp_path: Path) -> None:
    root = tmp_path / "data"
    alice, bob, carol = (Store(root, user=u) for u in ("alice", "bob", "carol"))

    def upload(store: Store, name: str) -> Model:
        file = tmp_path / f"{name}.mlmodel"
        file.write_bytes(name.encode() * 10)
        model = Model(
            name=name,
            filename=f"{name}-{store.user}.mlmodel",
            original_filename=file.name,
            owner=store.user,
            sha256=hashlib.sha256(file.read_bytes()).hexdigest(),
            byte_size=file.stat().st_size,
            kinds=["recognition"],
        )
        store.add_model(model, file)
        assert not file.exists()  # moved into the data folder
        return model

    mine = upload(alice, "latin")
    upload(bob, "greek")
    assert (root / "models" / mine.filename).is_file()
    with pytest.raises(ConflictError):
        upload(alice, "latin")

    assert [m.name for m in alice.list_models()] == ["latin"]
    assert [m.name for m in bob.list_models()] == ["greek"]
    with pytest.raises(NotFoundError):
        bob.get_model("latin")  # not shared: invisible

    alice.update_model("latin", shared_with=["bob"])
    assert [m.name for m in bob.list_models()] == ["greek", "latin"]
    assert carol.list_models() == []
    with pytest.raises(PermissionDeniedError, match="belongs to alice"):
        bob.update_model("latin", name="stolen")
    with pytest.raises(PermissionDeniedError):
        bob.delete_model("latin")
    assert alice.get_model("latin").name == "latin"
    assert alice.find_model_by_hash(mine.sha256).id == mine.id

    alice.update_model("latin", name="latin-v2")
    alice.delete_model("latin-v2")
    assert not (root / "models" / mine.filename).exists()
    assert [m.name for m in Store(root, user="bob").list_models()] == ["greek"]


# ---------------------------------------------------------------------- jobs, recovery


def test_jobs_are_saved_listed_and_found_by_id_prefix(store: Store) -> None:
    job = Job(kind="images", title="Images: 2 items into Codex", pid=os.getpid())
    store.save_job(job)
    job.status = JobStatus.DONE.value
    job.done = 2
    job.report.add_imported("a.jpg", "page 1")
    job.report.add_skipped("b.txt", "not an image file")
    store.save_job(job)
    later = Job(kind="pdf", title="PDF", started=job.started + 10)
    store.save_job(later)

    reopened = Store(store.root)
    assert [j.id for j in reopened.list_jobs()] == [later.id, job.id]
    found = reopened.get_job(job.id[:6])
    assert (found.status, found.done) == ("done", 2)
    assert [(i.name, i.reason) for i in found.report.skipped] == [("b.txt", "not an image file")]
    with pytest.raises(NotFoundError):
        reopened.get_job("zzzz")


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


# ---------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_atomic_write_failing_midway_leaves_the_old_content(tmp_path: Path) -> None:
    """A real write error after part of the data is written: the file-size limit (EFBIG)."""
    target = tmp_path / "catalog.json"
    target.write_bytes(b"old content")
    result = run_python(
        """
        import resource, signal, sys
        from pathlib import Path
        from esctui.store.atomic import atomic_write_bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            atomic_write_bytes(Path(sys.argv[1]), b"x" * 100_000)
        except OSError as error:
            print("failed", error.errno)
        else:
            print("written")
        """,
        str(target),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["failed", "27"]  # EFBIG, after 4096 bytes went to disk
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]  # temp file removed


def test_grouped_write_failing_on_one_file_leaves_every_file_old(tmp_path: Path) -> None:
    """write_files_durably: the second file hits the size limit before any rename happened."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_bytes(b"old a")
    second.write_bytes(b"old b")
    result = run_python(
        """
        import resource, signal, sys
        from pathlib import Path
        from esctui.store.atomic import write_files_durably
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_files_durably([(Path(sys.argv[1]), b"new a"), (Path(sys.argv[2]), b"x" * 100_000)])
        except OSError as error:
            print("failed", error.errno)
        else:
            print("written")
        """,
        str(first),
        str(second),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["failed", "27"]
    assert (first.read_bytes(), second.read_bytes()) == (b"old a", b"old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_grouped_write_replaces_every_file(tmp_path: Path) -> None:
    files = [(tmp_path / f"{i}.json", f"content {i}".encode()) for i in range(5)]
    files[0][0].write_bytes(b"old")
    write_files_durably(files)
    assert [path.read_bytes() for path, _ in files] == [data for _, data in files]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}.json" for i in range(5)]


def test_storage_writes_only_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"name": "Ørsted"}}})
    storage.close()
    assert not path.exists()  # closing never writes: an unflushed transaction is rolled back
    storage.flush()
    assert path.read_bytes() == '{"t":{"1":{"name":"Ørsted"}}}'.encode()
    assert not storage.changed_on_disk()
    atomic_write_bytes(path, b"{}")
    assert storage.changed_on_disk()


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
    sets = {tag: jpeg_copies(scan, tmp_path / tag, 15, f"{tag}{{}}.jpg") for tag in ("a", "b")}
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
        assert out.split()[:2] == ["done", "15"], out + err

    catalog = read_json(store.catalog_path)  # both files are whole JSON
    document = read_json(store.document_dir(doc.id) / "document.json")
    assert len(document["parts"]) == 30
    reopened = Store(store.root)
    parts = reopened.list_parts(doc.id)
    expected = {
        hashlib.sha256(p.read_bytes()).hexdigest() for files in sets.values() for p in files
    }
    assert {p.sha256 for p in parts} == expected
    assert sorted(p.order for p in parts) == list(range(30))
    tags = "".join(p.name[0] for p in parts)
    switches = sum(x != y for x, y in zip(tags, tags[1:], strict=False))
    assert switches >= 2, f"the two imports did not interleave: {tags}"
    for tag, files in sets.items():  # each process's pages keep their relative order
        names = [p.name for p in parts if p.name.startswith(tag)]
        assert names == [f.stem for f in files]
    assert reopened.get_document(doc.id).page_count == 30
    assert {r["page_count"] for r in catalog["documents"].values()} == {30}
    jobs = reopened.list_jobs()
    assert sorted((j.status, j.done) for j in jobs) == [("done", 15), ("done", 15)]
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
        with Image.open(reopened.part_thumbnail_path(part)) as thumb:
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
    from esctui.domain import Line

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
