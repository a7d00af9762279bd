"""The HTTP transport every esctui web request goes through (eScriptorium, IIIF).

``make_async_client`` builds the ``httpx.AsyncClient``; ``send`` makes one request on it with
the limits a request needs to be safe against any server::

    async with make_async_client(limits=limits) as client:
        response = await send(client, "GET", url, limits=limits, secrets=[token])
        data = response.json()

What ``send`` guarantees:

* **a total deadline** (``RequestLimits.deadline``): the whole request, retries and waits
  included, ends within it. httpx's own read timeout restarts on every byte, so a server that
  trickles one byte a second would otherwise keep a request alive for ever. With ``min_rate``
  (bytes a second) the deadline grows with the answer's size (declared or received so far):
  a large image gets the time it needs at that rate, a trickle still ends;
* **a byte cap** (``max_bytes``) checked while the body streams in (JSON answers too), and
  against ``Content-Length`` before anything is read;
* **retries** with exponential backoff and jitter on 408/429/502/503/504, connect errors,
  timeouts and cut connections; ``Retry-After`` (seconds or an HTTP date) is honoured, capped.
  A request that may not be repeated safely (POST, PATCH, unless ``idempotent=True``) is
  retried only when it cannot have reached the server (connect errors) or the server said it
  did not take it (429, 503);
* **redirects** followed by hand, at most ``max_redirects``; a redirect to another host is
  refused and named (``follow_other_hosts=False``, the default: the token must not go there),
  or followed with the Authorization header dropped;
* **errors as sentences** (``NetError`` and subclasses) that name the host and the limit that
  was hit; every secret given in ``secrets`` (and any ``token=``/``key=``-like query value) is
  replaced by ``[hidden]`` in every message.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import json as jsonlib  # `json` is a parameter of send()
import random
import re
import socket
import ssl
import sys
import time
import urllib.request
import zlib
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# httpx imports its own command-line client (rich, click, pygments: about 0.3 s of every
# esctui command that goes online) whenever those are installed; esctui never runs it, so it
# is left out (httpx then defines a stub ``main`` that says it cannot run).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
import httpx  # noqa: E402

from esctui.domain.errors import EsctuiError

USER_AGENT = "esctui/0.1"
MB = 1024 * 1024
ERROR_BODY_BYTES = 64 * 1024  # what is kept of an error answer, for the caller to read
HIDDEN = "[hidden]"

RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
NOT_TAKEN_STATUSES = frozenset({429, 503})  # the server says it did not act on the request
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SECRET_QUERY_KEYS = re.compile(
    r"(token|key|secret|password|passwd|auth|signature|sig|session|credential)", re.IGNORECASE
)


@dataclass(frozen=True)
class RequestLimits:
    """How long and how much one request may take, and how it is retried."""

    connect_timeout: float = 15.0  # to open a connection
    idle_timeout: float = 30.0  # longest silence while sending or receiving
    deadline: float = 120.0  # the whole request: every attempt, redirect and wait
    max_bytes: int = 50 * MB  # the answer's body (after decompression)
    max_redirects: int = 5
    follow_other_hosts: bool = False  # follow a redirect to another host (without the token)
    retries: int = 3  # attempts after the first
    backoff: float = 0.5  # first wait; doubled each time, plus up to 25 % jitter
    max_retry_after: float = 60.0  # the longest wait a server's Retry-After may ask for
    min_rate: float = 0.0  # bytes/s: the deadline grows by 1 s per min_rate bytes (0: fixed)
    retry_statuses: frozenset[int] = RETRY_STATUSES  # error statuses worth another attempt

    def with_(self, **changes: Any) -> RequestLimits:
        """A copy with some limits changed."""
        return replace(self, **changes)


# --------------------------------------------------------------------------------------------
# Errors


class NetError(EsctuiError):
    """A web request that failed; ``str()`` names the host and what went wrong."""

    def __init__(self, message: str, *, host: str = "", url: str = "") -> None:
        super().__init__(message)
        self.host = host
        self.url = url  # redacted
        self.attempts = 1  # how many times the request was sent


class CouldNotConnectError(NetError):
    """No connection: refused, unknown host, network down, TLS failure."""


class TlsError(CouldNotConnectError):
    """The server's TLS certificate could not be verified."""


