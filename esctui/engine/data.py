"""What goes into and comes out of the engine: plain dataclasses, no kraken, no I/O.

Coordinates are page-image pixels, ``(x, y)``. Results are in kraken's reading order and carry
which worker did the page, how long kraken took and the worker's peak memory so far (for job
reports and benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from esctui.domain import Line, Point, Polygon, ReadDirection

TextDirection = Literal["horizontal-lr", "horizontal-rl", "vertical-lr", "vertical-rl"]
TEXT_DIRECTIONS: tuple[str, ...] = ("horizontal-lr", "horizontal-rl", "vertical-lr", "vertical-rl")

#: What a segmentation returns: lines and regions, only lines, or only regions.
SegmentationContent = Literal["both", "lines", "regions"]
SEGMENTATION_CONTENTS: tuple[str, ...] = ("both", "lines", "regions")

BBox = tuple[float, float, float, float]  # x0, y0, x1, y1
Points = Sequence[tuple[float, float]]  # a polyline or polygon given to the engine

#: Stages of a page, in the order they happen (``Progress.stage``).
STAGE_STARTING = "starting kraken"
STAGE_MODEL = "loading the model"
STAGE_NETWORK = "running the network"  # segmentation: the neural net on the whole page
STAGE_REGIONS = "finding regions"
STAGE_BASELINES = "finding baselines"
STAGE_POLYGONS = "drawing line masks"  # segmentation: one step per line (done/total)
STAGE_RECOGNIZING = "recognizing lines"  # one step per line (done/total)
STAGE_MASKS = "computing masks"  # one step per line (done/total)


def text_direction_for(read_direction: str) -> TextDirection:
    """kraken's principal text direction for a document's reading direction (ltr/rtl)."""
    return "horizontal-rl" if read_direction == ReadDirection.RTL.value else "horizontal-lr"


@dataclass(frozen=True)
class Progress:
    """One step of a page: ``stage`` (see the STAGE_ constants) and, per line, done/total."""

    page: str
    stage: str
    done: int = 0
    total: int = 0  # 0: the stage has no count

    def describe(self) -> str:
        """'page 3: recognizing lines 12/40'."""
        count = f" {self.done}/{self.total}" if self.total else ""
        return f"{self.page}: {self.stage}{count}"


@dataclass(frozen=True)
class LineShape:
    """A line to recognize: a baseline with its mask (boundary), or a box only."""

    baseline: Points | None = None
    boundary: Points | None = None
    bbox: BBox | None = None

    @property
    def kind(self) -> Literal["baselines", "bbox"]:
        """kraken's segmentation type of this line."""
        return "baselines" if self.baseline is not None else "bbox"

    @classmethod
    def from_line(cls, line: Line) -> LineShape:
        """A stored line: its baseline and mask in whole pixels, or the box of its mask when it
        has no baseline (a line from a box segmenter)."""
        if line.baseline:
            return cls(baseline=_pixels(line.baseline), boundary=_pixels(line.mask or []) or None)
        if line.mask:
            xs = [x for x, _ in line.mask]
            ys = [y for _, y in line.mask]
            return cls(bbox=(round(min(xs)), round(min(ys)), round(max(xs)), round(max(ys))))
        return cls()

    def to_wire(self) -> dict[str, Any]:
        if self.baseline is not None:
            return {"baseline": _points(self.baseline), "boundary": _points(self.boundary)}
        return {"bbox": list(self.bbox) if self.bbox is not None else None}


@dataclass(frozen=True)
class SegmentedRegion:
    """A region kraken found: its outline and type (e.g. "text")."""

    polygon: Polygon
    type: str


@dataclass(frozen=True)
class SegmentedLine:
    """A line kraken found: baseline, mask (None if kraken drew none), type, region index
    (into ``PageSegmentation.regions``, or None) and position in the reading order."""

    baseline: Polygon
    mask: Polygon | None
    type: str
    region: int | None
    order: int


