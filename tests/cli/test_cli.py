"""The ``esctui`` command, run as a real process (``python -m esctui``) on a data folder in tmp."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from esctui.cli import build_parser

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def esctui(data_dir: Path) -> Run:
    """``esctui(*args, env=..., input=...)``: run the command with ESCTUI_DATA in tmp."""

    def run(*args: str | Path, env: dict | None = None, input: str | None = None):
        full_env = {**os.environ, "ESCTUI_DATA": str(data_dir), "COLUMNS": "200"}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "esctui", *map(str, args)],
            capture_output=True,
            text=True,
            env=full_env,
            input=input,
            timeout=120,
        )

    return run


def ok(result: subprocess.CompletedProcess, status: int = 0) -> subprocess.CompletedProcess:
    assert result.returncode == status, f"{result.args}\n{result.stdout}\n{result.stderr}"
    return result


def as_json(result: subprocess.CompletedProcess):
    return json.loads(ok(result).stdout)


# ---------------------------------------------------------------------- documents


def test_document_lifecycle(esctui: Run, data_dir: Path) -> None:
    assert "No documents yet" in ok(esctui("documents", "list")).stdout
    created = ok(
        esctui(
            "documents",
            "create",
            "Register 1748",
            "--script",
            "Latin",
            "--direction",
            "rtl",
            "--line-offset",
            "topline",
        )
    )
    assert "created 'Register 1748'" in created.stdout

    listing = ok(esctui("documents", "list")).stdout.splitlines()
    assert listing[0].split() == ["NAME", "PAGES", "SCRIPT", "DIR", "CHANGED"]
    assert listing[1].split()[:5] == ["Register", "1748", "0", "Latin", "rtl"]

    assert (
        "renamed to 'Register 1749'"
        in ok(esctui("documents", "rename", "Register 1748", "Register 1749")).stdout
    )
    ok(esctui("documents", "describe", "register 1749", "--text", "Parish register"))
    ok(esctui("documents", "describe", "Register 1749", "--set", "shelfmark = MS 7"))
    ok(esctui("documents", "describe", "Register 1749", "--set", "x=1", "--unset", "x"))
    shown = ok(esctui("documents", "show", "Register 1749")).stdout
    assert "script: Latin  direction: rtl  line offset: topline" in shown
    assert "Parish register" in shown
    assert "shelfmark: MS 7" in shown
    assert "x: 1" not in shown

    doc = as_json(esctui("documents", "show", "Register 1749", "--json"))
    folder = data_dir / "documents" / doc["id"]
    assert folder.is_dir()
    ok(esctui("documents", "delete", "Register 1749", "--yes"))
    assert not folder.exists()
    assert "No documents yet" in ok(esctui("documents", "list")).stdout


def test_document_errors_exit_non_zero_with_a_message(esctui: Run) -> None:
    ok(esctui("documents", "create", "Codex"))
    result = ok(esctui("documents", "create", "Codex"), 1)
    assert "already exists" in result.stderr and result.stderr.startswith("esctui: ")
    result = ok(esctui("documents", "rename", "Nope", "Other"), 1)
    assert "No document named 'Nope'" in result.stderr
    result = ok(esctui("documents", "describe", "Codex", "--set", "novalue"), 2)
    assert "KEY=VALUE" in result.stderr

    refused = ok(esctui("documents", "delete", "Codex"), 2)  # stdin is not a terminal
    assert "--yes" in refused.stderr
    assert "Codex" in ok(esctui("documents", "list")).stdout

    ok(esctui("documents", "frobnicate"), 2)  # usage error
    ok(esctui("documents"), 2)


def test_json_output_parses(esctui: Run) -> None:
    name = "Évangéliaire — 東大寺"
    created = as_json(esctui("documents", "create", name, "--json"))
    assert created["name"] == name
    assert name in esctui("documents", "list", "--json").stdout  # UTF-8, not \u escapes
    [listed] = as_json(esctui("--json", "documents", "list"))
    assert (listed["id"], listed["page_count"]) == (created["id"], 0)
    renamed = as_json(esctui("documents", "rename", created["id"], "Codex", "--json"))
    assert renamed["name"] == "Codex"
    described = as_json(esctui("documents", "describe", "Codex", "--set", "k=v", "--json"))
    assert described["metadata"] == {"k": "v"}
    shown = as_json(esctui("documents", "show", "Codex", "--json"))
    assert (shown["parts"], shown["transcriptions"]) == ([], [])
    assert as_json(esctui("jobs", "--json")) == []
    assert as_json(esctui("documents", "delete", "Codex", "--yes", "--json")) == {
        "deleted": created["id"]
    }


def test_data_dir_option_before_or_after_the_command(esctui: Run, tmp_path: Path) -> None:
    other = tmp_path / "other"
    ok(esctui("--data-dir", other, "documents", "create", "Before"))
    ok(esctui("documents", "create", "After", "--data-dir", other))
    ok(esctui("documents", "--data-dir", other, "create", "Middle"))

    names = {d["name"] for d in as_json(esctui("documents", "list", "--json", "--data-dir", other))}
    assert names == {"Before", "After", "Middle"}
    assert as_json(esctui("documents", "list", "--json")) == []  # ESCTUI_DATA untouched
    env_only = as_json(esctui("documents", "list", "--json", env={"ESCTUI_DATA": str(other)}))
    assert len(env_only) == 3
    assert (other / "catalog.json").is_file()


# ---------------------------------------------------------------------- import, jobs


@pytest.fixture
def scans(make_image, tmp_path: Path) -> list[Path]:
    return [make_image(tmp_path / "scans" / f"f{i}.png") for i in (1, 2, 10)]


def test_import_images_exit_status(esctui: Run, scans: list[Path], tmp_path: Path) -> None:
    ok(esctui("documents", "create", "Codex"))

    result = ok(esctui("import", "images", "Codex", scans[0].parent))
    assert "imported  f1.png  (page 1)" in result.stdout
    assert "done: 3 imported, 0 skipped" in result.stdout
    assert "progress  3/3" in result.stderr  # plain progress lines when not on a terminal

    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    result = ok(esctui("import", "images", "Codex", junk, scans[1]), 3)
    assert f"skipped   {junk}: not an image file" in result.stdout
    assert "exact duplicate of page 'f2'" in result.stdout

    result = ok(esctui("import", "images", "Nope", scans[0]), 1)
    assert result.stderr.strip() == "esctui: No document named 'Nope'."
    assert result.stdout == ""

    ok(esctui("import", "images", "Codex"), 2)  # no paths: usage error
    pages = as_json(esctui("documents", "show", "Codex", "--json"))["parts"]
    assert [p["name"] for p in pages] == ["f1", "f2", "f10"]


def test_import_json_and_jobs(esctui: Run, scans: list[Path], tmp_path: Path) -> None:
    ok(esctui("documents", "create", "Codex"))
    job = json.loads(
        ok(
            esctui("import", "images", "Codex", *scans, tmp_path / "missing.png", "--json"), 3
        ).stdout
    )
    assert (job["status"], job["kind"], job["done"], job["total"]) == ("done", "images", 3, 3)
    assert [i["name"] for i in job["report"]["imported"]] == ["f1.png", "f2.png", "f10.png"]
    assert job["report"]["skipped"] == [
        {"name": str(tmp_path / "missing.png"), "reason": "no such file or folder"}
    ]
    assert job["pid"] > 0 and job["finished"] >= job["started"]

    listing = ok(esctui("jobs")).stdout.splitlines()
    assert listing[0].split()[:4] == ["JOB", "STARTED", "KIND", "STATUS"]
    assert listing[1].startswith(job["id"]) and " done " in listing[1]
    assert "3 imported, 1 skipped" in listing[1]

    report = ok(esctui("jobs", job["id"])).stdout  # 0: showing a report is a success
    assert "imported  f10.png  (page 3)" in report
    assert f"done: 3 imported, 1 skipped  [job {job['id']}]" in report
    assert ok(esctui("jobs", job["id"][:5], "--json")).stdout.count(job["id"]) == 1
    [listed] = as_json(esctui("jobs", "--json"))
    assert listed["id"] == job["id"]

    missing = ok(esctui("jobs", "zzzz"), 1)
    assert "No job 'zzzz'" in missing.stderr


def test_a_failed_store_is_a_clear_error(esctui: Run, data_dir: Path) -> None:
    ok(esctui("documents", "list"))
    catalog = json.loads((data_dir / "catalog.json").read_text())
    for row in catalog["meta"].values():
        row["value"] = 999
    (data_dir / "catalog.json").write_text(json.dumps(catalog))
    result = ok(esctui("documents", "list"), 1)
    assert "newer esctui" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------- help


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, (*prefix, name))


def test_help_on_every_command(esctui: Run) -> None:
    commands = list(_commands(build_parser()))
    assert {("documents", "list"), ("import", "images"), ("jobs",)} <= set(commands)
    for command in commands:
        result = ok(esctui(*command, "--help"))
        assert result.stdout.startswith("usage: esctui"), command
        assert result.stderr == ""


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"data_dir": None, "user": None}),
        (["--data-dir", "/d"], {"data_dir": "/d", "user": None}),
        (["--data-dir=/d", "--user", "ann"], {"data_dir": "/d", "user": "ann"}),
        (["documents", "list"], None),
        (["--help"], None),
        (["--data-dir"], None),  # a missing value goes to argparse for its error message
        (["--json"], None),
    ],
)
def test_only_a_bare_or_data_dir_command_line_takes_the_fast_tui_path(argv, expected) -> None:
    from esctui.cli import tui_options

    assert tui_options(argv) == expected


def test_show_lists_the_typology_and_a_page_delete_updates_it(esctui: Run, data_dir: Path) -> None:
    from PIL import Image

    from esctui.domain import Line, Region
    from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image
    from esctui.store import PageLayout, Store

    ok(esctui("documents", "create", "Typed"))
    store = Store(data_dir)
    doc = store.get_document("Typed")
    staging = store.new_staging_dir(doc.id)
    staged = []
    for name in ("a", "b"):
        path = staging / f"{name}.png"
        Image.new("RGB", (40 + len(staged), 30), "white").save(path)
        staged += prepare_image(path, staging, DEFAULT_MAX_PIXELS)
    first, second = store.add_parts(doc.id, staged)[0]
    for part, kinds in ((first, ["main", "margin"]), (second, ["main"])):
        regions = [Region(part.id, [(0, 0), (9, 0), (9, 9)], type=kind) for kind in kinds]
        lines = [Line(part.id, baseline=[(0, 5), (9, 5)], type="heading")]
        store.write_page_layout(doc.id, part.id, PageLayout(regions=regions, lines=lines))
    store.close()
    shown = ok(esctui("documents", "show", "Typed")).stdout
    assert "region types: main 2, margin 1" in shown
    assert "line types: heading 2" in shown

    store = Store(data_dir)
    store.delete_parts(doc.id, [first.id])
    assert store.get_document(doc.id).typology == {"regions": {"main": 1}, "lines": {"heading": 1}}
