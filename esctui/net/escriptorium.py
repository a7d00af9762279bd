"""``EscriptoriumClient``: eScriptorium's REST API (Django + DRF) over ``net/http.py``.

::

    async with EscriptoriumClient(server.url, token, insecure=server.insecure) as escr:
        me = await escr.current_user()
        doc = await escr.create_document("Register 1748", project_slug="registers",
                                         main_script="latin")
        part = await escr.upload_part(doc.pk, Path("f001.jpg"))

Reads come back as small frozen dataclasses (``RemoteDocument``, ``RemotePart``, …) holding
the server's values as they are; show their names through ``esctui.domain.text.printable``
(a server may hold any text). Writes take the server's own shapes as mappings (see each
method). Every failure is an ``EscriptoriumError`` (a ``NetError``, an ``EsctuiError``) whose
``str()`` is a sentence: the server refused the token, document N does not exist there or you
may not see it, which field the server refused and why. The token never appears in one.

What the server does that is worth knowing (observed on eScriptorium develop, 2025-08;
``/work/shared/escriptorium/api-notes.md`` has the request and response shapes):

* nested resources under a document that does not exist, or that the user may not see,
  answer 403, not 404;
* lists are paginated (10 a page by default, ``paginate_by`` up to 50; some lists have fixed
  pages of 100 or 500 and ignore it; the document's layers are not paginated at all);
* regions (``blocks``) have no bulk endpoint: they are created one by one, in order;
* a region or line type created with ``POST /api/types/block|line/`` is private (``GET``
  lists only public types), and appears in a document only once added to its ontology with
  ``PATCH /api/documents/{d}/modify_ontology/`` (which replaces the whole list);
* pages are reordered with ``POST /api/documents/{d}/parts/{p}/move/ {"index": n}`` or
  ``POST /api/documents/{d}/bulk_move_parts/ {"parts": [...], "index": n}`` (-1: the end);
* uploading a page whose original file name is already in the document replaces that page's
  image in place (same pk).
"""

from __future__ import annotations

import difflib
import json
import mimetypes
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from esctui.domain.text import printable
from esctui.net.http import (
    HttpClient,
    HttpStatusError,
    NetError,
    RequestLimits,
    host_of,
    redact,
    status_text,
)

PAGE_SIZE = 50  # the largest page eScriptorium's paginated lists give (paginate_by)
BULK_CHUNK = 100  # lines or texts per bulk request
UPLOAD_BYTES_PER_SECOND = 256 * 1024  # the slowest upload rate a deadline allows for
MAX_MESSAGE_CHARS = 600  # of the server's explanation quoted in an error

LINE_OFFSETS = {"baseline": 0, "topline": 1, "centered": 2}  # esctui's names -> the server's
READ_DIRECTIONS = ("ltr", "rtl")
_NESTED_UNDER_DOCUMENT = re.compile(r"/api/documents/(\d+)/[^/?]")


class TaskState(IntEnum):
    """A task report's ``workflow_state``."""

    QUEUED = 0
    RUNNING = 1
    CRASHED = 2
    FINISHED = 3
    CANCELED = 4

    @property
    def over(self) -> bool:
        """The task will not change any more."""
        return self in (TaskState.CRASHED, TaskState.FINISHED, TaskState.CANCELED)


class ModelJob(StrEnum):
    """What a model is for, as the server names it."""

    SEGMENT = "Segment"
    RECOGNIZE = "Recognize"


# --------------------------------------------------------------------------------------------
# Errors


class EscriptoriumError(NetError):
    """The eScriptorium server refused or failed a request. ``status`` is its HTTP status."""

    def __init__(self, message: str, *, host: str, status: int | None = None) -> None:
        super().__init__(message, host=host)
        self.status = status


class TokenRefusedError(EscriptoriumError):
    """401: the token is wrong, revoked, or missing."""


class LoginRefusedError(EscriptoriumError):
    """The user name or password was refused at ``/api/token-auth/``."""


class RemoteNotFoundError(EscriptoriumError):
    """The object does not exist on the server (or, under a document, may not be seen)."""


class RemoteForbiddenError(EscriptoriumError):
    """403 outside a document: the user may not do this."""


class RemoteValidationError(EscriptoriumError):
    """400: the server refused the data. ``errors`` is its answer as parsed JSON."""

    def __init__(self, message: str, *, host: str, status: int = 400, errors: Any = None):
        super().__init__(message, host=host, status=status)
        self.errors = errors


class UnknownScriptError(RemoteValidationError):
    """A script name the server does not know; ``choices`` are the closest it knows."""

    def __init__(self, message: str, *, host: str, choices: list[str]) -> None:
        super().__init__(message, host=host, errors={"main_script": [message]})
        self.choices = choices


class RemoteServerError(EscriptoriumError):
    """5xx, or an answer that is not what an eScriptorium server sends."""