@dataclass(frozen=True)
class PageSegmentation:
    """Regions and lines of one page. Regions are listed in the reading order of their first
    line (regions without lines last); lines in kraken's reading order."""

    regions: list[SegmentedRegion]
    lines: list[SegmentedLine]
    notes: list[str] = field(default_factory=list)  # kraken's warnings about this page
    worker_pid: int = 0
    seconds: float = 0.0  # time kraken spent on the page, in the worker
    cpu_seconds: float = 0.0  # processor time the worker spent on it (all its threads)
    peak_memory: int = 0  # the worker's peak resident memory so far, in bytes

    @classmethod
    def from_wire(cls, data: dict[str, Any], info: dict[str, Any]) -> PageSegmentation:
        regions = [SegmentedRegion(_polygon(r["polygon"]), str(r["type"])) for r in data["regions"]]
        lines = [
            SegmentedLine(
                baseline=_polygon(ln["baseline"]),
                mask=_polygon(ln["mask"]) if ln.get("mask") else None,
                type=str(ln["type"]),
                region=ln.get("region"),
                order=int(ln["order"]),
            )
            for ln in data["lines"]
        ]
        return cls(regions, lines, list(data.get("notes", [])), **_info(info))


@dataclass(frozen=True)
class RecognizedLine:
    """The text kraken read on one line and its confidence: the mean of the confidences of the
    line's characters (0-1), None when kraken read no character."""

    text: str
    confidence: float | None


@dataclass(frozen=True)
class PageRecognition:
    """The recognized lines of one page, in the order they were given."""

    lines: list[RecognizedLine]
    notes: list[str] = field(default_factory=list)
    worker_pid: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory: int = 0

    @classmethod
    def from_wire(cls, data: dict[str, Any], info: dict[str, Any]) -> PageRecognition:
        lines = [RecognizedLine(str(ln["text"]), ln.get("confidence")) for ln in data["lines"]]
        return cls(lines, list(data.get("notes", [])), **_info(info))


@dataclass(frozen=True)
class PageMasks:
    """kraken's polygons around the given baselines, in their order.

    ``polygons`` are exactly what ``calculate_polygonal_environment`` returns (closed rings of
    whole pixels, None where kraken found none); ``masks`` are the same as esctui stores them
    (see :func:`esctui.engine.masks.mask_from_kraken`). A page may be shared among several
    workers: ``worker_pids`` lists them, ``seconds`` is the longest share, ``cpu_seconds`` the
    sum of all.
    """

    polygons: list[list[tuple[int, int]] | None]
    notes: list[str] = field(default_factory=list)
    worker_pids: tuple[int, ...] = ()
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_memory: int = 0

    @property
    def masks(self) -> list[Polygon | None]:
        from esctui.engine.masks import mask_from_kraken

        return [mask_from_kraken(polygon) for polygon in self.polygons]

    @classmethod
    def combine(cls, count: int, shares: Sequence[tuple[Sequence[int], PageMasks]]) -> PageMasks:
        """One page's masks from the shares of several workers (indices, their masks)."""
        polygons: list[list[tuple[int, int]] | None] = [None] * count
        notes: list[str] = []
        for indices, share in shares:
            for index, polygon in zip(indices, share.polygons, strict=True):
                polygons[index] = polygon
            notes.extend(n for n in share.notes if n not in notes)
        parts = [share for _, share in shares]
        return cls(
            polygons,
            notes,
            tuple(dict.fromkeys(p for share in parts for p in share.worker_pids)),
            max((share.seconds for share in parts), default=0.0),
            sum(share.cpu_seconds for share in parts),
            max((share.peak_memory for share in parts), default=0),
        )

    @classmethod
    def from_wire(cls, data: dict[str, Any], info: dict[str, Any]) -> PageMasks:
        polygons = [
            [(int(x), int(y)) for x, y in polygon] if polygon is not None else None
            for polygon in data["polygons"]
        ]
        details = _info(info)
        return cls(
            polygons,
            list(data.get("notes", [])),
            (details["worker_pid"],),
            details["seconds"],
            details["cpu_seconds"],
            details["peak_memory"],
        )


def _info(info: dict[str, Any]) -> dict[str, Any]:
    return {
        "worker_pid": int(info.get("pid", 0)),
        "seconds": float(info.get("seconds", 0.0)),
        "cpu_seconds": float(info.get("cpu_seconds", 0.0)),
        "peak_memory": int(info.get("peak_memory", 0)),
    }


def _polygon(points: Sequence[Sequence[float]]) -> Polygon:
    return [(float(x), float(y)) for x, y in points]


def _points(polygon: Points | None) -> list[list[float]] | None:
    return None if polygon is None else [[x, y] for x, y in polygon]


def _pixels(polygon: Sequence[Point]) -> list[tuple[int, int]]:
    """Whole pixels, consecutive repeats removed (kraken works on integer coordinates)."""
    points: list[tuple[int, int]] = []
    for x, y in polygon:
        point = (round(x), round(y))
        if not points or points[-1] != point:
            points.append(point)
    return points
