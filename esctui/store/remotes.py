"""The eScriptorium servers a person uses, and their tokens, in the config folder.

::

    <config>/remotes.json     {"servers": {"NAME": {"url": "https://…", "insecure": false}}}
    <config>/tokens.json      {"tokens": {"NAME": "<token>"}}            mode 0600, always
    <config>/.remotes.lock    filelock for read-modify-write

The config folder is ``ESCTUI_CONFIG`` or platformdirs' user config dir
(``store/config_location.py``), never the data folder: a data folder is shared or copied, a
token is personal. The token file is created 0600 (never readable by others, not even for a
moment: the temporary file is made with that mode) and is tightened again if someone loosened
it. Tokens are never part of ``RemoteServer``, of ``repr``, or of any message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from filelock import FileLock, Timeout

from esctui.domain.errors import ConflictError, EsctuiError, NotFoundError, StoreError
from esctui.domain.text import printable
from esctui.store.atomic import fsync_dir
from esctui.store.config_location import resolve_config_dir

SERVERS_FILE = "remotes.json"
TOKENS_FILE = "tokens.json"
LOCK_FILE = ".remotes.lock"
LOCK_TIMEOUT_SECONDS = 10
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class RemoteConfigError(EsctuiError):
    """A server name, address or token that cannot be used (the caller's mistake)."""


@dataclass(frozen=True)
class RemoteServer:
    """An eScriptorium server known by a short name. ``url`` is its base address (no /api/)."""

    name: str
    url: str
    insecure: bool = False  # do not verify its TLS certificate (only when asked)

    @property
    def api_url(self) -> str:
        """The API root, ``<url>/api/``."""
        return f"{self.url}/api/"

    @property
    def host(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    def to_record(self) -> dict[str, Any]:
        return {"name": self.name, "url": self.url, "insecure": self.insecure}


def check_name(name: str) -> str:
    """``name`` if it can name a server: letters, digits, ``.``, ``_``, ``-``; at most 64."""
    if not _NAME.match(name):
        raise RemoteConfigError(
            f"{printable(name)!r} cannot name a server: use letters, digits, '.', '_' or '-' "
            "(at most 64, starting with a letter or digit)"
        )
    return name


def normalize_url(url: str) -> str:
    """A server's base address: scheme and host kept, a trailing ``/`` or ``/api/`` dropped.

    Refuses what is not an http(s) address, and an address carrying a user name or password
    (a token is given apart, never in the address)."""
    text = url.strip()
    if any(char.isspace() or not char.isprintable() for char in text):
        raise RemoteConfigError(
            f"{printable(text)!r} is not a server address: it holds spaces or control characters"
        )
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        hint = f" (did you mean https://{text}?)" if "://" not in text and text else ""
        raise RemoteConfigError(
            f"{printable(text)!r} is not a server address: it should look like "
            f"https://escriptorium.example.org{hint}"
        )
    if parts.username or parts.password:
        raise RemoteConfigError(
            "the address holds a user name or password; give the address alone and the token "
            "apart (--token-env, or on standard input)"
        )
    if parts.query or parts.fragment:
        raise RemoteConfigError(
            f"{printable(text)!r} has a query or fragment (?… or #…); give the server's base "
            "address only"
        )
    try:
        port = parts.port
    except ValueError:
        raise RemoteConfigError(f"{printable(text)!r} has an invalid port number") from None
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api").rstrip("/")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def check_token(token: str) -> str:
    """The token without surrounding white space; refused when empty or holding spaces or
    control characters (it goes into an HTTP header). Never quoted in the message."""
    token = token.strip()
    if not token:
        raise RemoteConfigError("the token is empty")
    if any(char.isspace() or not char.isprintable() for char in token):
        raise RemoteConfigError(
            "the token holds spaces or control characters; copy it again from the server "
            "(your eScriptorium profile page, API key)"
        )
    return token


class RemoteRegistry:
    """The servers and tokens in one config folder. Every method reads the files afresh, so
    several esctui processes can use the same folder."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = resolve_config_dir(folder)

    # ------------------------------------------------------------------ reading

    def servers(self) -> list[RemoteServer]:
        """Every server, by name."""
        records = self._read(SERVERS_FILE).get("servers", {})
        return [self._server(name, records[name]) for name in sorted(records)]

    def get(self, name: str) -> RemoteServer:
        """The server called ``name``; NotFoundError naming the known ones otherwise."""
        records = self._read(SERVERS_FILE).get("servers", {})
        if name not in records:
            known = ", ".join(printable(n) for n in sorted(records)) or "none yet"
            raise NotFoundError(
                f"no server is called {printable(name)!r} (known: {known}); add it with "
                "`esctui remote add NAME URL`"
            )
        return self._server(name, records[name])

    def token(self, name: str) -> str | None:
        """The token saved for ``name``, or None."""
        token = self._read(TOKENS_FILE, private=True).get("tokens", {}).get(name)
        return token if isinstance(token, str) and token else None

    def has_token(self, name: str) -> bool:
        return self.token(name) is not None

    # ------------------------------------------------------------------ changing

    def add(self, server: RemoteServer, token: str | None = None) -> RemoteServer:
        """Save a new server (and its token); ConflictError when the name is taken."""
        server = RemoteServer(check_name(server.name), normalize_url(server.url), server.insecure)
        token = check_token(token) if token is not None else None
        with self._locked():
            servers = self._read(SERVERS_FILE)
            records = servers.setdefault("servers", {})
            if server.name in records:
                raise ConflictError(
                    f"a server called {server.name!r} is already saved "
                    f"({printable(records[server.name].get('url', ''))}); remove it first or "
                    "choose another name"
                )
            if token is not None:
                self._write_token(server.name, token)
            records[server.name] = {"url": server.url, "insecure": server.insecure}
            self._write(SERVERS_FILE, servers)
        return server

    def set_token(self, name: str, token: str) -> None:
        """Save (or replace) the token of a saved server."""
        token = check_token(token)
        with self._locked():
            self.get(name)
            self._write_token(name, token)

    def forget_token(self, name: str) -> None:
        with self._locked():
            tokens = self._read(TOKENS_FILE, private=True)
            if tokens.get("tokens", {}).pop(name, None) is not None:
                self._write(TOKENS_FILE, tokens, private=True)

    def remove(self, name: str) -> RemoteServer:
        """Forget a server and its token (nothing changes on the server itself)."""
        with self._locked():
            server = self.get(name)
            tokens = self._read(TOKENS_FILE, private=True)
            if tokens.get("tokens", {}).pop(name, None) is not None:
                self._write(TOKENS_FILE, tokens, private=True)
            servers = self._read(SERVERS_FILE)
            servers["servers"].pop(name)
            self._write(SERVERS_FILE, servers)
        return server

    # ------------------------------------------------------------------ files

    @staticmethod
    def _server(name: str, record: dict[str, Any]) -> RemoteServer:
        return RemoteServer(name, str(record.get("url", "")), bool(record.get("insecure", False)))

    def _write_token(self, name: str, token: str) -> None:
        tokens = self._read(TOKENS_FILE, private=True)
        tokens.setdefault("tokens", {})[name] = token
        self._write(TOKENS_FILE, tokens, private=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._make_folder()
        lock = FileLock(str(self.folder / LOCK_FILE), timeout=LOCK_TIMEOUT_SECONDS)
        try:
            with lock:
                yield
        except Timeout:
            raise StoreError(
                f"another esctui is changing the saved servers in {self.folder} and did not "
                f"finish within {LOCK_TIMEOUT_SECONDS} s; try again"
            ) from None

    def _make_folder(self) -> None:
        if not self.folder.is_dir():
            self.folder.mkdir(parents=True, mode=0o700, exist_ok=True)

    def _read(self, filename: str, *, private: bool = False) -> dict[str, Any]:
        path = self.folder / filename
        try:
            if private:
                self._tighten(path)
            raw = path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as error:
            raise StoreError(f"cannot read {path}: {error.strerror or error}") from None
        try:
            data = json.loads(raw) if raw.strip() else {}
        except ValueError:
            # never quote the content: it may be the token file
            raise StoreError(f"{path} is damaged (not JSON); fix or remove it") from None
        if not isinstance(data, dict):
            raise StoreError(f"{path} is damaged (not a JSON object); fix or remove it")
        return data

    @staticmethod
    def _tighten(path: Path) -> None:
        """Make a private file 0600 again if its mode was loosened."""
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            os.chmod(path, mode & 0o600)

    def _write(self, filename: str, data: dict[str, Any], *, private: bool = False) -> None:
        self._make_folder()
        text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        write_file_atomically(
            self.folder / filename, text.encode("utf-8"), mode=0o600 if private else 0o644
        )


def write_file_atomically(path: Path, data: bytes, *, mode: int) -> None:
    """Replace ``path`` atomically, the new file created with ``mode`` from the start.

    (``store.atomic.atomic_write_bytes`` with a mode: its temporary file gets the umask's mode,
    which for a token file would be readable by others until a chmod.)
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have taken bits away
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
