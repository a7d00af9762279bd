"""esctui.net.http against a real local HTTP server that misbehaves (tests/servers/faults.py)."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import io
import shutil
import socket
import ssl
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from esctui.net.http import (
    DECODE_PIECE,
    CouldNotConnectError,
    DeadlineError,
    HttpClient,
    HttpStatusError,
    NetError,
    RedirectError,
    RequestLimits,
    ResponseTooLargeError,
    TlsError,
    display_url,
    redact,
    retry_after_seconds,
)
from tests.servers.faults import Answer, FaultServer

FAST = RequestLimits(connect_timeout=2, idle_timeout=5, deadline=10, backoff=0.05, retries=3)
TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with FaultServer() as running:
        yield running


async def get(url: str, limits: RequestLimits = FAST, **options):
    async with HttpClient(limits, secrets=[TOKEN]) as http:
        return await http.send(options.pop("method", "GET"), url, **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ------------------------------------------------------------------------------ plain answers


async def test_a_json_answer_with_our_user_agent(server: FaultServer) -> None:
    response = await get(server.url("/hello"), params={"page": 2})
    assert response.status == 200
    echoed = response.json()
    assert echoed["query"] == {"page": "2"}
    assert echoed["headers"]["user-agent"].startswith("esctui/")


async def test_a_file_is_uploaded_from_disk_and_sent_again_on_retry(
    server: FaultServer, tmp_path: Path
) -> None:
    page = tmp_path / "folio 1,2.jpg"
    page.write_bytes(b"\xff\xd8" + b"x" * 200_000)
    server.plan("/upload", Answer(status=503, body=b"busy"))
    response = await get(
        server.url("/upload"),
        method="POST",
        files={"image": (page.name, page, "image/jpeg")},
        data={"title": "f. 1"},
    )
    echoed = response.json()
    assert echoed["files"] == ["folio 1,2.jpg"]
    first, second = server.hits("/upload")
    assert len(first.body) == len(second.body) > 200_000  # the whole file, twice


async def test_a_body_can_go_into_a_file(server: FaultServer) -> None:
    server.plan("/media", Answer(body=b"abc" * 1000, content_type="image/jpeg", chunks=3))
    sink = io.BytesIO()
    response = await get(server.url("/media"), into=sink)
    assert response.content == b"" and response.size == 9000
    assert sink.getvalue() == b"abc" * 3000


# ------------------------------------------------------------------------------ time limits


async def test_a_trickling_server_hits_the_total_deadline(server: FaultServer) -> None:
    """One byte every 0.2 s never trips the idle timeout (5 s) but the 1.5 s deadline ends it."""
    server.plan("/slow", Answer(body=b"x" * 100, trickle=0.2))
    started = time.monotonic()
    with pytest.raises(DeadlineError) as caught:
        await get(server.url("/slow"), FAST.with_(deadline=1.5))
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 3.0
    message = str(caught.value)
    assert server.base_url.removeprefix("http://") in message
    assert "within 1.5 s" in message and "/slow" in message
    # the connection pool is still usable after the cancelled request
    assert (await get(server.url("/after"))).status == 200


async def test_a_silent_server_hits_the_idle_timeout_and_is_retried(server: FaultServer) -> None:
    server.plan("/hang", Answer(hang=30, repeat=True))
    with pytest.raises(DeadlineError) as caught:
        await get(server.url("/hang"), FAST.with_(idle_timeout=0.5, retries=1))
    assert "did not answer anything for 0.5 s" in str(caught.value)
    assert "(tried 2 times)" in str(caught.value)
    assert len(server.hits("/hang")) == 2


async def test_a_silent_server_is_not_retried_for_a_post(server: FaultServer) -> None:
    """The server may have acted on a POST it did not answer: sending it again could repeat it."""
    server.plan("/hang", Answer(hang=30, repeat=True))
    with pytest.raises(DeadlineError):
        await get(server.url("/hang"), FAST.with_(idle_timeout=0.5), method="POST", json={})
    assert len(server.hits("/hang")) == 1


# ------------------------------------------------------------------------------ retries


async def test_429_with_retry_after_seconds_is_honoured(server: FaultServer) -> None:
    server.plan("/busy", Answer(status=429, headers={"Retry-After": "1"}, body=b"{}"))
    response = await get(server.url("/busy"), method="POST", json={"a": 1})
    assert response.status == 200
    first, second = server.hits("/busy")
    assert second.at - first.at >= 0.95  # the server's wait, not the 0.05 s backoff


async def test_503_with_retry_after_as_an_http_date_is_honoured(server: FaultServer) -> None:
    when = email.utils.formatdate(time.time() + 2, usegmt=True)  # 1-2 s ahead (whole seconds)
    server.plan("/busy", Answer(status=503, headers={"Retry-After": when}, body=b""))
    await get(server.url("/busy"))
    first, second = server.hits("/busy")
    assert second.at - first.at >= 0.9


async def test_a_retry_after_longer_than_the_cap_fails_at_once(server: FaultServer) -> None:
    server.plan("/busy", Answer(status=429, headers={"Retry-After": "3600"}, body=b""))
    started = time.monotonic()
    with pytest.raises(HttpStatusError) as caught:
        await get(server.url("/busy"), FAST.with_(max_retry_after=5))
    assert time.monotonic() - started < 1
    assert caught.value.status == 429
    assert "asked to wait 3600 s" in str(caught.value) and "5 s" in str(caught.value)


def test_retry_after_values() -> None:
    assert retry_after_seconds("7") == 7
    assert retry_after_seconds(" 2.5 ") == 2.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470) == 10
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


async def test_502_is_retried_for_a_get_but_not_for_a_post(server: FaultServer) -> None:
    server.plan("/gw", Answer(status=502, body=b"<html>bad gateway</html>"))
    assert (await get(server.url("/gw"))).status == 200
    assert len(server.hits("/gw")) == 2
    server.plan("/gw", Answer(status=502, body=b"<html>bad gateway</html>"))
    with pytest.raises(HttpStatusError) as caught:
        await get(server.url("/gw"), method="POST", json={})
    assert caught.value.status == 502 and len(server.hits("/gw")) == 3
    assert "<html>" not in str(caught.value)


async def test_retries_give_up_and_say_how_often_they_tried(server: FaultServer) -> None:
    server.plan("/down", Answer(status=504, body=b"", repeat=True))
    with pytest.raises(HttpStatusError) as caught:
        await get(server.url("/down"), FAST.with_(retries=2))
    assert "504 Gateway Timeout" in str(caught.value)
    assert "(tried 3 times)" in str(caught.value)


async def test_a_refused_connection_is_a_sentence_naming_the_host() -> None:
    port = free_port()
    with pytest.raises(CouldNotConnectError) as caught:
        await get(f"http://127.0.0.1:{port}/api/", FAST.with_(retries=1), method="POST", json={})
    message = str(caught.value)
    assert f"could not connect to 127.0.0.1:{port}" in message
    assert "connection refused" in message and "(tried 2 times)" in message


async def test_an_error_status_keeps_its_body_out_of_the_message(server: FaultServer) -> None:
    page = b"<!DOCTYPE html><html><body>Traceback (most recent call last) ...</body></html>"
    server.plan("/boom", Answer(status=500, body=page, content_type="text/html"))
    with pytest.raises(HttpStatusError) as caught:
        await get(server.url("/boom"))
    error = caught.value
    assert error.status == 500 and error.body == page and error.json() is None
    assert str(error) == f"{server.base_url[7:]} answered 500 Internal Server Error to GET " + (
        server.url("/boom")
    )


# ------------------------------------------------------------------------------ redirects


async def test_a_redirect_on_the_same_host_is_followed(server: FaultServer) -> None:
    server.plan("/old", Answer(status=301, headers={"Location": "/new?x=1"}, body=b""))
    response = await get(server.url("/old"))
    assert response.json()["path"] == "/new"


async def test_a_redirect_to_another_host_is_refused_and_named(server: FaultServer) -> None:
    port = free_port()  # nothing listens there: following it would say "could not connect"
    elsewhere = f"http://localhost:{port}/api/documents/"
    server.plan("/api/documents/", Answer(status=302, headers={"Location": elsewhere}, body=b""))
    with pytest.raises(RedirectError) as caught:
        await get(server.url("/api/documents/"), headers={"Authorization": f"Token {TOKEN}"})
    message = str(caught.value)
    assert f"localhost:{port}" in message and "another server" in message
    assert "could not connect" not in message and TOKEN not in message


async def test_a_followed_redirect_to_another_host_drops_the_token(server: FaultServer) -> None:
    with FaultServer() as other:
        target = other.url("/image.jpg").replace("127.0.0.1", "localhost")
        server.plan("/iiif", Answer(status=307, headers={"Location": target}, body=b""))
        response = await get(
            server.url("/iiif"),
            FAST.with_(follow_other_hosts=True),
            headers={"Authorization": f"Token {TOKEN}"},
        )
        assert response.json()["path"] == "/image.jpg"
        assert "authorization" not in other.hits("/image.jpg")[0].headers
        assert server.hits("/iiif")[0].headers["authorization"] == f"Token {TOKEN}"


async def test_a_redirect_loop_is_bounded(server: FaultServer) -> None:
    server.plan("/loop", Answer(status=302, headers={"Location": "/loop"}, body=b"", repeat=True))
    with pytest.raises(RedirectError) as caught:
        await get(server.url("/loop"), FAST.with_(max_redirects=3))
    assert "more than 3 times" in str(caught.value)
    assert len(server.hits("/loop")) == 4


async def test_a_303_turns_a_post_into_a_get(server: FaultServer) -> None:
    server.plan("/form", Answer(status=303, headers={"Location": "/result"}, body=b""))
    response = await get(server.url("/form"), method="POST", json={"a": 1})
    assert response.json()["method"] == "GET"


# ------------------------------------------------------------------------------ byte cap


async def test_a_body_over_the_cap_is_refused_while_streaming(server: FaultServer) -> None:
    chunk = b"[" + b"1," * 32_000 + b"1]"  # 64 KB of valid JSON, sent 40 times: 2.5 MB
    server.plan("/list", Answer(body=chunk, chunks=40))
    with pytest.raises(ResponseTooLargeError) as caught:
        await get(server.url("/list"), FAST.with_(max_bytes=1024 * 1024))
    message = str(caught.value)
    assert "larger than 1 MB" in message and server.base_url[7:] in message


async def test_a_declared_length_over_the_cap_is_refused_before_reading(
    server: FaultServer,
) -> None:
    server.plan("/big", Answer(body=b"x" * 10, declare_length=10 * 1024 * 1024, trickle=1))
    started = time.monotonic()
    with pytest.raises(ResponseTooLargeError) as caught:
        await get(server.url("/big"), FAST.with_(max_bytes=1024 * 1024))
    assert time.monotonic() - started < 1  # did not wait for the trickled body
    assert "announced 10 MB" in str(caught.value)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw deflate"])
async def test_a_compressed_answer_is_decoded(server: FaultServer, encoding: str) -> None:
    body = b"[" + b"1," * 100_000 + b"1]"
    if encoding == "gzip":
        sent = gzip.compress(body)
    else:
        wbits = zlib.MAX_WBITS if encoding == "deflate" else -zlib.MAX_WBITS
        packer = zlib.compressobj(wbits=wbits)
        sent = packer.compress(body) + packer.flush()
    name = encoding.split()[-1]
    server.plan("/packed", Answer(body=sent, headers={"Content-Encoding": name}))
    response = await get(server.url("/packed"))
    assert response.content == body


async def test_a_damaged_compressed_answer_is_a_sentence(server: FaultServer) -> None:
    sent = bytearray(gzip.compress(b"x" * 100_000))
    sent[20:40] = bytes(20)
    server.plan("/damaged", Answer(body=bytes(sent), headers={"Content-Encoding": "gzip"}))
    with pytest.raises(NetError, match="sent a damaged answer"):
        await get(server.url("/damaged"))


async def test_a_gzip_bomb_stops_at_the_cap_without_inflating_in_memory(
    server: FaultServer, tmp_path: Path
) -> None:
    """64 MB of zeros in 64 KB of gzip, capped at 8 MB, written to a file: refused, and the
    memory held at once stays a few pieces (httpx alone inflates each network chunk whole)."""
    bomb = gzip.compress(bytes(64 * 1024 * 1024), 9)
    server.plan("/bomb", Answer(body=bomb, headers={"Content-Encoding": "gzip"}))
    with open(tmp_path / "bomb.png", "wb") as into:
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError, match="larger than 8 MB"):
                await get(server.url("/bomb"), FAST.with_(max_bytes=8 * 1024 * 1024), into=into)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert into.tell() <= 8 * 1024 * 1024
    assert peak < 4 * DECODE_PIECE


# ------------------------------------------------------------------------------ secrets


async def test_the_token_never_appears_in_an_error(server: FaultServer) -> None:
    server.plan(f"/api/{TOKEN}/", Answer(status=500, body=TOKEN.encode()))
    with pytest.raises(HttpStatusError) as caught:
        await get(server.url(f"/api/{TOKEN}/?access_token=abc123secret&page=2"))
    message = str(caught.value)
    assert TOKEN not in message and "abc123secret" not in message
    assert "[hidden]" in message and "page=2" in message


def test_redaction_helpers() -> None:
    assert redact(f"Token {TOKEN} refused", [TOKEN]) == "Token [hidden] refused"
    assert redact("abc", ["abc"]) == "abc"  # too short to be a secret: never hide every "a"
    shown = display_url("https://user:pw@example.org:8443/x?key=s3cr3t&page=2")
    assert shown == "https://example.org:8443/x?key=[hidden]&page=2"


# ------------------------------------------------------------------------------ TLS


@pytest.fixture
def self_signed_server(tmp_path: Path) -> Iterator[str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    class Hello(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Hello)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


async def test_a_self_signed_certificate_is_refused_unless_insecure(
    self_signed_server: str,
) -> None:
    with pytest.raises(TlsError) as caught:
        await get(self_signed_server)
    assert "could not be verified" in str(caught.value) and "--insecure" in str(caught.value)
    async with HttpClient(FAST, verify=False) as http:
        assert (await http.send("GET", self_signed_server)).status == 200


async def test_plain_http_reads_no_certificates(
    server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The TLS context is made by the first https request: with SSL_CERT_FILE naming no file
    (httpx reads it for every TLS context) a plain http request still works."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    async with HttpClient(FAST) as http:
        assert (await http.send("GET", server.url("/hello"))).status == 200
        with pytest.raises(OSError):  # an https request does read the bundle
            await http.send("GET", "https://127.0.0.1:9/")


async def test_every_failure_is_an_esctui_error(server: FaultServer) -> None:
    from esctui.domain.errors import EsctuiError

    assert issubclass(NetError, EsctuiError)
    with pytest.raises(EsctuiError):
        await get("ftp://127.0.0.1/x")


async def test_concurrent_requests_share_one_client(server: FaultServer) -> None:
    async with HttpClient(FAST) as http:
        answers = await asyncio.gather(
            *(http.send("GET", server.url(f"/n/{i}")) for i in range(20))
        )
    assert sorted(a.json()["path"] for a in answers) == sorted(f"/n/{i}" for i in range(20))
