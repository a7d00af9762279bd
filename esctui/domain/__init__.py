"""Plain domain objects: no I/O, no Textual.

Every object is a dataclass that converts to and from a JSON-ready dict (``to_record`` /
``from_record``) so the store can keep it in TinyDB.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Self

Point = tuple[float, float]
Polygon = list[Point]


_ID_POOL: list[str] = []  # random ids made 512 at a time (one urandom call, not 512)


def new_id() -> str:
    """A short random identifier, unique across processes: 64 random bits (as the first half
    of a uuid4), taken from a pool filled by one ``os.urandom`` call per 512 ids (an import
    makes thousands; the pool is emptied in a forked child, which must not repeat them)."""
    try:
        return _ID_POOL.pop()
    except IndexError:
        data = os.urandom(8 * 512).hex()
        _ID_POOL.extend(data[i : i + 16] for i in range(0, len(data), 16))
        return _ID_POOL.pop()


os.register_at_fork(after_in_child=_ID_POOL.clear)


def now() -> float:
    """Seconds since the epoch (what every ``created``/``updated`` field holds)."""
    return time.time()


#: The largest image esctui decodes (250 megapixels: larger than any real scan, stops bombs);
#: the importers and the kraken engine share it.
DEFAULT_MAX_PIXELS = 250_000_000
DEFAULT_LINE_TYPE = "default"  # a line's type when nothing says otherwise (kraken's name)
STORED_ID_PREFIX = {"region": "eSc_region_", "line": "eSc_line_"}


def preferred_xml_id(kind: str, external_id: str, stored_id: str) -> str:
    """The XML ID of a region or line: the one it came with, else one made from its stored id
    (``eSc_line_<id>``), which an import back into the same document recognises."""
    return external_id or f"{STORED_ID_PREFIX[kind]}{stored_id}"


TagSet = dict[str, list[str]]
"""A region's or line's tags beyond its type: kind -> values, e.g. ``{"language": ["deu",
"lat"], "split": ["train"], "direction": ["rtl"]}`` (kraken's and eScriptorium's tags)."""

TAG_COUNT_KEYS = {"regions": "region tags", "lines": "line tags"}
"""Typology keys that count tags (``"language:deu"``) instead of types."""


def tag_labels(tags: TagSet) -> list[str]:
    """``["language:deu", "split:train"]``: each value with its kind, in a stable order."""
    return [f"{kind}:{value}" for kind in sorted(tags) for value in tags[kind]]


def describe_typology(typology: dict[str, dict[str, int]]) -> list[str]:
    """'region types: text 4, marginalia 2', the same for lines, then 'line tags:
    language:deu 12, split:train 3'; most frequent first."""
    lines = []
    for kind, counts in typology.items():
        if counts:
            ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            listed = ", ".join(f"{name} {count}" for name, count in ordered)
            label = kind if kind.endswith(" tags") else f"{kind.removesuffix('s')} types"
            lines.append(f"{label}: {listed}")
    return lines


class ReadDirection(StrEnum):
    LTR = "ltr"
    RTL = "rtl"


class LineOffset(StrEnum):
    """Where the line's baseline sits, as in eScriptorium."""

    BASELINE = "baseline"
    TOPLINE = "topline"
    CENTERED = "centered"


class Record:
    """Mixin: dataclass <-> JSON dict."""

    def to_record(self) -> dict[str, Any]:
        # Field by field rather than dataclasses.asdict (which deep-copies every point of every
        # polygon first): the store writes thousands of lines per page import.
        record = {}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            record[name] = value if type(value) in _PLAIN else _jsonable(value)
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Self:
        names = _field_name_set(cls)
        values = {k: v for k, v in record.items() if k in names}
        obj = cls(**values)
        obj._restore()
        return obj

    def _restore(self) -> None:
        """Turn JSON lists back into tuples where the type says so."""


def _names_of_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


_field_names: Callable[[type], tuple[str, ...]] = functools.cache(_names_of_fields)
"""A dataclass's field names, worked out once per class (to_record runs for every row)."""
_field_name_set: Callable[[type], frozenset[str]] = functools.cache(
    lambda cls: frozenset(_names_of_fields(cls))
)
"""The same as a set, for from_record (which runs for every row read)."""


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple and len(value) == 2 and {type(value[0]), type(value[1])} <= _PLAIN:
        return [value[0], value[1]]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if kind is list and value and type(value[0]) is tuple and len(value[0]) == 2:  # a polygon
        return list(value)  # points stay tuples (JSON writes them as arrays): no per-point work
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Record):
        return value.to_record()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    return value


