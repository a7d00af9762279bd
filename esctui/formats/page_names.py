"""The one set of rules for matching a file to a page by name, shared by the XML import (its
pages' ``original_filename``) and the archive inventory (its images' paths).

``NAME_RULES`` go from strict to loose: the exact name, then ignoring folders, then ignoring
case, then ignoring the extension. ``MatchLevel`` says how far down the list a user lets an
import go (``--match exact|basename|stem``); ``page_key`` applies a ``--match-regex`` with a
named group ``page`` to a name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import PurePosixPath

# The file name endings taken for page images (light: imported by the TUI's file picker).
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jpe",
        ".png",
        ".tif",
        ".tiff",
        ".webp",
        ".bmp",
        ".gif",
        ".jp2",
        ".j2k",
        ".jpx",
        ".jpf",
    }
)


def base_name(name: str) -> str:
    """The last component of a path written with / or \\ (or of a URL path)."""
    name = name.split("?", 1)[0].split("#", 1)[0] if "://" in name else name
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def stem(name: str) -> str:
    """The base name without its extension (``scans/0012.jpg`` -> ``0012``)."""
    base = base_name(name)
    return PurePosixPath(base).stem or base


NameRule = tuple[str, Callable[[str], str]]

NAME_RULES: tuple[NameRule, ...] = (
    ("image file name", lambda n: n),
    ("image name ignoring folders", base_name),
    ("image name ignoring case", lambda n: base_name(n).casefold()),
    ("image name ignoring extension", lambda n: stem(n).casefold()),
)


class MatchLevel(StrEnum):
    """How loosely names may match: ``exact`` (the name as written), ``basename`` (also
    ignoring folders and case), ``stem`` (also ignoring the extension, and an XML file's own
    name against page names: the default)."""

    EXACT = "exact"
    BASENAME = "basename"
    STEM = "stem"

    def rules(self) -> tuple[NameRule, ...]:
        """The ``NAME_RULES`` this level allows."""
        return NAME_RULES[: {"exact": 1, "basename": 3, "stem": 4}[self.value]]

    @property
    def by_own_name(self) -> bool:
        """Whether a file that names no (matching) image may match by its own file name."""
        return self is MatchLevel.STEM


PAGE_GROUP = "page"


def compile_page_regex(pattern: str) -> re.Pattern[str]:
    """A ``--match-regex``: must compile and hold a named group ``page``; raises ValueError
    with a sentence saying what is wrong."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"the pattern {pattern!r} is not a valid regular expression ({error})"
        ) from None
    if PAGE_GROUP not in compiled.groupindex:
        raise ValueError(
            f"the pattern {pattern!r} has no group named 'page': write it as (?P<page>...), "
            r"e.g. '(?P<page>\d{4})'"
        )
    return compiled


def page_key(pattern: re.Pattern[str], name: str) -> str:
    """What the pattern's ``page`` group finds in the name's base name ("" when nothing).
    Digits are compared as numbers: ``0012`` and ``12`` give the same key."""
    match = pattern.search(base_name(name))
    if match is None or match.group(PAGE_GROUP) is None:
        return ""
    value = match.group(PAGE_GROUP).strip()
    return str(int(value)) if value.isdigit() else value.casefold()