def describe_drf_errors(body: Any, *, limit: int = MAX_MESSAGE_CHARS) -> str:
    """DRF's error answer in words: ``{"field": ["msg"]}`` -> ``field: msg``; a list (bulk
    endpoints) -> ``item 2: field: msg``; ``{"status": "error", "error": …}`` and JSON inside a
    string (the import form) are unwrapped. Control characters are escaped."""
    text = _describe(body)
    text = printable(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(body: Any) -> str:
    if isinstance(body, str):
        stripped = body.strip()
        if stripped[:1] in ("{", "[") and stripped[-1:] in ("}", "]"):
            try:
                return _describe(json.loads(stripped))
            except ValueError:
                pass
        return stripped
    if isinstance(body, Mapping):
        if "error" in body and set(body) <= {"status", "error"}:
            return _describe(body["error"])
        pieces = []
        for key, value in body.items():
            text = _describe(value)
            if key in ("non_field_errors", "__all__", "detail", "error") or not text:
                pieces.append(text)
            else:
                pieces.append(f"{key}: {text}")
        return "; ".join(piece for piece in pieces if piece)
    if isinstance(body, list | tuple):
        if all(not isinstance(item, Mapping | list) for item in body):
            return " ".join(_describe(item) for item in body if item not in (None, ""))
        numbered = [(index, _describe(item)) for index, item in enumerate(body, 1)]
        numbered = [(index, text) for index, text in numbered if text]
        if len(body) == 1 and numbered:
            return numbered[0][1]
        shown = [f"item {index}: {text}" for index, text in numbered[:5]]
        if len(numbered) > 5:
            shown.append(f"and {len(numbered) - 5} more items refused")
        return "; ".join(shown)
    return "" if body is None else str(body)


# --------------------------------------------------------------------------------------------
# What the server holds


def _pk(value: Any) -> int | None:
    return value if isinstance(value, int) else None


@dataclass(frozen=True)
class RemoteUser:
    pk: int
    username: str
    is_staff: bool = False
    email: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteUser:
        return cls(data["pk"], data.get("username", ""), bool(data.get("is_staff")),
                   data.get("email") or "")  # fmt: skip


@dataclass(frozen=True)
class RemoteProject:
    id: int
    slug: str
    name: str
    owner: str = ""
    documents_count: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteProject:
        return cls(data["id"], data.get("slug", ""), data.get("name", ""),
                   data.get("owner") or "", data.get("documents_count"))  # fmt: skip


@dataclass(frozen=True)
class RemoteLayer:
    """A transcription layer of a document (esctui calls it a version)."""

    pk: int
    name: str
    archived: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteLayer:
        return cls(data["pk"], data.get("name", ""), bool(data.get("archived")))


@dataclass(frozen=True)
class RemoteType:
    """A region (block) or line type."""

    pk: int
    name: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteType:
        return cls(data["pk"], data.get("name", ""))


@dataclass(frozen=True)
class RemoteDocument:
    pk: int
    name: str
    project_slug: str
    project_id: int | None
    project_name: str
    main_script: str
    read_direction: str
    line_offset: str  # esctui's name: baseline, topline, centered
    parts_count: int | None  # only in GET answers
    layers: tuple[RemoteLayer, ...] = ()
    block_types: tuple[RemoteType, ...] = ()
    line_types: tuple[RemoteType, ...] = ()
    updated_at: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteDocument:
        offsets = {number: name for name, number in LINE_OFFSETS.items()}
        return cls(
            pk=data["pk"],
            name=data.get("name", ""),
            project_slug=data.get("project") or "",
            project_id=_pk(data.get("project_id")),
            project_name=data.get("project_name") or "",
            main_script=data.get("main_script") or "",
            read_direction=data.get("read_direction") or "ltr",
            line_offset=offsets.get(data.get("line_offset", 0), "baseline"),
            parts_count=data.get("parts_count"),
            layers=tuple(RemoteLayer.from_api(t) for t in data.get("transcriptions") or ()),
            block_types=tuple(RemoteType.from_api(t) for t in data.get("valid_block_types") or ()),
            line_types=tuple(RemoteType.from_api(t) for t in data.get("valid_line_types") or ()),
            updated_at=data.get("updated_at") or "",
        )


@dataclass(frozen=True)
class RemotePart:
    """A page (eScriptorium: a document part)."""

    pk: int
    order: int
    title: str
    name: str
    filename: str
    original_filename: str
    image_uri: str  # a path on the server (/media/…), or an absolute URL
    width: int | None
    height: int | None
    workflow: Mapping[str, str] = field(default_factory=dict)
    thumbnails: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemotePart:
        image = data.get("image") or {}
        size = image.get("size") or (None, None)
        return cls(
            pk=data["pk"],
            order=data.get("order", 0),
            title=data.get("title") or "",
            name=data.get("name") or "",
            filename=data.get("filename") or "",
            original_filename=data.get("original_filename") or "",
            image_uri=image.get("uri") or "",
            width=size[0],
            height=size[1],
            workflow=dict(data.get("workflow") or {}),
            thumbnails=dict(image.get("thumbnails") or {}),
        )


@dataclass(frozen=True)
class RemoteRegion:
    pk: int
    part: int
    box: list[list[float]]
    typology: int | None = None
    external_id: str = ""
    order: int = 0

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteRegion:
        return cls(data["pk"], data["document_part"], data.get("box") or [],
                   data.get("typology"), data.get("external_id") or "",
                   data.get("order", 0))  # fmt: skip


@dataclass(frozen=True)
class RemoteLine:
    pk: int
    part: int
    baseline: list[list[float]] | None
    mask: list[list[float]] | None
    region: int | None = None
    typology: int | None = None
    external_id: str = ""
    order: int = 0
    texts: tuple[RemoteLineText, ...] = ()  # only in a bulk_create answer (nested texts)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteLine:
        texts = tuple(RemoteLineText.from_api(t) for t in data.get("transcriptions") or ())
        return cls(data["pk"], data["document_part"], data.get("baseline"),
                   data.get("mask"), data.get("region"), data.get("typology"),
                   data.get("external_id") or "", data.get("order", 0), texts)  # fmt: skip


@dataclass(frozen=True)
class RemotePartDetail:
    """A page with its regions and lines (``GET …/parts/{p}/``)."""

    part: RemotePart
    regions: tuple[RemoteRegion, ...]
    lines: tuple[RemoteLine, ...]
    previous: int | None = None
    next: int | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemotePartDetail:
        return cls(
            RemotePart.from_api(data),
            tuple(RemoteRegion.from_api(r) for r in data.get("regions") or ()),
            tuple(RemoteLine.from_api(line) for line in data.get("lines") or ()),
            data.get("previous"),
            data.get("next"),
        )


@dataclass(frozen=True)
class RemoteLineText:
    """The text of one line in one layer (eScriptorium: a line transcription)."""

    pk: int
    line: int
    layer: int
    content: str
    avg_confidence: float | None = None
    version_source: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteLineText:
        return cls(data["pk"], data["line"], data["transcription"], data.get("content") or "",
                   data.get("avg_confidence"), data.get("version_source") or "")  # fmt: skip


@dataclass(frozen=True)
class RemoteMetadata:
    pk: int
    key: str
    value: str

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteMetadata:
        key = data.get("key") or {}
        return cls(data["pk"], key.get("name", "") if isinstance(key, Mapping) else str(key),
                   data.get("value") or "")  # fmt: skip


@dataclass(frozen=True)
class RemoteModel:
    pk: int
    name: str
    job: str  # "Segment" or "Recognize"
    file_size: int | None = None
    owner: str = ""

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> RemoteModel:
        return cls(data["pk"], data.get("name", ""), data.get("job", ""),
                   data.get("file_size"), data.get("owner") or "")  # fmt: skip


@dataclass(frozen=True)
class TaskReport:
    """A background task on the server (segmentation, recognition, import, …)."""

    pk: int
    document: int | None
    part_label: str  # the page's title as the server shows it (not a pk)
    state: TaskState
    label: str
    messages: str
    method: str
    queued_at: str | None = None
    started_at: str | None = None
    done_at: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> TaskReport:
        return cls(
            pk=data["pk"],
            document=data.get("document"),
            part_label=data.get("document_part") or "",
            state=TaskState(data.get("workflow_state", 0)),
            label=data.get("label") or "",
            messages=data.get("messages") or "",
            method=data.get("method") or "",
            queued_at=data.get("queued_at"),
            started_at=data.get("started_at"),
            done_at=data.get("done_at"),
        )


@dataclass(frozen=True)
class DocumentTypes:
    """A document's ontology after ``ensure_types``: type name -> pk, as the server spells
    the names, and ``created``: the names that had to be made."""

    regions: Mapping[str, int]
    lines: Mapping[str, int]
    created: tuple[str, ...] = ()

    def region_type(self, name: str) -> int | None:
        return _casefold_get(self.regions, name)

    def line_type(self, name: str) -> int | None:
        return _casefold_get(self.lines, name)


def _casefold_get(mapping: Mapping[str, int], name: str) -> int | None:
    wanted = name.casefold()
    return next((pk for key, pk in mapping.items() if key.casefold() == wanted), None)


# --------------------------------------------------------------------------------------------
# The client


class EscriptoriumClient:
    """One eScriptorium server, through one connection pool. Use ``async with``."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        insecure: bool = False,
        limits: RequestLimits | None = None,
    ) -> None:
        parts = urlsplit(url.strip())
        path = parts.path.rstrip("/").removesuffix("/api").rstrip("/")
        self.base_url = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.api_url = f"{self.base_url}/api/"
        self.host = host_of(self.base_url)
        self.token = token
        self.limits = limits or RequestLimits()
        self.http = HttpClient(
            self.limits,
            verify=not insecure,
            secrets=[token] if token else [],
            headers={"Accept": "application/json"},
        )
        self._scripts: list[Mapping[str, Any]] | None = None

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> EscriptoriumClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # ------------------------------------------------------------------ requests

    def url(self, path: str) -> str:
        """An absolute API address: ``documents/3/`` -> ``<base>/api/documents/3/``."""
        return self.api_url + path.lstrip("/").removeprefix("api/")

    async def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        subject: str = "",
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        files: Mapping[str, tuple[str, Path | bytes, str]] | None = None,
        limits: RequestLimits | None = None,
        idempotent: bool | None = None,
        authenticated: bool = True,
        extra_secrets: Iterable[str] = (),
    ) -> Any:
        """One API call; its JSON answer (None for an empty one).

        ``action`` says what the call does, for messages ("create the document 'X'");
        ``subject`` what the address designates, for a 404 ("document 12").
        """
        headers = {}
        if authenticated and self.token:
            headers["Authorization"] = f"Token {self.token}"
        url = path if path.startswith(("http://", "https://")) else self.url(path)
        try:
            response = await self.http.send(
                method, url, limits=limits, params=params, headers=headers, json=json,
                data=data, files=files, idempotent=idempotent, extra_secrets=extra_secrets,
            )  # fmt: skip
        except HttpStatusError as error:
            raise self._explain(error, url, action, subject, extra_secrets) from None
        if response.status == 204 or not response.content.strip():
            return None
        if "json" not in response.content_type:
            raise RemoteServerError(
                f"{self.host} did not answer like an eScriptorium server when asked to {action} "
                f"(it sent {printable(response.content_type or 'an answer of no type')}, not "
                f"JSON); is {self.base_url} the address of an eScriptorium server?",
                host=self.host,
                status=response.status,
            )
        return response.json()

    def _explain(
        self,
        error: HttpStatusError,
        url: str,
        action: str,
        subject: str,
        extra_secrets: Iterable[str],
    ) -> EscriptoriumError:
        """An HTTP error status as a sentence."""
        status, host = error.status, self.host
        body = error.json()
        secrets = [s for s in (self.token, *extra_secrets) if s]

        def said() -> str:
            return redact(describe_drf_errors(body), secrets) if body is not None else ""

        if status == 401:
            if self.token is None:
                return TokenRefusedError(
                    f"{host} wants a token and esctui has none for it; log in first",
                    host=host, status=status,
                )  # fmt: skip
            return TokenRefusedError(
                f"{host} refused the token ({said() or 'no reason given'}): it is wrong or "
                "was revoked; log in again to get a new one",
                host=host, status=status,
            )  # fmt: skip
        nested = _NESTED_UNDER_DOCUMENT.search(urlsplit(url).path)
        if status == 403 and nested:
            return RemoteNotFoundError(
                f"document {nested.group(1)} does not exist on {host} or you may not see it",
                host=host, status=status,
            )  # fmt: skip
        if status == 403:
            return RemoteForbiddenError(
                f"{host} does not let you {action} ({said() or 'permission denied'})",
                host=host, status=status,
            )  # fmt: skip
        if status == 404:
            what = subject or f"the address {urlsplit(url).path}"
            return RemoteNotFoundError(f"{what} does not exist on {host}", host=host, status=status)
        if status in (400, 409, 422):
            reason = said() or "no reason given"
            return RemoteValidationError(
                f"{host} refused to {action}: {reason}", host=host, status=status, errors=body
            )
        if status == 413:
            return RemoteValidationError(
                f"{host} refused to {action}: the upload is larger than the server accepts",
                host=host, status=status,
            )  # fmt: skip
        if status >= 500:
            tried = f" (tried {error.attempts} times)" if error.attempts > 1 else ""
            if status in (502, 503, 504):
                return RemoteServerError(
                    f"{host} is not available ({status_text(status)}) and could not "
                    f"{action}; try again later{tried}",
                    host=host, status=status,
                )  # fmt: skip
            return RemoteServerError(
                f"{host} had an internal error ({status_text(status)}) when asked to {action}; "
                f"the server's log says why{tried}",
                host=host, status=status,
            )  # fmt: skip
        reason = f": {said()}" if said() else ""
        return EscriptoriumError(
            f"{host} answered {status_text(status)} when asked to {action}{reason}",
            host=host, status=status,
        )  # fmt: skip

    async def iterate(
        self, path: str, *, action: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every item of a list, page after page (``paginate_by=50`` where honoured; lists
        that are not paginated are yielded as they are). Items already seen (by pk or id) are
        skipped: an object changed meanwhile can move from one page to another."""
        query: dict[str, Any] | None = {"paginate_by": PAGE_SIZE, **(params or {})}
        url: str | None = self.url(path)
        seen: set[Any] = set()
        pages = 0
        while url is not None:
            page = await self.request("GET", url, action=action, params=query)
            pages += 1
            if isinstance(page, list):
                items, url = page, None
            elif isinstance(page, Mapping) and isinstance(page.get("results"), list):
                items, url = page["results"], self._same_server(page.get("next"))
            else:
                raise RemoteServerError(
                    f"{self.host} sent a list in an unknown shape when asked to {action}",
                    host=self.host,
                )
            query = None  # the next link carries the query
            for item in items:
                key = item.get("pk", item.get("id")) if isinstance(item, Mapping) else None
                if key is not None:
                    if key in seen:
                        continue
                    seen.add(key)
                yield item
            if pages > 100_000:  # a server that always says there is a next page
                raise RemoteServerError(
                    f"{self.host} kept sending pages when asked to {action}", host=self.host
                )

    def _same_server(self, next_url: Any) -> str | None:
        """The ``next`` link's path and query on our own address: a server behind a proxy may
        write its internal host name there, and the token must not go anywhere else."""
        if not isinstance(next_url, str) or not next_url:
            return None
        parts = urlsplit(next_url)
        base = urlsplit(self.base_url)
        return urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))

    async def all_pages(
        self, path: str, *, action: str, params: Mapping[str, Any] | None = None
    ) -> list[Mapping[str, Any]]:
        return [item async for item in self.iterate(path, action=action, params=params)]

    # ------------------------------------------------------------------ who am I

    async def obtain_token(self, username: str, password: str, *, regenerate: bool = False) -> str:
        """The user's API token from ``POST /api/token-auth/`` (``regenerate``: a new one,
        the old one stops working). The password is hidden from every message."""
        body: dict[str, Any] = {"username": username, "password": password}
        if regenerate:
            body["regenerate"] = True
        try:
            answer = await self.request(
                "POST", "token-auth/", action="log in", json=body, authenticated=False,
                idempotent=True, extra_secrets=[password],
            )  # fmt: skip
        except RemoteValidationError as error:
            raise LoginRefusedError(
                f"{self.host} refused the user name or password of {printable(username)!r}",
                host=self.host,
                status=error.status,
            ) from None
        token = answer.get("token") if isinstance(answer, Mapping) else None
        if not isinstance(token, str) or not token:
            raise RemoteServerError(f"{self.host} sent no token when logging in", host=self.host)
        self.token = token
        self.http.secrets = (*self.http.secrets, token)
        return token

    async def current_user(self) -> RemoteUser:
        """Who the token belongs to (``GET /api/users/current/``): checks the server answers
        and the token is valid."""
        data = await self.request("GET", "users/current/", action="say who you are")
        if not isinstance(data, Mapping) or "pk" not in data:
            raise RemoteServerError(
                f"{self.host} did not answer like an eScriptorium server (users/current/)",
                host=self.host,
            )
        return RemoteUser.from_api(data)

    # ------------------------------------------------------------------ scripts

    async def scripts(self) -> list[str]:
        """The names of the scripts the server knows (read once per client)."""
        return [s.get("name", "") for s in await self._script_records()]

    async def _script_records(self) -> list[Mapping[str, Any]]:
        if self._scripts is None:
            self._scripts = await self.all_pages("scripts/", action="list its scripts")
        return self._scripts

    async def resolve_script(self, name: str) -> str:
        """The server's name for the script ``name`` (matched without regard to case, by name
        or ISO 15924 code); ``UnknownScriptError`` with the closest names otherwise."""
        records = await self._script_records()
        wanted = name.strip().casefold()
        for record in records:
            if str(record.get("name", "")).casefold() == wanted:
                return record["name"]
        for record in records:
            if str(record.get("iso_code") or "").casefold() == wanted:
                return record["name"]
        names = [str(record.get("name", "")) for record in records]
        by_fold = {n.casefold(): n for n in names}
        close = difflib.get_close_matches(wanted, list(by_fold), n=5, cutoff=0.6)
        close += [n for f, n in by_fold.items() if wanted and wanted in f and n not in close]
        choices = [by_fold.get(c, c) for c in close][:5]
        # "; " between names: some names hold commas ("Ahom, Tai Ahom")
        hint = (
            f"the closest it knows: {'; '.join(printable(c) for c in choices)}"
            if choices
            else f"it knows {len(names)} scripts, e.g. {'; '.join(printable(n) for n in names[:5])}"
        )
        raise UnknownScriptError(
            f"{self.host} does not know the script {printable(name)!r}; {hint}",
            host=self.host,
            choices=choices,
        )

    # ------------------------------------------------------------------ projects

    async def projects(self) -> list[RemoteProject]:
        items = await self.all_pages("projects/", action="list the projects")
        return [RemoteProject.from_api(item) for item in items]

    async def project(self, slug: str) -> RemoteProject:
        """The project with this slug (or, failing that, this exact name)."""
        projects = await self.projects()
        for project in projects:
            if project.slug == slug:
                return project
        for project in projects:
            if project.name == slug:
                return project
        known = ", ".join(printable(p.slug) for p in projects[:10]) or "none"
        raise RemoteNotFoundError(
            f"there is no project {printable(slug)!r} on {self.host} that you may see "
            f"(projects: {known})",
            host=self.host,
            status=404,
        )

    async def create_project(self, name: str) -> RemoteProject:
        """A new project (a taken name gets a suffixed slug)."""
        data = await self.request(
            "POST", "projects/", action=f"create the project {printable(name)!r}",
            json={"name": name},
        )  # fmt: skip
        return RemoteProject.from_api(data)

    async def delete_project(self, project_id: int) -> None:
        """Delete a project **and every document in it**."""
        await self.request(
            "DELETE", f"projects/{project_id}/", action=f"delete project {project_id}",
            subject=f"project {project_id}",
        )  # fmt: skip

    # ------------------------------------------------------------------ documents

    async def documents(self, project_id: int | None = None) -> list[RemoteDocument]:
        """Every document the user may see (of one project), by name."""
        params: dict[str, Any] = {"ordering": "name"}
        if project_id is not None:
            params["project"] = project_id
        items = await self.all_pages("documents/", action="list the documents", params=params)
        return [RemoteDocument.from_api(item) for item in items]

    async def document(self, document: int) -> RemoteDocument:
        data = await self.request(
            "GET", f"documents/{document}/", action=f"show document {document}",
            subject=f"document {document}",
        )  # fmt: skip
        return RemoteDocument.from_api(data)

    async def create_document(
        self,
        name: str,
        *,
        project_slug: str,
        main_script: str,
        read_direction: str = "ltr",
        line_offset: str = "baseline",
    ) -> RemoteDocument:
        """A new document in the project ``project_slug``. ``main_script`` is matched to the
        server's list (``resolve_script``); ``line_offset`` is esctui's name (baseline, topline,
        centered). The server gives it a "manual" layer and its default region types."""
        fields = self._document_fields(
            main_script=await self.resolve_script(main_script),
            read_direction=read_direction,
            line_offset=line_offset,
        )
        data = await self.request(
            "POST", "documents/", action=f"create the document {printable(name)!r}",
            json={"name": name, "project": project_slug, **fields},
        )  # fmt: skip
        return RemoteDocument.from_api(data)

    async def update_document(
        self,
        document: int,
        *,
        name: str | None = None,
        main_script: str | None = None,
        read_direction: str | None = None,
        line_offset: str | None = None,
    ) -> RemoteDocument:
        """Change some fields of a document (PATCH); the others are kept."""
        fields = self._document_fields(
            main_script=await self.resolve_script(main_script) if main_script else None,
            read_direction=read_direction,
            line_offset=line_offset,
        )
        if name is not None:
            fields["name"] = name
        data = await self.request(
            "PATCH", f"documents/{document}/", action=f"change document {document}",
            subject=f"document {document}", json=fields, idempotent=True,
        )  # fmt: skip
        return RemoteDocument.from_api(data)

    @staticmethod
    def _document_fields(
        *, main_script: str | None, read_direction: str | None, line_offset: str | None
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if main_script is not None:
            fields["main_script"] = main_script
        if read_direction is not None:
            if read_direction not in READ_DIRECTIONS:
                raise ValueError(f"read_direction must be ltr or rtl, not {read_direction!r}")
            fields["read_direction"] = read_direction
        if line_offset is not None:
            if line_offset not in LINE_OFFSETS:
                raise ValueError(f"line_offset must be one of {', '.join(LINE_OFFSETS)}")
            fields["line_offset"] = LINE_OFFSETS[line_offset]
        return fields

    async def delete_document(self, document: int) -> None:
        await self.request(
            "DELETE", f"documents/{document}/", action=f"delete document {document}",
            subject=f"document {document}",
        )  # fmt: skip

    # ------------------------------------------------------------------ metadata

    async def document_metadata(self, document: int) -> list[RemoteMetadata]:
        items = await self.all_pages(
            f"documents/{document}/metadata/", action=f"list the metadata of document {document}"
        )
        return [RemoteMetadata.from_api(item) for item in items]

    async def set_document_metadata(self, document: int, key: str, value: str) -> RemoteMetadata:
        """Set ``key`` to ``value`` (changing the entry when the key exists, else adding it)."""
        for entry in await self.document_metadata(document):
            if entry.key == key:
                data = await self.request(
                    "PATCH", f"documents/{document}/metadata/{entry.pk}/",
                    action=f"change the metadata {printable(key)!r} of document {document}",
                    json={"value": value}, idempotent=True,
                )  # fmt: skip
                return RemoteMetadata.from_api(data)
        data = await self.request(
            "POST", f"documents/{document}/metadata/",
            action=f"add the metadata {printable(key)!r} to document {document}",
            json={"key": {"name": key}, "value": value},
        )  # fmt: skip
        return RemoteMetadata.from_api(data)

    async def sync_document_metadata(self, document: int, values: Mapping[str, str]) -> int:
        """Give the document these key/value entries (listed once; a changed value is
        patched, a new key added, other keys kept). Returns how many entries were sent."""
        have = {entry.key: entry for entry in await self.document_metadata(document)}
        sent = 0
        for key, value in values.items():
            entry = have.get(key)
            if entry is not None and entry.value == value:
                continue
            if entry is not None:
                await self.request(
                    "PATCH", f"documents/{document}/metadata/{entry.pk}/",
                    action=f"change the metadata {printable(key)!r} of document {document}",
                    json={"value": value}, idempotent=True,
                )  # fmt: skip
            else:
                await self.request(
                    "POST", f"documents/{document}/metadata/",
                    action=f"add the metadata {printable(key)!r} to document {document}",
                    json={"key": {"name": key}, "value": value},
                )  # fmt: skip
            sent += 1
        return sent

    async def delete_document_metadata(self, document: int, metadata: int) -> None:
        await self.request(
            "DELETE", f"documents/{document}/metadata/{metadata}/",
            action=f"delete a metadata entry of document {document}",
            subject=f"metadata entry {metadata} of document {document}",
        )  # fmt: skip

    # ------------------------------------------------------------------ pages

    async def upload_part(
        self,
        document: int,
        image: Path,
        *,
        filename: str | None = None,
        title: str | None = None,
        name: str | None = None,
        content_type: str | None = None,
    ) -> RemotePart:
        """Upload a page image (multipart, streamed from disk) under its original file name
        (``filename``, default: the file's own name). A page with that original file name
        already in the document gets the new image, in place."""
        image = Path(image)
        original = filename or image.name
        content_type = content_type or (
            mimetypes.guess_type(original)[0] or "application/octet-stream"
        )
        data: dict[str, str] = {}
        if title is not None:
            data["title"] = title
        if name is not None:
            data["name"] = name
        answer = await self.request(
            "POST", f"documents/{document}/parts/",
            action=f"add the page {printable(original)!r} to document {document}",
            files={"image": (original, image, content_type)}, data=data or None,
            limits=self._upload_limits(image), idempotent=True,  # same name: updated in place
        )  # fmt: skip
        return RemotePart.from_api(answer)

    def _upload_limits(self, path: Path) -> RequestLimits:
        size = path.stat().st_size
        return self.limits.with_(deadline=self.limits.deadline + size / UPLOAD_BYTES_PER_SECOND)

    async def download_image(self, part: RemotePart, into: Path, *, max_bytes: int) -> int:
        """Write a page's full-size image into the file ``into`` (streamed, at most
        ``max_bytes``); returns its size. The image lives on this server (``/media/…``); an
        image address on another host is refused (the token goes with the request)."""
        uri = part.image_uri
        if not uri:
            raise RemoteServerError(
                f"{self.host} gave no image address for page {part.pk}", host=self.host
            )
        url = (
            uri
            if uri.startswith(("http://", "https://"))
            else self.base_url + "/" + uri.lstrip("/")
        )
        if host_of(url) != self.host:
            raise RemoteServerError(
                f"{self.host} names an image of page {part.pk} on another host "
                f"({printable(host_of(url))}); esctui sends the token to its own server only",
                host=self.host,
            )
        headers = {"Authorization": f"Token {self.token}"} if self.token else {}
        limits = self.limits.with_(
            max_bytes=max_bytes, deadline=self.limits.deadline + max_bytes / UPLOAD_BYTES_PER_SECOND
        )
        try:
            with open(into, "wb") as handle:
                await self.http.send("GET", url, limits=limits, headers=headers, into=handle)
        except HttpStatusError as error:
            raise self._explain(
                error,
                url,
                f"download the image of page {part.pk}",
                f"the image of page {part.pk}",
                (),
            ) from None
        return into.stat().st_size

    async def parts(self, document: int) -> list[RemotePart]:
        """The document's pages, in their order."""
        items = await self.all_pages(
            f"documents/{document}/parts/", action=f"list the pages of document {document}",
            params={"ordering": "order"},
        )  # fmt: skip
        return sorted((RemotePart.from_api(item) for item in items), key=lambda p: p.order)

    async def part(self, document: int, part: int) -> RemotePartDetail:
        """A page with its regions and lines."""
        data = await self.request(
            "GET", f"documents/{document}/parts/{part}/",
            action=f"show page {part} of document {document}",
            subject=f"page {part} of document {document}",
        )  # fmt: skip
        return RemotePartDetail.from_api(data)

    async def move_part(self, document: int, part: int, index: int) -> None:
        """Put a page at position ``index`` (0-based) in its document."""
        await self.request(
            "POST", f"documents/{document}/parts/{part}/move/",
            action=f"move page {part} of document {document}", json={"index": index},
            idempotent=True,
        )  # fmt: skip

    async def move_parts(self, document: int, parts: Sequence[int], index: int) -> None:
        """Put several pages, in their present order, at ``index`` (-1: at the end)."""
        await self.request(
            "POST", f"documents/{document}/bulk_move_parts/",
            action=f"move pages of document {document}",
            json={"parts": list(parts), "index": index}, idempotent=True,
        )  # fmt: skip

    async def delete_part(self, document: int, part: int) -> None:
        await self.request(
            "DELETE", f"documents/{document}/parts/{part}/",
            action=f"delete page {part} of document {document}",
            subject=f"page {part} of document {document}",
        )  # fmt: skip

    # ------------------------------------------------------------------ ontology

    async def block_types(self) -> list[RemoteType]:
        """The public region types (the ones offered to every document)."""
        items = await self.all_pages("types/block/", action="list the region types")
        return [RemoteType.from_api(item) for item in items]

    async def line_types(self) -> list[RemoteType]:
        """The public line types."""
        items = await self.all_pages("types/line/", action="list the line types")
        return [RemoteType.from_api(item) for item in items]

    async def ensure_types(
        self, document: int, *, regions: Iterable[str] = (), lines: Iterable[str] = ()
    ) -> DocumentTypes:
        """Make sure the document's ontology has these region and line types (by name,
        without regard to case): a type already valid in the document is kept, a public one
        of that name is added, else a new type is created and added. Returns every valid
        type of the document."""
        doc = await self.document(document)
        created: list[str] = []
        result: dict[str, dict[str, int]] = {}
        changes: dict[str, list[int]] = {}
        for kind, wanted, valid, listing, endpoint in (
            ("regions", regions, doc.block_types, self.block_types, "types/block/"),
            ("lines", lines, doc.line_types, self.line_types, "types/line/"),
        ):
            have = {t.name: t.pk for t in valid}
            missing = _missing_names(wanted, have)
            if missing:
                public = {t.name.casefold(): t for t in await listing()}
                for name in missing:
                    found = public.get(name.casefold())
                    if found is None:
                        data = await self.request(
                            "POST", endpoint,
                            action=f"create the {kind[:-1]} type {printable(name)!r}",
                            json={"name": name},
                        )  # fmt: skip
                        found = RemoteType.from_api(data)
                        created.append(name)
                    have[found.name] = found.pk
                field_name = "valid_block_types" if kind == "regions" else "valid_line_types"
                changes[field_name] = sorted(set(have.values()))
            result[kind] = have
        if changes:
            await self.request(
                "PATCH", f"documents/{document}/modify_ontology/",
                action=f"change the types of document {document}", subject=f"document {document}",
                json=changes, idempotent=True,
            )  # fmt: skip
        return DocumentTypes(result["regions"], result["lines"], tuple(created))

    # ------------------------------------------------------------------ regions

    async def regions(self, document: int, part: int) -> list[RemoteRegion]:
        items = await self.all_pages(
            f"documents/{document}/parts/{part}/blocks/",
            action=f"list the regions of page {part}",
        )
        return sorted((RemoteRegion.from_api(item) for item in items), key=lambda r: r.order)

    async def create_regions(
        self, document: int, part: int, regions: Sequence[Mapping[str, Any]]
    ) -> list[RemoteRegion]:
        """Create regions ``{"box": [[x, y], …], "typology": pk|None, "external_id": str}``,
        one request each (the API has no bulk endpoint), in the order given."""
        created = []
        for region in regions:
            data = await self.request(
                "POST", f"documents/{document}/parts/{part}/blocks/",
                action=f"add a region to page {part} of document {document}",
                json={**region, "document_part": part},
            )  # fmt: skip
            created.append(RemoteRegion.from_api(data))
        return created

    async def update_region(
        self, document: int, part: int, region: int, changes: Mapping[str, Any]
    ) -> RemoteRegion:
        data = await self.request(
            "PATCH", f"documents/{document}/parts/{part}/blocks/{region}/",
            action=f"change region {region} of page {part}",
            subject=f"region {region} of page {part}", json=dict(changes), idempotent=True,
        )  # fmt: skip
        return RemoteRegion.from_api(data)

    async def delete_regions(self, document: int, part: int, regions: Iterable[int]) -> None:
        """Delete regions (their lines stay, without a region)."""
        for region in regions:
            await self.request(
                "DELETE", f"documents/{document}/parts/{part}/blocks/{region}/",
                action=f"delete region {region} of page {part}",
                subject=f"region {region} of page {part}",
            )  # fmt: skip

    # ------------------------------------------------------------------ lines

    async def lines(self, document: int, part: int) -> list[RemoteLine]:
        items = await self.all_pages(
            f"documents/{document}/parts/{part}/lines/", action=f"list the lines of page {part}"
        )
        return sorted((RemoteLine.from_api(item) for item in items), key=lambda line: line.order)

    async def create_lines(
        self, document: int, part: int, lines: Sequence[Mapping[str, Any]]
    ) -> list[RemoteLine]:
        """Create lines ``{"baseline", "mask", "region", "typology", "external_id", "order",
        "transcriptions": [{"transcription": layer pk, "content": str}]}`` (all but the
        baseline optional), ``BULK_CHUNK`` per request; returns them in the order given."""
        created: list[RemoteLine] = []
        for chunk in _chunks(lines):
            data = await self.request(
                "POST", f"documents/{document}/parts/{part}/lines/bulk_create/",
                action=f"add {len(chunk)} lines to page {part} of document {document}",
                json={"lines": [{**line, "document_part": part} for line in chunk]},
            )  # fmt: skip
            by_pk = [RemoteLine.from_api(item) for item in data.get("lines", [])]
            created.extend(sorted(by_pk, key=lambda line: line.pk))  # pks follow creation
        return created

    async def update_lines(
        self, document: int, part: int, lines: Sequence[Mapping[str, Any]]
    ) -> list[RemoteLine]:
        """Change lines ``{"pk", …fields to change}``, ``BULK_CHUNK`` per request."""
        changed: list[RemoteLine] = []
        for chunk in _chunks(lines):
            data = await self.request(
                "PUT", f"documents/{document}/parts/{part}/lines/bulk_update/",
                action=f"change {len(chunk)} lines of page {part} of document {document}",
                json={"lines": list(chunk)},
            )  # fmt: skip
            changed.extend(RemoteLine.from_api(item) for item in data.get("lines", []))
        return changed

    async def delete_lines(self, document: int, part: int, lines: Sequence[int]) -> None:
        for chunk in _chunks(lines):
            await self.request(
                "POST", f"documents/{document}/parts/{part}/lines/bulk_delete/",
                action=f"delete {len(chunk)} lines of page {part} of document {document}",
                json={"lines": list(chunk)}, idempotent=True,
            )  # fmt: skip

    # ------------------------------------------------------------------ layers and texts

    async def layers(self, document: int) -> list[RemoteLayer]:
        """The document's transcription layers (not archived)."""
        items = await self.all_pages(
            f"documents/{document}/transcriptions/",
            action=f"list the transcription layers of document {document}",
        )
        return [RemoteLayer.from_api(item) for item in items]

    async def create_layer(self, document: int, name: str) -> RemoteLayer:
        """The layer called ``name``, created if the document has none of that name.

        (Listed first: the server's own "already exists" path looks the name up in every
        document and fails when two documents have a layer of that name.)"""
        for layer in await self.layers(document):
            if layer.name == name:
                return layer
        data = await self.request(
            "POST", f"documents/{document}/transcriptions/",
            action=f"create the layer {printable(name)!r} in document {document}",
            json={"name": name},
        )  # fmt: skip
        return RemoteLayer.from_api(data)

    async def ensure_layers(self, document: int, names: Iterable[str]) -> dict[str, RemoteLayer]:
        """The document's layers called ``names`` (listed once; the missing ones created)."""
        have = {layer.name: layer for layer in await self.layers(document) if not layer.archived}
        found: dict[str, RemoteLayer] = {}
        for name in names:
            layer = have.get(name)
            if layer is None:
                data = await self.request(
                    "POST", f"documents/{document}/transcriptions/",
                    action=f"create the layer {printable(name)!r} in document {document}",
                    json={"name": name},
                )  # fmt: skip
                layer = have[name] = RemoteLayer.from_api(data)
            found[name] = layer
        return found

    async def line_texts(self, document: int, part: int, layer: int) -> list[RemoteLineText]:
        """The texts of one layer on one page, in line order."""
        items = await self.all_pages(
            f"documents/{document}/parts/{part}/transcriptions/",
            action=f"read the texts of page {part}", params={"transcription": layer},
        )  # fmt: skip
        return [RemoteLineText.from_api(item) for item in items]

    async def create_line_texts(
        self, document: int, part: int, texts: Sequence[Mapping[str, Any]]
    ) -> list[RemoteLineText]:
        """Create texts ``{"line": pk, "transcription": layer pk, "content": str}``
        (one per line and layer: a second one is refused), ``BULK_CHUNK`` per request."""
        created: list[RemoteLineText] = []
        for chunk in _chunks(texts):
            data = await self.request(
                "POST", f"documents/{document}/parts/{part}/transcriptions/bulk_create/",
                action=f"add {len(chunk)} line texts to page {part} of document {document}",
                json={"lines": list(chunk)},
            )  # fmt: skip
            created.extend(RemoteLineText.from_api(item) for item in data.get("lines", []))
        return created

    async def update_line_texts(
        self, document: int, part: int, texts: Sequence[Mapping[str, Any]]
    ) -> list[RemoteLineText]:
        """Change texts ``{"pk": line text pk, "content": str}`` (the server keeps the old
        content as a version), ``BULK_CHUNK`` per request."""
        changed: list[RemoteLineText] = []
        for chunk in _chunks(texts):
            data = await self.request(
                "PUT", f"documents/{document}/parts/{part}/transcriptions/bulk_update/",
                action=f"change {len(chunk)} line texts of page {part} of document {document}",
                json={"lines": list(chunk)},
            )  # fmt: skip
            changed.extend(RemoteLineText.from_api(item) for item in data or [])
        return changed

    async def import_layout(
        self, document: int, xml: Path, *, layer: str, override: bool = False
    ) -> None:
        """Start the server's import of an ALTO or PAGE file into the layer named ``layer``
        (``POST /api/documents/{d}/import/``, mode xml); pages are matched by image file name.
        It runs in the background: follow it with ``tasks`` (method
        ``imports.tasks.document_import``)."""
        xml = Path(xml)
        data = {"mode": "xml", "name": layer}
        if override:
            data["override"] = "true"
        await self.request(
            "POST", f"documents/{document}/import/",
            action=f"import {printable(xml.name)!r} into document {document}",
            files={"upload_file": (xml.name, xml, "application/xml")}, data=data,
            limits=self._upload_limits(xml),
        )  # fmt: skip

    async def import_layout_bytes(
        self, document: int, data: bytes, *, layer: str, filename: str = "layout.zip"
    ) -> None:
        """``import_layout`` for a ZIP (or XML file) made in memory."""
        content_type = "application/zip" if filename.endswith(".zip") else "application/xml"
        limits = self.limits.with_(
            deadline=self.limits.deadline + len(data) / UPLOAD_BYTES_PER_SECOND
        )
        await self.request(
            "POST", f"documents/{document}/import/",
            action=f"import a layout file into document {document}",
            files={"upload_file": (filename, data, content_type)},
            data={"mode": "xml", "name": layer}, limits=limits,
        )  # fmt: skip

    # ------------------------------------------------------------------ models

    async def models(self, job: ModelJob | None = None) -> list[RemoteModel]:
        """The models the user owns or may use."""
        items = await self.all_pages("models/", action="list the models")
        found = [RemoteModel.from_api(item) for item in items]
        return [m for m in found if job is None or m.job == job.value]

    async def upload_model(self, path: Path, *, name: str, job: ModelJob) -> RemoteModel:
        """Upload a kraken model file (the server does not check it)."""
        path = Path(path)
        data = await self.request(
            "POST", "models/", action=f"add the model {printable(name)!r}",
            files={"file": (path.name, path, "application/octet-stream")},
            data={"name": name, "job": ModelJob(job).value}, limits=self._upload_limits(path),
        )  # fmt: skip
        return RemoteModel.from_api(data)

    async def delete_model(self, model: int) -> None:
        await self.request(
            "DELETE", f"models/{model}/", action=f"delete model {model}",
            subject=f"model {model}",
        )  # fmt: skip

    # ------------------------------------------------------------------ processing

    async def segment(
        self,
        document: int,
        parts: Sequence[int],
        *,
        model: int | None = None,
        steps: str = "both",
        override: bool = True,
    ) -> None:
        """Start the server's segmentation of some pages (``steps``: both, lines, regions or
        masks; ``model``: a Segment model's pk, else the server's default). Follow it with
        ``tasks``."""
        body: dict[str, Any] = {"parts": list(parts), "steps": steps, "override": override}
        if model is not None:
            body["model"] = model
        await self.request(
            "POST", f"documents/{document}/segment/",
            action=f"segment {len(parts)} pages of document {document}", json=body,
        )  # fmt: skip

    async def transcribe(
        self, document: int, parts: Sequence[int], *, model: int, layer: int
    ) -> None:
        """Start the server's recognition of some pages with a Recognize model into a layer."""
        await self.request(
            "POST", f"documents/{document}/transcribe/",
            action=f"transcribe {len(parts)} pages of document {document}",
            json={"parts": list(parts), "model": model, "transcription": layer},
        )  # fmt: skip

    async def tasks(self, document: int) -> list[TaskReport]:
        """The user's task reports for a document, newest first."""
        items = await self.all_pages(
            "tasks/", action=f"list the tasks of document {document}",
            params={"document": document, "ordering": "-queued_at"},
        )  # fmt: skip
        return [TaskReport.from_api(item) for item in items]

    async def cancel_tasks(self, document: int) -> None:
        """Cancel the document's queued and running tasks."""
        await self.request(
            "POST", f"documents/{document}/cancel_tasks/",
            action=f"cancel the tasks of document {document}", subject=f"document {document}",
            json={}, idempotent=True,
        )  # fmt: skip


def _missing_names(wanted: Iterable[str], have: Mapping[str, int]) -> list[str]:
    folded = {name.casefold() for name in have}
    missing: list[str] = []
    for name in wanted:
        if name and name.casefold() not in folded:
            folded.add(name.casefold())
            missing.append(name)
    return missing


def _chunks(items: Sequence[Any], size: int = BULK_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
