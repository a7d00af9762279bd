"""Which page each XML file of an import goes to: the plan of an XML import (writes nothing).

``plan_xml_import`` reads every XML file once and maps it to a page by the image file name the
XML names, compared with each page's ``original_filename``: exactly, then ignoring folders,
then ignoring case, then ignoring the extension; a file that names no image (or whose image
matches no page) is tried by its own file name against page names. Two pages that fit are
reported as ambiguous, never guessed; a second file for a page is reported as a duplicate.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path, PurePosixPath

from esctui.domain import Part
from esctui.domain.errors import JobError
from esctui.formats.safe_zip import SkippedEntry, iter_zip_xml
from esctui.formats.xml import LayoutXmlError, ParsedPage, parse_layout_xml
from esctui.store import Store


class XmlImportError(JobError):
    """The file as a whole cannot be read (missing, unreadable; a broken ZIP: ZipReadError)."""


# --------------------------------------------------------------------------------------------
# Matching XML files to pages
# --------------------------------------------------------------------------------------------


def _base_name(name: str) -> str:
    """The last component of a path written with / or \\ (or of a URL path)."""
    name = name.split("?", 1)[0].split("#", 1)[0] if "://" in name else name
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def _stem(name: str) -> str:
    base = _base_name(name)
    stem = PurePosixPath(base).stem
    return stem or base


@dataclass(frozen=True)
class PageMatch:
    """The outcome of matching one XML file: a page, or a plain reason why none was chosen."""

    part: Part | None
    rule: str = ""  # how it matched, e.g. "image name ignoring case"
    reason: str = ""  # why it did not match
    ambiguous: bool = False


class PageMatcher:
    """Finds the page an XML file belongs to; built once per import from the document's pages."""

    RULES: tuple[tuple[str, Callable[[str], str]], ...] = (
        ("image file name", lambda n: n),
        ("image name ignoring folders", _base_name),
        ("image name ignoring case", lambda n: _base_name(n).casefold()),
        ("image name ignoring extension", lambda n: _stem(n).casefold()),
    )

    def __init__(self, parts: Iterable[Part]) -> None:
        self.parts = list(parts)
        self._indexes: list[tuple[str, Callable[[str], str], dict[str, list[Part]]]] = []
        for rule, key in self.RULES:
            index: dict[str, list[Part]] = {}
            for part in self.parts:
                if part.original_filename:
                    index.setdefault(key(part.original_filename), []).append(part)
            self._indexes.append((rule, key, index))
        self._by_page_name: dict[str, list[Part]] = {}
        for part in self.parts:
            keys = {part.name.casefold()}
            if part.original_filename:
                keys.add(_stem(part.original_filename).casefold())
            for name in keys:
                self._by_page_name.setdefault(name, []).append(part)

    def match(self, image_filename: str, xml_name: str) -> PageMatch:
        """Match by the image the XML names, else by the XML file's own name (stem)."""
        image_filename = image_filename.strip()
        if image_filename:
            for rule, key, index in self._indexes:
                found = index.get(key(image_filename), [])
                if len(found) == 1:
                    return PageMatch(found[0], rule)
                if len(found) > 1:
                    return _ambiguous(found, f"the image {image_filename!r}")
        stem = _stem(xml_name).casefold()
        found = self._by_page_name.get(stem, []) if stem else []
        if len(found) == 1:
            return PageMatch(found[0], "XML file name")
        if len(found) > 1:
            return _ambiguous(found, f"the file name {_stem(xml_name)!r}")
        if image_filename:
            reason = (
                f"no page has the image {image_filename!r} (nor a name like {_stem(xml_name)!r})"
            )
        else:
            reason = f"the file names no image and no page is called {_stem(xml_name)!r}"
        return PageMatch(None, reason=reason)


def _ambiguous(found: list[Part], what: str) -> PageMatch:
    """No page chosen: several pages fit ``what``."""
    reason = f"{len(found)} pages fit {what} ({_page_names(found)}); none was chosen"
    return PageMatch(None, reason=reason, ambiguous=True)


def _page_names(parts: list[Part]) -> str:
    names = [p.name for p in parts[:3]]
    return ", ".join(names) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


_PAGE_IMAGE = re.compile(rb"<(?:[\w.-]+:)?Page\b[^>]*?\bimageFilename\s*=\s*([\"'])(.*?)\1", re.S)
_ALTO_IMAGE = re.compile(rb"<(?:[\w.-]+:)?fileName\s*>([^<]*)<", re.S)


def scan_image_filename(data: bytes) -> str:
    """A quick look for the image file name before parsing (checked against the parse)."""
    head = data[:200_000]
    match = _PAGE_IMAGE.search(head)
    raw = match.group(2) if match else None
    if raw is None and (match := _ALTO_IMAGE.search(head)) is not None:
        raw = match.group(1)
    if raw is None:
        return ""
    try:
        return html.unescape(raw.decode("utf-8")).strip()
    except UnicodeDecodeError:
        return ""


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


