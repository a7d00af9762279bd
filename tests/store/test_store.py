"""The store: documents, pages, versions, models, jobs, transactions and the schema.

Crash recovery and several processes on one folder are in test_recovery.py, atomic writes in
test_atomic.py.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

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
from esctui.store import SCHEMA_VERSION, PageLayout, Store
from tests.helpers import add_pages, read_json, stage

SUBPROCESS_TIMEOUT = 120


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


def test_reading_every_page_holds_a_bounded_number_of_page_files(store: Store, make_image) -> None:
    from esctui.store.database import LET_GO_IN_BATCHES_OF, MAX_HELD_PAGE_FILES

    bound = MAX_HELD_PAGE_FILES + LET_GO_IN_BATCHES_OF

    doc = store.create_document("Register")
    parts = add_pages(store, doc.id, make_image, [f"p{n}" for n in range(bound + 40)])
    version = store.create_transcription(doc.id, "v", TranscriptionSource.XML.value)

    def layout(part_id: str, text: str) -> PageLayout:
        line = Line(part_id=part_id, baseline=[(0, 5), (9, 5)])
        return PageLayout([], [line], [LineText(line.id, version.id, text)])

    pages = store.document_dir(doc.id) / "pages"
    with store.transaction():  # one transaction changes more pages than are held: none lost
        for part in parts:
            store.write_page_layout(doc.id, part.id, layout(part.id, part.name))
        assert len(store._database.held_below(pages)) == len(parts)  # changed: all kept
    assert len(store._database.held_below(pages)) <= bound  # written: let go of
    for part in parts:
        [text] = store.read_page_layout(doc.id, part.id).texts
        assert text.text == part.name
        assert len(store._database.held_below(pages)) <= bound
    reopened = Store(store.root)
    assert [reopened.read_page_layout(doc.id, p.id).texts[0].text for p in parts] == [
        p.name for p in parts
    ]


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
