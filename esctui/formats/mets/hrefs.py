"""Where a METS href leads: a URL or a path inside the folder/archive, or refused."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from esctui.formats.mets.model import LocalFiles, MetsSettings

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_PLAIN_PATH = re.compile(r"[^/?#.;][^?#;]*")  # a relative path without query, dots or params


class RefusedHref(Exception):
    """A file or link that cannot be used; the message is the reason."""


class HrefResolver:
    """Turns hrefs into URLs or local paths, refusing what a METS may not point at."""

    def __init__(self, base: str | LocalFiles | None, settings: MetsSettings) -> None:
        self.base_url = base if isinstance(base, str) else ""
        self.files = None if isinstance(base, str) else base
        allowed = settings.allowed_domains
        self.allowed = None if allowed is None else tuple(d.strip().lower() for d in allowed)
        self._base_host_problem: str | None = None  # the METS's own host, checked once
        self._base_folder = ""  # scheme://host/path/ of the METS, for plain relative paths
        if self.base_url:
            parts = urlsplit(self.base_url)
            folder = parts.path.rsplit("/", 1)[0] + "/"
            self._base_folder = urlunsplit((parts.scheme, parts.netloc, folder, "", ""))
            try:
                self._checked_url(self.base_url)
            except RefusedHref as refusal:
                self._base_host_problem = str(refusal)

    def resolve(self, href: str) -> tuple[str, str]:
        """(url, "") for a remote file, ("", path) for a local one; raises ``RefusedHref``."""
        href = href.strip()
        if not href:
            raise RefusedHref("it has no address (its xlink:href is empty)")
        if "\x00" in href:
            raise RefusedHref("its address contains a NUL character")
        match = _SCHEME.match(href)
        scheme = match.group(1).lower() if match else ""
        if scheme == "file":
            raise RefusedHref(
                "it points at a file on this computer (file://), which a METS file may not do"
            )
        if len(scheme) == 1 or href.startswith("\\"):  # C:\scans\0001.tif, \\server\share
            raise RefusedHref("its path is absolute (a place on some computer's disk)")
        if scheme in ("http", "https"):
            return self._checked_url(href), ""
        if scheme:
            raise RefusedHref(
                f"its address starts with '{scheme}:', which cannot be fetched "
                "(only http and https addresses, or paths beside the METS file)"
            )
        if self.base_url and not href.startswith("//"):  # on the METS's own host
            if self._base_host_problem is not None:
                raise RefusedHref(self._base_host_problem)
            if _PLAIN_PATH.fullmatch(href) and "/." not in href:  # as urljoin, but faster
                return self._base_folder + href, ""
            return urljoin(self.base_url, href), ""
        if self.base_url:  # //host/path: another host, perhaps
            return self._checked_url(urljoin(self.base_url, href)), ""
        if self.files is None:
            raise RefusedHref(
                "its path is relative, but the METS was read without its address or folder"
            )
        return "", self._local_path(href, self.files)

    def _checked_url(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if not host:
            raise RefusedHref("its address names no host")
        if self.allowed is not None and "*" not in self.allowed:
            netloc = parts.netloc.lower().rsplit("@", 1)[-1]
            if not any(
                host == domain or host.endswith("." + domain) or netloc == domain
                for domain in self.allowed
            ):
                raise RefusedHref(
                    f"it is on {host}, which is not among the allowed hosts "
                    f"({', '.join(self.allowed) or 'none'})"
                )
        return url

    def _local_path(self, href: str, files: LocalFiles) -> str:
        relative = href.replace("\\", "/")
        if relative.startswith("/"):
            raise RefusedHref("its path is absolute (a place on some computer's disk)")
        folder = posixpath.dirname(files.mets_path)
        joined = posixpath.normpath(posixpath.join(folder or ".", relative))
        if joined == ".." or joined.startswith("../"):
            raise RefusedHref(f"its path goes up with '..' out of {files.label}")
        if joined in (".", ""):
            raise RefusedHref("its path names a folder, not a file")
        problem = files.problem(joined)
        decoded = unquote(joined)
        if problem is not None and decoded != joined and files.problem(decoded) is None:
            return decoded  # written percent-encoded (a URL path), stored with plain characters
        if problem is not None:
            raise RefusedHref(problem)
        return joined
