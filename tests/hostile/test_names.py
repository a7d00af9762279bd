"""Names from files and servers: stored losslessly when they are not UTF-8, and never sent raw
to the terminal by any command (report lines, progress, lists, documents show, jobs, errors)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from esctui.store import Store
from esctui.store.names import name_bytes, stored_name
from tests.helpers import make_image, run_esctui
from tests.hostile import builders as b


def test_a_non_utf8_name_is_imported_and_kept_losslessly(tmp_path: Path) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    raw = b"folio \xff\xfe 1.png"
    bad = b.bytes_name(folder, raw, text="bad")
    make_image(folder / "good.png", text="good")
    data = tmp_path / "data"
    assert run_esctui(data, "documents", "create", "D").returncode == 0
    result = run_esctui(data, "import", "images", "D", str(folder))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "imported  folio \\xff\\xfe 1.png  (page 1)" in result.stdout
    store = Store(data)
    parts = store.list_parts(store.get_document("D").id)
    assert [p.original_filename for p in parts] == ["folio \\xff\\xfe 1.png", "good.png"]
    assert name_bytes(parts[0].original_filename) == raw  # turned back into the same bytes
    assert name_bytes(parts[0].source) == os.fsencode(bad.resolve())
    for record in data.rglob("*.json"):  # every store file is valid UTF-8 JSON
        json.loads(record.read_bytes().decode("utf-8"))


def test_stored_names() -> None:
    assert stored_name("Folio 1r — Šibenik.png") == "Folio 1r — Šibenik.png"  # valid: unchanged
    for raw in (b"a\xff.png", b"back\\slash\xe9.tif", b"\xc3\xa9t\xe9.jpg"):
        kept = stored_name(os.fsdecode(raw))
        kept.encode("utf-8")  # valid Unicode
        assert name_bytes(kept) == raw


def test_a_lone_surrogate_in_a_record_is_written_and_read_back(store: Store) -> None:
    """The store's JSON writer never fails on a name with lone surrogates (a safety net)."""
    document = store.create_document("d\udcff")
    again = Store(store.root)
    assert again.get_document(document.id).name == "d\udcff"


def test_no_command_sends_a_name_raw_to_the_terminal(tmp_path: Path) -> None:
    data = tmp_path / "data"
    title = "Register\x1b]0;pwned\x07\nesctui: forged"
    assert run_esctui(data, "documents", "create", title).returncode == 0
    image = make_image(tmp_path / b.ESCAPE_NAME, text="evil")
    store = Store(data)
    doc_id = store.list_documents()[0].id
    runs = [
        run_esctui(data, "import", "images", doc_id, str(image)),
        run_esctui(data, "documents", "list"),
        run_esctui(data, "documents", "show", doc_id),
        run_esctui(data, "documents", "show", doc_id, "--json"),
        run_esctui(data, "jobs"),
        run_esctui(data, "documents", "show", "missing\x1b[2J\nesctui: forged"),
    ]
    job_id = Store(data).list_jobs()[0].id
    runs.append(run_esctui(data, "jobs", job_id))
    for result in runs:
        for stream in (result.stdout, result.stderr):
            assert "\x1b" not in stream and "\x07" not in stream, result.args
            lines = stream.splitlines()
            assert not any(
                line.startswith(("esctui: forged", "imported  forged")) for line in lines
            )
        assert "Traceback" not in result.stderr
    assert "Register\\x1b]0;pwned\\x07\\nesctui: forged" in runs[1].stdout
    assert "evil\\x1b]0;pwned\\x07\\nimported  forged\\x1b[2J" in runs[0].stdout
    shown = json.loads(runs[3].stdout)
    assert shown["name"] == title  # JSON keeps the name itself, escaped for the terminal
