"""``esctui push``, ``esctui pull``, ``esctui models push`` as real processes against a real
eScriptorium; the server's side looked at with plain HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from tests.cli.conftest import Run
from tests.cli.test_remote import no_token_in, ok
from tests.jobs.remote.support import corpus_document, server_side
from tests.servers.escriptorium import EscriptoriumServer

pytestmark = pytest.mark.remote


@pytest.fixture
def saved(esctui: Run, escriptorium: EscriptoriumServer) -> str:
    """The server saved as "dev" with its token."""
    ok(esctui("remote", "add", "dev", escriptorium.url, input=escriptorium.token + "\n"))
    return "dev"


def test_push_then_pull_from_the_command_line(
    esctui: Run, saved: str, store: Store, tmp_path: Path, corpus: Path,
    escriptorium: EscriptoriumServer, remote_project: dict, outputs: list,
) -> None:  # fmt: skip
    document = corpus_document(store, tmp_path, corpus)
    pushed = ok(esctui("push", "Register", "--remote", "dev", "--project", remote_project["slug"]))
    assert "note      0 pages already there, 0 changed, 3 new" in pushed.stdout
    assert "done:" in pushed.stdout
    again = ok(esctui("push", "Register", "--remote", "dev", "--json"))
    record = json.loads(again.stdout)
    assert record["status"] == "done"
    assert record["report"]["notes"][0] == "3 pages already there, 0 changed, 0 new"
    number = RemoteLinks(store, document, escriptorium.url).load().document
    with escriptorium.http() as http:
        assert len(server_side(http, number)["pages"]) == 3
    pulled = ok(esctui("pull", "dev", str(number), "--into", "Register"))
    assert "3 pages already here were not fetched again" in pulled.stdout
    fresh = ok(esctui("pull", "dev", "nine"), 2)
    assert "REMOTE_DOC is the document's number on the server" in fresh.stderr
    no_token_in(outputs, escriptorium.token)


def test_a_wrong_token_is_a_sentence_and_exit_status_1(
    esctui: Run, escriptorium: EscriptoriumServer, store: Store, tmp_path: Path, corpus: Path,
    remote_project: dict, outputs: list,
) -> None:  # fmt: skip
    wrong = "0" * 40
    ok(esctui("remote", "add", "dev", escriptorium.url, input=wrong + "\n"))
    corpus_document(store, tmp_path, corpus)
    for command in (
        ("push", "Register", "--remote", "dev", "--project", remote_project["slug"]),
        ("pull", "dev", "1"),
        ("remote", "segment", "dev", "1"),
        ("models", "push", str(corpus / "models" / "overfit.mlmodel"), "--remote", "dev"),
    ):
        result = ok(esctui(*command), 1)
        assert "esctui remote login dev --user USER" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    no_token_in(outputs, wrong)
