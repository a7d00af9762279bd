"""Fixtures of the push/pull tests: a server target for the jobs, a corpus document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from esctui.jobs.remote.common import RemoteTarget
from esctui.store import Store
from tests.jobs.remote.support import corpus_document
from tests.servers.escriptorium import EscriptoriumServer


@pytest.fixture
def target(escriptorium: EscriptoriumServer) -> RemoteTarget:
    return RemoteTarget("dev", escriptorium.url, escriptorium.token)


@pytest.fixture
def http(escriptorium: EscriptoriumServer) -> Iterator[httpx.Client]:
    """Plain HTTP on the server's API, to look at its side without the client under test."""
    with escriptorium.http() as client:
        yield client


@pytest.fixture
def document(store: Store, tmp_path: Path, corpus: Path) -> str:
    """A local document: the corpus scan with its PAGE file (44 lines, 4 regions) imported
    through esctui's XML import as the version "corpus", plus two plain pages."""
    return corpus_document(store, tmp_path, corpus)
