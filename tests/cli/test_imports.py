"""PDF import and model upload through the real CLI (subprocess), on the shared corpus."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.helpers import CORPUS
from tests.helpers import run_esctui as esctui

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus is not there")


def test_pdf_pages_are_stored_byte_for_byte(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert esctui(data, "documents", "create", "P").returncode == 0
    result = esctui(data, "import", "pdf", "P", str(CORPUS / "pdf" / "three_scans.pdf"))
    assert result.returncode == 0, result.stderr
    shown = json.loads(esctui(data, "documents", "show", "P", "--json").stdout)
    assert [p["name"] for p in shown["parts"]] == [f"three_scans_{i}" for i in (1, 2, 3)]
    expected = ["170025120000003,0074.jpg", "0014.jpg", "input.jpg"]
    for part, image in zip(shown["parts"], expected, strict=True):
        assert (
            part["sha256"] == hashlib.sha256((CORPUS / "images" / image).read_bytes()).hexdigest()
        )


def test_encrypted_and_non_pdf_files_fail_clearly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    esctui(data, "documents", "create", "P")
    fake = tmp_path / "notes.pdf"
    fake.write_text("just text")
    result = esctui(data, "import", "pdf", "P", str(fake))
    assert result.returncode == 1
    assert "notes.pdf" in result.stderr
    shown = json.loads(esctui(data, "documents", "show", "P", "--json").stdout)
    assert shown["parts"] == []


def test_non_model_file_is_refused_and_nothing_stored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    noise = tmp_path / "noise.mlmodel"
    noise.write_bytes(os.urandom(4096))
    result = esctui(data, "models", "add", str(noise), "--name", "noise")
    assert result.returncode == 1 and "noise.mlmodel" in result.stderr
    assert json.loads(esctui(data, "models", "list", "--json").stdout) == []
    assert not any((data / "models").iterdir())


@pytest.mark.slow
def test_recognition_model_is_added_typed_and_recognised_twice(tmp_path: Path) -> None:
    data = tmp_path / "data"
    model = CORPUS / "models" / "overfit.mlmodel"
    result = esctui(data, "models", "add", str(model), "--name", "rec")
    assert result.returncode == 0, result.stderr
    [listed] = json.loads(esctui(data, "models", "list", "--json").stdout)
    assert listed["name"] == "rec" and listed["kinds"] == ["recognition"]
    again = esctui(data, "models", "add", str(model), "--name", "rec2")
    assert again.returncode == 1 and "same file" in again.stderr


def test_an_encrypted_pdf_imports_with_its_password_from_stdin(tmp_path: Path) -> None:
    import pymupdf

    locked = tmp_path / "locked.pdf"
    with pymupdf.open(CORPUS / "pdf" / "three_scans.pdf") as pdf:
        pdf.save(locked, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o")
    data = tmp_path / "data"
    esctui(data, "documents", "create", "P")
    refused = esctui(data, "import", "pdf", "P", str(locked))
    assert refused.returncode == 1 and "no password was given" in refused.stderr
    imported = esctui(data, "import", "pdf", "P", str(locked), "--password", input="u\n")
    assert imported.returncode == 0, imported.stderr
    shown = json.loads(esctui(data, "documents", "show", "P", "--json").stdout)
    assert len(shown["parts"]) == 3