def _points(raw: Any) -> Polygon | None:
    """JSON's [x, y] lists as (x, y) tuples (numbers as stored: an int stays an int)."""
    if raw is None:
        return None
    return list(map(tuple, raw))


@dataclass
class Document(Record):
    """A manuscript or book: an ordered set of pages (parts)."""

    name: str
    id: str = field(default_factory=new_id)
    main_script: str = ""
    read_direction: str = ReadDirection.LTR.value
    line_offset: str = LineOffset.BASELINE.value
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    # Region and line types met in imported XML: {"regions": {type: count}, "lines": {...}}
    typology: dict[str, dict[str, int]] = field(default_factory=dict)
    page_count: int = 0
    created: float = field(default_factory=now)
    updated: float = field(default_factory=now)


@dataclass
class Part(Record):
    """One page image of a document."""

    document_id: str
    order: int
    name: str
    original_filename: str
    filename: str  # stored image, relative to the document folder
    thumbnail: str  # relative to the document folder
    width: int
    height: int
    format: str
    byte_size: int
    sha256: str
    source: str  # local path, PDF path#page, or URL
    external_id: str = ""  # where it came from, e.g. the IIIF canvas id (for resuming imports)
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)
    region_count: int = 0
    line_count: int = 0
    typology: dict[str, dict[str, int]] = field(default_factory=dict)  # type counts of the page
    #: What kraken last did to the page, by task ("segment", "transcribe:<version id>"): the
    #: model's name and SHA-256, the options and the layout it left (for resumable reruns).
    engine_runs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Region(Record):
    """A block of a page (text region, illustration, ...)."""

    part_id: str
    polygon: Polygon
    type: str = "text"
    external_id: str = ""  # the ID in the XML it came from
    order: int = 0
    id: str = field(default_factory=new_id)
    tags: TagSet = field(default_factory=dict)  # beyond the type (language, direction, ...)

    def _restore(self) -> None:
        self.polygon = _points(self.polygon) or []


@dataclass
class Line(Record):
    """A text line: baseline and mask (boundary polygon), either may be missing."""

    part_id: str
    baseline: Polygon | None = None
    mask: Polygon | None = None
    region_id: str | None = None
    type: str = DEFAULT_LINE_TYPE
    external_id: str = ""
    order: int = 0
    id: str = field(default_factory=new_id)
    tags: TagSet = field(default_factory=dict)  # beyond the type (language, split, ...)

    def _restore(self) -> None:
        self.baseline = _points(self.baseline)
        self.mask = _points(self.mask)


class TranscriptionSource(StrEnum):
    XML = "xml"
    PDF_TEXT = "pdf-text"
    MANUAL = "manual"
    KRAKEN = "kraken"  # recognized by a kraken model


@dataclass
class Transcription(Record):
    """A named transcription version of a document."""

    document_id: str
    name: str
    source: str = TranscriptionSource.MANUAL.value
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)


MAX_TEXT_HISTORY = 10  # earlier texts kept per line and version (eScriptorium keeps 20)


@dataclass
class Word(Record):
    """A word of a line's text as the XML had it (ALTO ``String``): its box, if any."""

    text: str
    box: tuple[float, float, float, float] | None = None  # x0, y0, x1, y1
    confidence: float | None = None

    def _restore(self) -> None:
        if self.box is not None:
            x0, y0, x1, y1 = self.box
            self.box = (float(x0), float(y0), float(x1), float(y1))


@dataclass
class TextRevision(Record):
    """An earlier text of a line in one version: what it was, where it came from, when."""

    text: str
    confidence: float | None = None
    source: str = ""
    time: float = 0.0
    words: list[Word] = field(default_factory=list)

    def _restore(self) -> None:
        self.words = [Word.from_record(w) if isinstance(w, dict) else w for w in self.words]


