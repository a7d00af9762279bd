"""EscriptoriumClient's handling of what a server sends, against the local fault server: the
cases a healthy eScriptorium does not produce on demand (a proxy's host in ``next`` links,
overload, HTML where JSON belongs). The real server's behaviour is in test_escriptorium.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from esctui.net.escriptorium import EscriptoriumClient, RemoteServerError
from esctui.net.http import RequestLimits
from tests.servers.faults import Answer, FaultServer

TOKEN = "a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0"
FAST = RequestLimits(retries=2, backoff=0.01, deadline=10)


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


def page(results: list, next_url: str | None) -> Answer:
    body = {"count": 3, "next": next_url, "previous": None, "results": results}
    return Answer(body=json.dumps(body).encode())


async def test_next_links_are_followed_on_our_own_address(server: FaultServer) -> None:
    """A server behind a proxy may write its internal name in `next`: the token must not go
    there, and the list must still be read whole."""
    server.plan(
        "/api/documents/",
        page([{"pk": 1, "name": "a"}], "http://internal.invalid:8000/api/documents/?page=2"),
        page([{"pk": 2, "name": "b"}, {"pk": 1, "name": "a"}], "/api/documents/?page=3"),
        page([{"pk": 3, "name": "c"}], None),
    )
    async with EscriptoriumClient(server.base_url, TOKEN, limits=FAST) as escr:
        items = await escr.all_pages("documents/", action="list the documents")
    assert [item["pk"] for item in items] == [1, 2, 3]  # the repeated item once
    hits = server.hits("/api/documents/")
    assert [h.query for h in hits] == [{"paginate_by": "50"}, {"page": "2"}, {"page": "3"}]
    assert {h.headers["authorization"] for h in hits} == {f"Token {TOKEN}"}


async def test_an_overloaded_server_is_retried_then_named(server: FaultServer) -> None:
    server.plan("/api/users/current/", Answer(status=503, body=b"<html>busy</html>", repeat=True))
    async with EscriptoriumClient(server.base_url, TOKEN, limits=FAST) as escr:
        with pytest.raises(RemoteServerError) as caught:
            await escr.current_user()
    assert str(caught.value) == (
        f"{escr.host} is not available (503 Service Unavailable) and could not say who you "
        "are; try again later (tried 3 times)"
    )


async def test_html_instead_of_json_is_not_an_escriptorium_answer(server: FaultServer) -> None:
    server.plan(
        "/api/users/current/",
        Answer(body=b"<!DOCTYPE html><html>login</html>", content_type="text/html"),
    )
    async with EscriptoriumClient(server.base_url + "/api/", TOKEN, limits=FAST) as escr:
        assert escr.api_url == server.base_url + "/api/"
        with pytest.raises(RemoteServerError) as caught:
            await escr.current_user()
    assert "did not answer like an eScriptorium server" in str(caught.value)
    assert "<html" not in str(caught.value)


async def test_a_redirect_to_another_host_is_refused_with_the_token_kept(
    server: FaultServer,
) -> None:
    server.plan(
        "/api/documents/3/",
        Answer(status=302, headers={"Location": "https://login.example.org/"}, body=b""),
    )
    from esctui.net.http import RedirectError

    async with EscriptoriumClient(server.base_url, TOKEN, limits=FAST) as escr:
        with pytest.raises(RedirectError) as caught:
            await escr.document(3)
    assert "login.example.org" in str(caught.value) and TOKEN not in str(caught.value)
