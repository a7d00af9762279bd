"""Which page each XML file of an import goes to: the plan of an XML import (writes nothing).

``plan_xml_import`` reads every XML file once and maps it to a page by the image file name the
XML names, compared with each page's ``original_filename``: exactly, then ignoring folders,
then ignoring case, then ignoring the extension; a file that names no image (or whose image
matches no page) is tried by its own file name against page names. Two pages that fit are
reported as ambiguous, never guessed; a second file for a page is reported as a duplicate.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from esctui.domain import Part, tag_labels
from esctui.domain.errors import JobError
from esctui.formats.page_names import (
    NAME_RULES,
    MatchLevel,
    page_key,
)
from esctui.formats.page_names import base_name as _base_name
from esctui.formats.page_names import stem as _stem
from esctui.formats.safe_zip import SkippedEntry, XmlSources, open_xml_sources
from esctui.formats.sniff import sniff_xml
from esctui.formats.xml import (
    LayoutXmlError,
    OpenedLayout,
    ParsedPage,
    open_layout_xml,
    read_layout_xml,
    validate_opened,
)
from esctui.store import Store


class XmlImportError(JobError):
    """The file as a whole cannot be read (missing, unreadable; a broken ZIP: ZipReadError)."""


# --------------------------------------------------------------------------------------------
# Matching XML files to pages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageMapping:
    """How the user steers matching (``--map``, ``--match``, ``--match-regex``).

    Attributes:
        explicit: XML file (its path or base name) -> page (a page number from 1, or a page
            name, or its image's file name); tried first.
        level: how loosely names may match otherwise (``MatchLevel``).
        pattern: a regular expression with a group ``page``: a file whose name (else the
            image it names) gives the same ``page`` as a page's name or image name goes to
            that page; a number that no page name gives is taken as the page number.
    """

    explicit: dict[str, str] = field(default_factory=dict)
    level: MatchLevel = MatchLevel.STEM
    pattern: re.Pattern[str] | None = None

    def describe(self) -> list[str]:
        """The mapping in words (for a dry run)."""
        lines = [f"--map {name}={page}" for name, page in self.explicit.items()]
        if self.level is not MatchLevel.STEM:
            lines.append(f"--match {self.level.value}")
        if self.pattern is not None:
            lines.append(f"--match-regex {self.pattern.pattern}")
        return lines


def parse_map_option(values: list[str]) -> dict[str, str]:
    """``["a.xml=3", "b.xml=fol. 2r"]`` as a dict; raises ValueError naming a bad item."""
    mapping: dict[str, str] = {}
    for value in values:
        name, equals, page = value.partition("=")
        if not equals or not name.strip() or not page.strip():
            raise ValueError(f"--map {value!r}: write it as FILE=PAGE (a page number or name)")
        mapping[name.strip()] = page.strip()
    return mapping


@dataclass(frozen=True)
class PageMatch:
    """The outcome of matching one XML file: a page, or a plain reason why none was chosen."""

    part: Part | None
    rule: str = ""  # how it matched, e.g. "image name ignoring case"
    reason: str = ""  # why it did not match
    ambiguous: bool = False


class PageMatcher:
    """Finds the page an XML file belongs to; built once per import from the document's pages
    (and the user's ``PageMapping``)."""

    RULES = NAME_RULES

    def __init__(self, parts: Iterable[Part], mapping: PageMapping | None = None) -> None:
        self.parts = list(parts)
        self.mapping = mapping or PageMapping()
        self._indexes: list[tuple[str, Callable[[str], str], dict[str, list[Part]]]] = []
        for rule, key in self.mapping.level.rules():
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
        self._by_pattern: dict[str, list[Part]] = {}
        if self.mapping.pattern is not None:
            for part in self.parts:
                found = {
                    page_key(self.mapping.pattern, name)
                    for name in (part.name, part.original_filename)
                    if name
                } - {""}
                for found_key in found:
                    self._by_pattern.setdefault(found_key, []).append(part)

    def page(self, ref: str) -> list[Part]:
        """The pages ``ref`` names: a page number (from 1), else a page or image name."""
        ref = ref.strip()
        ordered = sorted(self.parts, key=lambda p: p.order)
        if ref.isdigit():
            number = int(ref)
            return [ordered[number - 1]] if 1 <= number <= len(ordered) else []
        wanted = ref.casefold()
        return [
            p
            for p in ordered
            if wanted in (p.name.casefold(), _base_name(p.original_filename).casefold())
        ]

    def match(self, image_filename: str, xml_name: str) -> PageMatch:
        """Match by the user's map, then pattern, then the image the XML names, else by the
        XML file's own name (stem)."""
        explicit = self._explicit(xml_name)
        if explicit is not None:
            return explicit
        image_filename = image_filename.strip()
        if self.mapping.pattern is not None:
            by_pattern = self._by_regex(image_filename, xml_name)
            if by_pattern is not None:
                return by_pattern
        if image_filename:
            for rule, key, index in self._indexes:
                found = index.get(key(image_filename), [])
                if len(found) == 1:
                    return PageMatch(found[0], rule)
                if len(found) > 1:
                    return _ambiguous(found, f"the image {image_filename!r}")
        stem = _stem(xml_name).casefold()
        if self.mapping.level.by_own_name:
            found = self._by_page_name.get(stem, []) if stem else []
            if len(found) == 1:
                return PageMatch(found[0], "XML file name")
            if len(found) > 1:
                return _ambiguous(found, f"the file name {_stem(xml_name)!r}")
        strict = (
            f" (names compared: {self.mapping.level.value})"
            if self.mapping.level is not MatchLevel.STEM
            else ""
        )
        if image_filename:
            reason = (
                f"no page has the image {image_filename!r} (nor a name like {_stem(xml_name)!r})"
                + strict
            )
        else:
            reason = f"the file names no image and no page is called {_stem(xml_name)!r}" + strict
        return PageMatch(None, reason=reason)

    def _explicit(self, xml_name: str) -> PageMatch | None:
        explicit = self.mapping.explicit
        if not explicit:
            return None
        ref = explicit.get(xml_name)
        if ref is None:
            ref = explicit.get(_base_name(xml_name))
        if ref is None:
            return None
        found = self.page(ref)
        if len(found) == 1:
            return PageMatch(found[0], f"--map {ref}")
        if found:
            return _ambiguous(found, f"--map {ref!r}")
        return PageMatch(None, reason=f"--map names page {ref!r}, which the document does not have")

    def _by_regex(self, image_filename: str, xml_name: str) -> PageMatch | None:
        pattern = self.mapping.pattern
        assert pattern is not None
        for name in (xml_name, image_filename):
            key = page_key(pattern, name) if name else ""
            if not key:
                continue
            found = self._by_pattern.get(key, [])
            if len(found) == 1:
                return PageMatch(found[0], f"--match-regex page {key}")
            if len(found) > 1:
                return _ambiguous(found, f"--match-regex page {key!r}")
            if key.isdigit():
                by_number = self.page(key)
                if by_number:
                    return PageMatch(by_number[0], f"--match-regex page number {key}")
        return None


def _ambiguous(found: list[Part], what: str) -> PageMatch:
    """No page chosen: several pages fit ``what``."""
    reason = f"{len(found)} pages fit {what} ({_page_names(found)}); none was chosen"
    return PageMatch(None, reason=reason, ambiguous=True)


def _page_names(parts: list[Part]) -> str:
    names = [p.name for p in parts[:3]]
    return ", ".join(names) + (f" and {len(parts) - 3} more" if len(parts) > 3 else "")


def scan_image_filename(data: bytes) -> str:
    """The image an ALTO/PAGE file names, from its start (``formats.sniff.sniff_xml``); the
    import itself takes it from the parsed tree."""
    return sniff_xml(data).image_filename


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
    version: str = ""  # the version it goes into, when not the import's own (archives, METS)
    opened: OpenedLayout | None = field(default=None, repr=False)  # still to be validated
    tags: dict[str, int] = field(default_factory=dict)  # "language:deu" -> regions and lines

    def tags_text(self) -> str:
        """'language:deu 12, split:train 3' (most frequent first), "" without tags."""
        ordered = sorted(self.tags.items(), key=lambda item: (-item[1], item[0]))
        return ", ".join(f"{label} {count}" for label, count in ordered)

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
            "tags": self.tags,
            **({"version": self.version} if self.version else {}),
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

    def __init__(
        self,
        parts: Iterable[Part],
        source: Path,
        *,
        validate: bool = True,
        mapping: PageMapping | None = None,
        defer_validation: bool = False,
    ) -> None:
        self.parts = {p.id: p for p in parts}
        self.defer_validation = defer_validation
        self.matcher = PageMatcher(self.parts.values(), mapping)
        self.plan = XmlImportPlan(Path(source))
        self.validate = validate
        self._taken: dict[tuple[str, str], str] = {}  # (page id, version) -> XML file name

    def add(self, name: str, data: bytes) -> XmlPlanEntry:
        """Parse one file, match it to a page, and add it to the plan."""
        entry = self._entry(name, data)
        self.plan.entries.append(entry)
        return entry

    def add_some(
        self, sources: Sequence[tuple[str, bytes]], start: int, seconds: float
    ) -> list[XmlPlanEntry]:
        """Add ``sources[start:]`` until ``seconds`` have passed (at least one file)."""
        until = time.monotonic() + seconds
        added = []
        for name, data in sources[start:]:
            added.append(self.add(name, data))
            if time.monotonic() >= until:
                break
        return added

    def add_for_page(
        self, name: str, data: bytes, part: Part, *, rule: str, version: str = ""
    ) -> XmlPlanEntry:
        """Parse one file whose page is already known (an archive's or a METS's own mapping)
        and add it to the plan, going into ``version``."""
        entry = self._entry(name, data, PageMatch(part, rule), version)
        self.plan.entries.append(entry)
        return entry

    def add_parsed(
        self, name: str, parsed: ParsedPage, part: Part, *, rule: str, version: str = ""
    ) -> XmlPlanEntry:
        """Add a file parsed elsewhere (at its page's size) whose page is known."""
        entry = self._matched(name, parsed, PageMatch(part, rule), version)
        self.plan.entries.append(entry)
        return entry

    def _entry(
        self, name: str, data: bytes, known: PageMatch | None = None, version: str = ""
    ) -> XmlPlanEntry:
        """Parse the file once: its tree first (which names its image), then, matched to a
        page, read at that page's size; validated here or (``defer_validation``) later."""
        try:
            opened = open_layout_xml(data, name=name)
        except LayoutXmlError as error:  # the report names the file: the reason alone
            return XmlPlanEntry(name, EntryStatus.ERROR, reason=error.reason, version=version)
        match = known or self.matcher.match(opened.image_filename, name)
        part = match.part
        size = (part.width, part.height) if part is not None and part.width > 0 else None
        validate = self.validate and not self.defer_validation
        try:
            parsed = read_layout_xml(opened, image_size=size, validate=validate)
        except LayoutXmlError as error:
            return XmlPlanEntry(
                name,
                EntryStatus.ERROR,
                image_filename=opened.image_filename,
                reason=error.reason,
                version=version,
            )
        except Exception as error:  # a reader bug on one file must not stop all
            return XmlPlanEntry(
                name,
                EntryStatus.ERROR,
                image_filename=opened.image_filename,
                reason=f"could not be read ({type(error).__name__}: {error})",
                version=version,
            )
        entry = self._matched(name, parsed, match, version)
        if self.validate and self.defer_validation:
            entry.opened = opened
        return entry

    def _matched(
        self, name: str, parsed: ParsedPage, match: PageMatch, version: str = ""
    ) -> XmlPlanEntry:
        entry = XmlPlanEntry(
            name,
            EntryStatus.MATCHED,
            image_filename=parsed.image_filename,
            rule=match.rule,
            lines=len(parsed.lines),
            regions=len(parsed.regions),
            texts=sum(1 for line in parsed.lines if line.text),
            parsed=parsed,
            version=version,
            tags=_tag_counts(parsed),
        )
        if match.part is None:
            entry.status = EntryStatus.AMBIGUOUS if match.ambiguous else EntryStatus.UNMATCHED
            entry.reason = match.reason
            return entry
        entry.page_id, entry.page_name = match.part.id, match.part.name
        earlier = self._taken.get((match.part.id, version))
        if earlier is not None:
            entry.status = EntryStatus.DUPLICATE
            entry.reason = f"page {match.part.name!r} already gets {earlier}"
        else:
            self._taken[(match.part.id, version)] = name
        return entry


def validate_entry(entry: XmlPlanEntry) -> XmlPlanEntry:
    """Validate a file planned with ``defer_validation`` (a thread may run this while the next
    files are read); its tree is freed afterwards."""
    opened, entry.opened = entry.opened, None
    if opened is not None and entry.parsed is not None:
        entry.parsed.validation = validate_opened(opened, entry.parsed)
    return entry


def _tag_counts(parsed: ParsedPage) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tags in [r.tags for r in parsed.regions] + [line.tags for line in parsed.lines]:
        for label in tag_labels(tags):
            counts[label] = counts.get(label, 0) + 1
    return counts


def read_xml_sources(path: Path) -> tuple[XmlSources, list[SkippedEntry]]:
    """The XML files of ``path`` (a .zip, or one XML file) as (name, bytes) items that read
    their bytes one at a time, when asked (``safe_zip.open_xml_sources``), and left-out ones."""
    return open_xml_sources(Path(path).expanduser())


def plan_xml_import(
    store: Store,
    document_id: str,
    path: str | Path,
    *,
    validate: bool = True,
    mapping: PageMapping | None = None,
) -> XmlImportPlan:
    """Read ``path`` (.xml or .zip) and map each XML file to a page; writes nothing."""
    path = Path(path).expanduser()
    planner = XmlPlanner(store.list_parts(document_id), path, validate=validate, mapping=mapping)
    sources, skipped = read_xml_sources(path)
    planner.plan.zip_skipped = skipped
    for name, data in sources:
        planner.add(name, data)
    return planner.plan