@dataclass
class LineText(Record):
    """The text of one line in one transcription version, with its earlier texts.

    ``source`` says where the text came from ("xml: page1.xml", "manual", "restored"),
    ``time`` when; ``history`` holds the earlier texts, the most recent first, at most
    ``MAX_TEXT_HISTORY``; ``words`` the text's words with their boxes when the XML had them.
    """

    line_id: str
    transcription_id: str
    text: str
    confidence: float | None = None
    source: str = ""
    time: float = 0.0
    history: list[TextRevision] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)

    def _restore(self) -> None:
        self.history = [
            TextRevision.from_record(r) if isinstance(r, dict) else r for r in self.history
        ]
        self.words = [Word.from_record(w) if isinstance(w, dict) else w for w in self.words]

    def revision(self) -> TextRevision:
        """The current text as a revision (to put into the history)."""
        return TextRevision(self.text, self.confidence, self.source, self.time, self.words)

    def replaced_by(
        self,
        text: str,
        confidence: float | None,
        source: str,
        *,
        words: list[Word] | None = None,
        keep: int = MAX_TEXT_HISTORY,
        when: float | None = None,
    ) -> LineText:
        """This line's text replaced by ``text``: the current one goes into the history (at
        most ``keep`` kept), unless the text and confidence are the same."""
        history = list(self.history)
        if (text, confidence) != (self.text, self.confidence):
            history.insert(0, self.revision())
        return LineText(
            self.line_id,
            self.transcription_id,
            text,
            confidence,
            source,
            now() if when is None else when,
            history[: max(0, keep)],
            list(words or []),
        )

    def restored(self, index: int, *, keep: int = MAX_TEXT_HISTORY) -> LineText:
        """The text with its ``index``-th earlier text (0: the most recent) made current; the
        current one goes into the history. Raises IndexError for an index it does not have."""
        if not 0 <= index < len(self.history):
            raise IndexError(index)
        chosen = self.history[index]
        rest = self.history[:index] + self.history[index + 1 :]
        return LineText(
            self.line_id,
            self.transcription_id,
            chosen.text,
            chosen.confidence,
            f"restored ({chosen.source})" if chosen.source else "restored",
            now(),
            [self.revision(), *rest][: max(0, keep)],
            list(chosen.words),
        )


class ModelKind(StrEnum):
    SEGMENTATION = "segmentation"
    RECOGNITION = "recognition"
    READING_ORDER = "reading order"
    UNKNOWN = "unknown"


@dataclass
class Model(Record):
    """An uploaded kraken model file (may hold several nets)."""

    name: str
    filename: str  # stored file, relative to the models folder
    original_filename: str
    owner: str
    sha256: str
    byte_size: int
    kinds: list[str] = field(default_factory=list)  # ModelKind values, one per net in the file
    metadata: dict[str, Any] = field(default_factory=dict)  # what kraken says, per net
    shared_with: list[str] = field(default_factory=list)
    id: str = field(default_factory=new_id)
    created: float = field(default_factory=now)


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass
class ReportItem(Record):
    """One line of an import report: an item and what happened to it."""

    name: str
    reason: str = ""


@dataclass
class JobReport(Record):
    """What an import did: imported items, skipped items with reasons, and notes."""

    imported: list[ReportItem] = field(default_factory=list)
    skipped: list[ReportItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    verb: str = "imported"  # what was done to the items: "written" for an export, ...

    def _restore(self) -> None:
        self.imported = [
            ReportItem.from_record(r) if isinstance(r, dict) else r for r in self.imported
        ]
        self.skipped = [
            ReportItem.from_record(r) if isinstance(r, dict) else r for r in self.skipped
        ]

    def add_imported(self, name: str, detail: str = "") -> None:
        self.imported.append(ReportItem(name, detail))

    def add_skipped(self, name: str, reason: str) -> None:
        self.skipped.append(ReportItem(name, reason))

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def summary(self) -> str:
        text = f"{len(self.imported)} {self.verb}, {len(self.skipped)} skipped"
        extra = ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
        return f"{text} ({extra})" if extra else text


@dataclass
class Job(Record):
    """A record of one import run, kept for the Jobs screen."""

    kind: str  # "images", "pdf", "iiif", "xml", "model", "masks", ...
    title: str
    document_id: str | None = None
    status: str = JobStatus.RUNNING.value
    total: int = 0
    done: int = 0
    error: str = ""
    report: JobReport = field(default_factory=JobReport)
    user: str = ""
    pid: int = 0
    id: str = field(default_factory=new_id)
    started: float = field(default_factory=now)
    finished: float | None = None

    def _restore(self) -> None:
        if isinstance(self.report, dict):
            self.report = JobReport.from_record(self.report)