class EntryStatus(StrEnum):
    """What became of one XML file of an import."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass
class XmlPlanEntry:
    """One XML file: the page it goes to (or why none), and what it holds."""

    name: str  # file name, or path inside the ZIP
    status: EntryStatus
    image_filename: str = ""
    page_id: str | None = None
    page_name: str | None = None
    rule: str = ""  # how the page was matched
    lines: int = 0
    regions: int = 0
    texts: int = 0  # lines with text
    reason: str = ""  # why it is not imported (unmatched, ambiguous, duplicate, error)
    parsed: ParsedPage | None = field(default=None, repr=False)

    @property
    def matched(self) -> bool:
        return self.status == EntryStatus.MATCHED

    def to_record(self) -> dict[str, object]:
        """JSON-ready, without the parse result."""
        return {
            "file": self.name,
            "status": self.status.value,
            "image": self.image_filename,
            "page_id": self.page_id,
            "page": self.page_name,
            "matched_by": self.rule,
            "lines": self.lines,
            "regions": self.regions,
            "texts": self.texts,
            "reason": self.reason,
        }


@dataclass
class XmlImportPlan:
    """Every XML file of an import mapped to a page (or not), plus left-out ZIP entries."""

    source: Path
    entries: list[XmlPlanEntry] = field(default_factory=list)
    zip_skipped: list[SkippedEntry] = field(default_factory=list)

    @property
    def matched(self) -> list[XmlPlanEntry]:
        return [e for e in self.entries if e.matched]

    @property
    def not_matched(self) -> list[XmlPlanEntry]:
        return [e for e in self.entries if not e.matched]

    def to_record(self) -> dict[str, object]:
        return {
            "source": str(self.source),
            "files": [e.to_record() for e in self.entries],
            "zip_skipped": [{"file": s.name, "reason": s.reason} for s in self.zip_skipped],
        }


class XmlPlanner:
    """Builds a plan file by file (so a job can report progress between files)."""

    def __init__(self, parts: Iterable[Part], source: Path, *, validate: bool = True) -> None:
        self.parts = {p.id: p for p in parts}
        self.matcher = PageMatcher(self.parts.values())
        self.plan = XmlImportPlan(Path(source))
        self.validate = validate
        self._taken: dict[str, str] = {}  # page id -> XML file name

    def add(self, name: str, data: bytes) -> XmlPlanEntry:
        """Parse one file, match it to a page, and add it to the plan."""
        entry = self._entry(name, data)
        self.plan.entries.append(entry)
        return entry

    def add_some(
        self, sources: list[tuple[str, bytes]], start: int, seconds: float
    ) -> list[XmlPlanEntry]:
        """Add ``sources[start:]`` until ``seconds`` have passed (at least one file)."""
        until = time.monotonic() + seconds
        added = []
        for name, data in sources[start:]:
            added.append(self.add(name, data))
            if time.monotonic() >= until:
                break
        return added

    def _entry(self, name: str, data: bytes) -> XmlPlanEntry:
        guess = scan_image_filename(data)
        match = self.matcher.match(guess, name)
        try:
            parsed = self._parse(data, name, match.part)
            if parsed.image_filename != guess:  # the quick look was fooled: match again
                first = match.part
                match = self.matcher.match(parsed.image_filename, name)
                if match.part is not None and match.part is not first:  # another page's size
                    parsed = self._parse(data, name, match.part)
        except LayoutXmlError as error:  # the report names the file: the reason alone
            return XmlPlanEntry(name, EntryStatus.ERROR, image_filename=guess, reason=error.reason)
        except Exception as error:  # a reader bug on one file must not stop all
            return XmlPlanEntry(
                name,
                EntryStatus.ERROR,
                image_filename=guess,
                reason=f"could not be read ({type(error).__name__}: {error})",
            )
        entry = XmlPlanEntry(
            name,
            EntryStatus.MATCHED,
            image_filename=parsed.image_filename,
            rule=match.rule,
            lines=len(parsed.lines),
            regions=len(parsed.regions),
            texts=sum(1 for line in parsed.lines if line.text),
            parsed=parsed,
        )
        if match.part is None:
            entry.status = EntryStatus.AMBIGUOUS if match.ambiguous else EntryStatus.UNMATCHED
            entry.reason = match.reason
            return entry
        entry.page_id, entry.page_name = match.part.id, match.part.name
        earlier = self._taken.get(match.part.id)
        if earlier is not None:
            entry.status = EntryStatus.DUPLICATE
            entry.reason = f"page {match.part.name!r} already gets {earlier}"
        else:
            self._taken[match.part.id] = name
        return entry

    def _parse(self, data: bytes, name: str, part: Part | None) -> ParsedPage:
        size = (part.width, part.height) if part is not None and part.width > 0 else None
        return parse_layout_xml(data, name=name, image_size=size, validate=self.validate)


def read_xml_sources(path: Path) -> tuple[list[tuple[str, bytes]], list[SkippedEntry]]:
    """The XML files of ``path`` (a .zip, or one XML file) as (name, bytes), and left-out ones."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise XmlImportError(f"{path}: the file does not exist.")
    if path.suffix.lower() == ".zip":
        skipped: list[SkippedEntry] = []
        entries = [(e.name, e.data) for e in iter_zip_xml(path, on_skip=skipped.append)]
        return entries, skipped
    try:
        return [(path.name, path.read_bytes())], []
    except OSError as error:
        raise XmlImportError(f"{path.name}: the file cannot be read ({error.strerror}).") from error


def plan_xml_import(
    store: Store, document_id: str, path: str | Path, *, validate: bool = True
) -> XmlImportPlan:
    """Read ``path`` (.xml or .zip) and map each XML file to a page; writes nothing."""
    path = Path(path).expanduser()
    planner = XmlPlanner(store.list_parts(document_id), path, validate=validate)
    sources, skipped = read_xml_sources(path)
    planner.plan.zip_skipped = skipped
    for name, data in sources:
        planner.add(name, data)
    return planner.plan