class DeadlineError(NetError):
    """The request did not finish within its total deadline (or the idle timeout)."""


class ResponseTooLargeError(NetError):
    """The answer is larger than the byte cap."""


class RedirectError(NetError):
    """A redirect to another host (refused), a loop, or a redirect without a Location."""


class HttpStatusError(NetError):
    """The server answered with an error status. ``body`` holds the first 64 KB of its answer
    (never shown in the message)."""

    def __init__(
        self,
        message: str,
        *,
        host: str,
        url: str,
        status: int,
        body: bytes,
        content_type: str,
        method: str,
    ) -> None:
        super().__init__(message, host=host, url=url)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.method = method

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        if "json" not in self.content_type:
            return None
        try:
            return _json_loads(self.body)
        except ValueError:
            return None


class BodyWriter(Protocol):
    """Where ``send(into=...)`` writes a body: a binary file, or anything with these methods
    (``seek(0)`` and ``truncate()`` start again for a retry). An exception raised by ``write``
    (say, the bytes are not an image) ends the request and reaches the caller as it is."""

    def write(self, data: bytes, /) -> object: ...

    def seek(self, offset: int, /) -> object: ...

    def truncate(self) -> object: ...

    def tell(self) -> int: ...


# --------------------------------------------------------------------------------------------
# The answer


@dataclass
class HttpResponse:
    """A finished answer: status, headers and the whole body (within the byte cap)."""

    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # the final URL, after redirects (not redacted: do not show it)
    size: int = 0  # bytes received (also when the body went into a file)
    attempts: int = 1  # how many times the request was sent

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        """The body as JSON; raises NetError when it is not JSON."""
        try:
            return _json_loads(self.content)
        except ValueError:
            host = urlsplit(self.url).netloc
            raise NetError(
                f"{host} sent an answer that is not JSON ({self.content_type or 'no type'})",
                host=host,
            ) from None


def _json_loads(data: bytes) -> Any:
    return jsonlib.loads(data)


# --------------------------------------------------------------------------------------------
# The client


def make_async_client(
    *,
    limits: RequestLimits | None = None,
    verify: bool = True,
    max_connections: int = 10,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``send``: TLS verified unless ``verify=False``, redirects
    left to ``send``, the connect and idle timeouts of ``limits``, a keep-alive pool."""
    limits = limits or RequestLimits()
    pool = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max(1, max_connections // 2)
    )
    transports: dict[str, Any] = {}
    if not urllib.request.getproxies():  # with a proxy, httpx's own transports route to it
        # The TLS context (the CA bundle read: 0.05-0.15 s) is made by the first https
        # request, not for a client that only ever talks plain http (a local server).
        transports["transport"] = _TransportOnFirstUse(
            lambda: httpx.AsyncHTTPTransport(verify=verify, limits=pool, trust_env=True)
        )
        transports["mounts"] = {
            # only http:// URLs come here: the context it is given is never used
            "http://": _TransportOnFirstUse(
                lambda: httpx.AsyncHTTPTransport(verify=False, limits=pool, trust_env=True)
            )
        }
    return httpx.AsyncClient(
        verify=verify,
        follow_redirects=False,
        timeout=httpx.Timeout(
            limits.idle_timeout, connect=limits.connect_timeout, pool=limits.deadline
        ),
        limits=pool,
        headers={"User-Agent": USER_AGENT, **(headers or {})},
        trust_env=True,
        **transports,
    )


class _TransportOnFirstUse(httpx.AsyncBaseTransport):
    """An httpx transport made when a request first needs it."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._transport: httpx.AsyncBaseTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            self._transport = self._make()
        return await self._transport.handle_async_request(request)

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()


# --------------------------------------------------------------------------------------------
# Redaction and wording


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (at least 4 characters long) replaced by ``[hidden]``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def display_url(url: str | httpx.URL, secrets: Iterable[str] = ()) -> str:
    """A URL fit for a message: user info dropped, secret-looking query values hidden."""
    parts = urlsplit(str(url))
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if ":" in (parts.hostname or ""):  # IPv6
        netloc = f"[{parts.hostname}]" + (f":{parts.port}" if parts.port else "")
    query = urlencode(
        [
            (key, HIDDEN if SECRET_QUERY_KEYS.search(key) else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="[]/:",
    )
    return redact(urlunsplit((parts.scheme, netloc, parts.path, query, "")), secrets)


def host_of(url: str | httpx.URL) -> str:
    """``host:port`` as written in the URL (no user info)."""
    parts = urlsplit(str(url))
    host = parts.hostname or str(url)
    return f"{host}:{parts.port}" if parts.port else host


def status_text(code: int) -> str:
    """'404 Not Found'."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def size_text(n: int) -> str:
    """A byte limit in words: '1 MB', '512 KB', '100 bytes'."""
    if n >= MB and n % MB == 0:
        return f"{n // MB} MB"
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n // 1024} KB"
    return f"{n} bytes"


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _tried(attempts: int) -> str:
    return f" (tried {attempts} times)" if attempts > 1 else ""


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date); None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# --------------------------------------------------------------------------------------------
# Sending


@dataclass
class _Target:
    """What one request asks for; a new httpx.Request is built from it for every attempt."""

    method: str
    url: str
    params: Mapping[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Mapping[str, tuple[str, Path | bytes, str]] | None = None
    content: bytes | None = None


class _Retry(Exception):
    """An attempt failed in a way trying again may fix."""

    def __init__(
        self,
        error: NetError,
        *,
        reached_server: bool,
        retry_after: float | None = None,
        not_taken: bool = False,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.reached_server = reached_server  # the request may have been acted on
        self.retry_after = retry_after
        self.not_taken = not_taken  # the server said it did not act on it (429, 503)


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    limits: RequestLimits | None = None,
    secrets: Iterable[str] = (),
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, Any] | None = None,
    files: Mapping[str, tuple[str, Path | bytes, str]] | None = None,
    content: bytes | None = None,
    into: BodyWriter | None = None,
    idempotent: bool | None = None,
    on_retry: Callable[[NetError], None] | None = None,
) -> HttpResponse:
    """Make one request with deadline, byte cap, retries and bounded redirects.

    ``files`` maps a form field to ``(file name, Path or bytes, content type)``; a Path is
    opened anew for each attempt and streamed, not read into memory. With ``into`` the body
    is written into that binary file (rewound and truncated before each attempt) instead of
    ``HttpResponse.content``. ``idempotent`` (default: by method) says whether the request may
    be repeated after it may have reached the server.

    Raises ``HttpStatusError`` for an error status (after retries for 408/429/502/503/504),
    ``DeadlineError``, ``ResponseTooLargeError``, ``RedirectError``, ``CouldNotConnectError``
    or ``NetError``: each a sentence naming the host, secrets hidden.
    """
    limits = limits or RequestLimits()
    secrets = tuple(secrets)
    method = method.upper()
    if idempotent is None:
        idempotent = method in IDEMPOTENT_METHODS
    target = _Target(method, url, params, dict(headers or {}), json, data, files, content)
    loop = asyncio.get_running_loop()
    deadline = _Deadline(loop.time(), limits)
    attempts = 0
    while True:
        attempts += 1
        try:
            async with asyncio.timeout_at(deadline.at) as scope:
                deadline.scope = scope
                response = await _attempt(client, target, limits, secrets, into, deadline)
            response.attempts = attempts
            return response
        except TimeoutError:
            raise _deadline_error(target, limits, secrets, attempts, deadline) from None
        except _Retry as failure:
            may_retry = idempotent or not failure.reached_server or failure.not_taken
            if not may_retry or attempts > limits.retries:
                raise _give_up(failure.error, attempts) from None
            wait = _backoff(limits, attempts, failure.retry_after)
            remaining = deadline.at - loop.time()
            if failure.retry_after is not None and failure.retry_after > limits.max_retry_after:
                raise _busy_error(failure, limits, secrets, attempts) from None
            if wait >= remaining:
                raise _give_up(failure.error, attempts) from None
            if on_retry is not None:
                on_retry(failure.error)
            await asyncio.sleep(wait)


class _Deadline:
    """When a request must end: ``limits.deadline`` after it started, plus, with
    ``limits.min_rate``, one second per ``min_rate`` bytes of its answer (declared or read)."""

    def __init__(self, started: float, limits: RequestLimits) -> None:
        self.started = started
        self.base = limits.deadline
        self.min_rate = limits.min_rate
        self.at = started + limits.deadline
        self.size = 0
        self.scope: asyncio.Timeout | None = None

    @property
    def seconds(self) -> float:
        return self.at - self.started

    def grow_for(self, size: int) -> None:
        """Allow the time ``size`` bytes need at ``min_rate`` (never less than before)."""
        if self.min_rate <= 0 or size <= self.size:
            return
        self.size = size
        at = self.started + self.base + size / self.min_rate
        if at > self.at:
            self.at = at
            if self.scope is not None:
                self.scope.reschedule(at)


def _backoff(limits: RequestLimits, attempts: int, retry_after: float | None) -> float:
    if retry_after is not None:
        return min(retry_after, limits.max_retry_after)
    return min(limits.backoff * 2 ** (attempts - 1) * (1 + random.random() * 0.25), 30.0)


def _give_up(error: NetError, attempts: int) -> NetError:
    error.attempts = attempts
    if attempts > 1:
        error.args = (f"{error}{_tried(attempts)}",)
    return error


def _deadline_error(
    target: _Target,
    limits: RequestLimits,
    secrets: tuple[str, ...],
    attempts: int,
    deadline: _Deadline | None = None,
) -> DeadlineError:
    host = host_of(target.url)
    shown = display_url(target.url, secrets)
    seconds = deadline.seconds if deadline is not None else limits.deadline
    allowed = "the time esctui allows for one request"
    if limits.min_rate > 0:
        allowed = (
            f"the time esctui allows for this request ({_seconds(limits.deadline)}, plus 1 s "
            f"per {size_text(int(limits.min_rate))} of its answer)"
        )
    return DeadlineError(
        f"{host} did not finish answering {target.method} {shown} within "
        f"{_seconds(round(seconds, 1))}, {allowed}{_tried(attempts)}; "
        "the server may be overloaded or the connection too slow",
        host=host,
        url=shown,
    )


def _busy_error(
    failure: _Retry, limits: RequestLimits, secrets: tuple[str, ...], attempts: int
) -> NetError:
    error = failure.error
    error.attempts = attempts
    wait = failure.retry_after or 0
    error.args = (
        f"{error}; the server asked to wait {_seconds(round(wait))} before trying again, "
        f"longer than the {_seconds(limits.max_retry_after)} esctui waits{_tried(attempts)}",
    )
    return error


@dataclass(frozen=True)
class _Redirect:
    status: int
    location: str


async def _attempt(
    client: httpx.AsyncClient,
    target: _Target,
    limits: RequestLimits,
    secrets: tuple[str, ...],
    into: BodyWriter | None,
    deadline: _Deadline | None = None,
) -> HttpResponse:
    """One attempt: the request and the redirects it leads to."""
    method, url, params = target.method, target.url, target.params
    headers = dict(target.headers)
    json_body, data, content, files = target.json, target.data, target.content, target.files
    first_host = host_of(url)
    for _hop in range(limits.max_redirects + 1):
        with contextlib.ExitStack() as opened:
            request = client.build_request(
                method,
                url,
                params=params,
                headers=headers,
                json=json_body,
                data=data,
                files=_open_files(files, opened),
                content=content,
            )
            if into is not None:
                into.seek(0)
                into.truncate()
            outcome = await _exchange(client, request, limits, secrets, into, first_host, deadline)
        if isinstance(outcome, HttpResponse):
            return outcome
        here = urlsplit(str(request.url))
        next_url = urljoin(str(request.url), outcome.location)
        there = urlsplit(next_url)
        if there.scheme not in ("http", "https"):
            raise _redirect_error(request, next_url, secrets, "which is not a web address")
        other_host = there.hostname != here.hostname
        if other_host or (here.scheme == "https" and there.scheme == "http"):
            if not limits.follow_other_hosts:
                reason = (
                    f"another server; esctui does not follow redirects to another server "
                    f"(your token would go there){_ask_admin()}"
                    if other_host
                    else "an unencrypted address; esctui does not follow it"
                )
                raise _redirect_error(request, next_url, secrets, reason)
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        if outcome.status == 303 or (outcome.status in (301, 302) and method == "POST"):
            method = "GET"  # as browsers do; 307/308 keep the method and the body
            json_body = data = content = files = None
        url, params = next_url, None
    raise RedirectError(
        f"{first_host} redirected {target.method} {display_url(target.url, secrets)} more than "
        f"{limits.max_redirects} times (a redirect loop?)",
        host=first_host,
        url=display_url(target.url, secrets),
    )


def _ask_admin() -> str:
    return "; check the server address, or ask the server's administrator"


def _redirect_error(
    request: httpx.Request, next_url: str, secrets: tuple[str, ...], reason: str
) -> RedirectError:
    host = host_of(request.url)
    shown = display_url(request.url, secrets)
    return RedirectError(
        f"{host} redirected {request.method} {shown} to {display_url(next_url, secrets)}, {reason}",
        host=host,
        url=shown,
    )


def _open_files(
    files: Mapping[str, tuple[str, Path | bytes, str]] | None, opened: contextlib.ExitStack
) -> dict[str, tuple[str, IO[bytes] | bytes, str]] | None:
    if not files:
        return None
    ready: dict[str, tuple[str, IO[bytes] | bytes, str]] = {}
    for name, (filename, source, content_type) in files.items():
        if isinstance(source, Path):
            ready[name] = (filename, opened.enter_context(source.open("rb")), content_type)
        else:
            ready[name] = (filename, source, content_type)
    return ready


async def _exchange(
    client: httpx.AsyncClient,
    request: httpx.Request,
    limits: RequestLimits,
    secrets: tuple[str, ...],
    into: BodyWriter | None,
    first_host: str,
    deadline: _Deadline | None = None,
) -> HttpResponse | _Redirect:
    """Send one request and read its answer under the byte cap."""
    host = host_of(request.url)
    shown = display_url(request.url, secrets)
    via = f" (redirected there by {first_host})" if host != first_host else ""
    try:
        response = await client.send(request, stream=True)
    except httpx.HTTPError as error:
        raise _transport_failure(error, request, limits, secrets, reached=False, via=via) from None
    try:
        status = response.status_code
        if status in REDIRECT_STATUSES:
            location = response.headers.get("location")
            if not location:
                raise RedirectError(
                    f"{host} answered {status_text(status)} to {request.method} {shown} "
                    "without saying where to",
                    host=host,
                    url=shown,
                )
            return _Redirect(status, location)
        if not 200 <= status < 300:
            body = await _read_body(response, ERROR_BODY_BYTES, None, truncate=True)
            refused = HttpStatusError(
                redact(
                    f"{host} answered {status_text(status)} to {request.method} {shown}{via}",
                    secrets,
                ),
                host=host,
                url=shown,
                status=status,
                body=body,
                content_type=response.headers.get("content-type", ""),
                method=request.method,
            )
            if status in limits.retry_statuses:
                raise _Retry(
                    refused,
                    reached_server=True,
                    retry_after=retry_after_seconds(response.headers.get("retry-after")),
                    not_taken=status in NOT_TAKEN_STATUSES,
                )
            raise refused
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limits.max_bytes:
            raise _too_large(host, request, shown, limits, via, declared=int(declared))
        if deadline is not None and declared.isdigit():
            deadline.grow_for(int(declared))
        try:
            content = await _read_body(response, limits.max_bytes, into, deadline=deadline)
        except _TooLarge:
            raise _too_large(host, request, shown, limits, via) from None
        size = len(content) if into is None else into.tell()
        return HttpResponse(status, response.headers, content, str(request.url), size)
    except httpx.HTTPError as error:
        raise _transport_failure(error, request, limits, secrets, reached=True, via=via) from None
    finally:
        await response.aclose()


class _TooLarge(Exception):
    pass


async def _read_body(
    response: httpx.Response,
    cap: int,
    into: BodyWriter | None,
    *,
    truncate: bool = False,
    deadline: _Deadline | None = None,
) -> bytes:
    """The body, at most ``cap`` bytes (counted after content decoding, so a gzip bomb stops at
    the cap too): beyond it, ``_TooLarge`` (or the first ``cap`` bytes with ``truncate``). With
    ``into``, chunks go there and b"" is returned."""
    body = bytearray()
    size = 0
    async with contextlib.aclosing(_decoded_pieces(response)) as pieces:
        async for chunk in pieces:
            size += len(chunk)
            if deadline is not None:
                deadline.grow_for(size)
            if size > cap:
                if truncate:
                    body += chunk[: cap - len(body)]
                    return bytes(body)
                raise _TooLarge
            if into is None:
                body += chunk
            else:
                into.write(chunk)
    return bytes(body)


DECODE_PIECE = 1 << 20  # the most one compressed chunk may inflate to at a time
_ZLIB_WBITS = {
    "gzip": zlib.MAX_WBITS | 16,
    "x-gzip": zlib.MAX_WBITS | 16,
    "deflate": zlib.MAX_WBITS,
}


async def _decoded_pieces(response: httpx.Response) -> AsyncGenerator[bytes, None]:
    """The body after content decoding, in pieces of at most ``DECODE_PIECE`` bytes for gzip
    and deflate (httpx inflates each network chunk whole: a 64 KB chunk of a gzip bomb would be
    64 MB at once), so the byte cap bounds memory too. Other encodings: httpx's decoding."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in _ZLIB_WBITS:
        async for chunk in response.aiter_bytes():
            yield chunk
        return
    inflate = zlib.decompressobj(_ZLIB_WBITS[encoding])
    started = False
    try:
        async for raw in response.aiter_raw():
            data = raw
            while data:
                try:
                    piece = inflate.decompress(data, DECODE_PIECE)
                except zlib.error:
                    if started or encoding != "deflate":
                        raise
                    inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without its header
                    piece = inflate.decompress(data, DECODE_PIECE)
                started = True
                data = inflate.unconsumed_tail
                if piece:
                    yield piece
        tail = inflate.flush()
        if tail:
            yield tail
    except zlib.error as error:
        raise httpx.DecodingError(f"the compressed answer is damaged ({error})") from None


def _too_large(
    host: str,
    request: httpx.Request,
    shown: str,
    limits: RequestLimits,
    via: str,
    *,
    declared: int | None = None,
) -> ResponseTooLargeError:
    said = f" (it announced {size_text(declared)})" if declared else ""
    return ResponseTooLargeError(
        f"the answer of {host} to {request.method} {shown}{via} is larger than "
        f"{size_text(limits.max_bytes)}, the most esctui accepts for this request{said}",
        host=host,
        url=shown,
    )


def _transport_failure(
    error: httpx.HTTPError,
    request: httpx.Request,
    limits: RequestLimits,
    secrets: tuple[str, ...],
    *,
    reached: bool,
    via: str,
) -> Exception:
    """An httpx error as a _Retry or a NetError, in words."""
    host = host_of(request.url)
    shown = display_url(request.url, secrets)
    what = f"{request.method} {shown}{via}"
    detail = redact(str(error) or type(error).__name__, secrets)

    def net(cls: type[NetError], message: str) -> NetError:
        return cls(redact(message, secrets), host=host, url=shown)

    if isinstance(error, httpx.ConnectTimeout):
        return _Retry(
            net(
                CouldNotConnectError,
                f"could not connect to {host} within {_seconds(limits.connect_timeout)} "
                f"({what}); is the address right and the server running?",
            ),
            reached_server=False,
        )
    if isinstance(error, httpx.PoolTimeout):
        return _Retry(
            net(DeadlineError, f"no free connection to {host} for {what}"),
            reached_server=False,
        )
    if isinstance(error, httpx.TimeoutException):
        verb = "send" if isinstance(error, httpx.WriteTimeout) else "answer"
        return _Retry(
            net(
                DeadlineError,
                f"{host} did not {verb} anything for {_seconds(limits.idle_timeout)} during "
                f"{what}; the server may be overloaded",
            ),
            reached_server=True,
        )
    if isinstance(error, httpx.ConnectError):
        if _is_certificate_error(error):
            return net(
                TlsError,
                f"the TLS certificate of {host} could not be verified ({detail}); if this is "
                "your own server with a self-signed certificate, add it again with --insecure",
            )
        reason = _connect_reason(error, detail)
        return _Retry(
            net(
                CouldNotConnectError,
                f"could not connect to {host}{via}: {reason}; is the address right and the "
                "server running?",
            ),
            reached_server=False,
        )
    if isinstance(error, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return _Retry(
            net(NetError, f"the connection to {host} was cut during {what}"),
            reached_server=True,
        )
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return net(NetError, f"{shown} is not a web address esctui can use (http or https)")
    if isinstance(error, httpx.DecodingError):
        return net(NetError, f"{host} sent a damaged answer to {what}")
    return _Retry(
        net(NetError, f"network error with {host} during {what}: {detail}"), reached_server=reached
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    """``error`` and the exceptions it came from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_certificate_error(error: BaseException) -> bool:
    return any(
        isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(cause)
        for cause in _causes(error)
    )


def _connect_reason(error: BaseException, detail: str) -> str:
    """Why a connection failed, in words."""
    for cause in _causes(error):
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "no such host name (or no network to look it up)"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return "the network or the host cannot be reached"
    return detail


# --------------------------------------------------------------------------------------------
# A client with its limits and secrets


class HttpClient:
    """An ``httpx.AsyncClient`` together with its limits and the secrets to hide.

    ``async with HttpClient(limits, secrets=[token]) as http: await http.send("GET", url)``.
    """

    def __init__(
        self,
        limits: RequestLimits | None = None,
        *,
        verify: bool = True,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        max_connections: int = 10,
    ) -> None:
        self.limits = limits or RequestLimits()
        self.secrets = tuple(secrets)
        self.client = make_async_client(
            limits=self.limits, verify=verify, headers=headers, max_connections=max_connections
        )

    async def send(
        self,
        method: str,
        url: str,
        *,
        limits: RequestLimits | None = None,
        extra_secrets: Iterable[str] = (),
        **options: Any,
    ) -> HttpResponse:
        """``send`` on this client, with this client's limits unless others are given, and
        ``extra_secrets`` (a password) hidden as well as the client's own."""
        return await send(
            self.client,
            method,
            url,
            limits=limits or self.limits,
            secrets=(*self.secrets, *extra_secrets),
            **options,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
