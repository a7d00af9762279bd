"""The MODS description of a METS document as text and metadata pairs."""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from esctui.formats.mets.model import MODS_NAMESPACE
from esctui.formats.xml.common import local_name


def clean_text(text: str | None) -> str:
    """The text with its runs of white space made single spaces, stripped."""
    return " ".join((text or "").split())


_MODS = f"{{{MODS_NAMESPACE}}}"
ROLE_NAMES = {
    "aut": "Author",
    "cre": "Creator",
    "scr": "Scribe",
    "edt": "Editor",
    "pbl": "Publisher",
    "prt": "Printer",
    "ill": "Illustrator",
    "trl": "Translator",
    "ctb": "Contributor",
    "own": "Former owner",
    "fmo": "Former owner",
    "dte": "Dedicatee",
    "rcp": "Addressee",
}
_MODS_SINGLE = (
    ("physicalDescription/extent", "Extent"),
    ("genre", "Genre"),
    ("abstract", "Summary"),
    ("note", "Note"),
    ("accessCondition", "Rights"),
    ("recordInfo/recordIdentifier", "Record identifier"),
)


def _m(path: str) -> str:
    return "/".join(f"{_MODS}{part}" for part in path.split("/"))


def _mods_title(mods: etree._Element) -> str:
    infos = mods.findall(_m("titleInfo"))
    info = next((i for i in infos if not i.get("type")), infos[0] if infos else None)
    if info is None:
        return ""
    title = " ".join(
        part
        for part in (
            clean_text(info.findtext(_m("nonSort"))),
            clean_text(info.findtext(_m("title"))),
        )
        if part
    )
    if subtitle := clean_text(info.findtext(_m("subTitle"))):
        title = f"{title}: {subtitle}" if title else subtitle
    numbers = [clean_text(info.findtext(_m(tag))) for tag in ("partNumber", "partName")]
    if part := ", ".join(n for n in numbers if n):
        title = f"{title}. {part}" if title else part
    return title


def _mods_names(mods: etree._Element) -> Iterator[tuple[str, str]]:
    for name in mods.findall(_m("name")):
        shown = clean_text(name.findtext(_m("displayForm")))
        if not shown:
            parts = {p.get("type") or "": clean_text(p.text) for p in name.findall(_m("namePart"))}
            family, given = parts.pop("family", ""), parts.pop("given", "")
            shown = ", ".join(x for x in (family, given) if x) or " ".join(
                v for v in parts.values() if v
            )
            if dates := parts.get("date"):
                shown = shown.replace(dates, "").strip() + f" ({dates})"
        if not shown:
            continue
        terms = name.findall(_m("role/roleTerm"))
        text_term = next((t for t in terms if t.get("type") == "text"), None)
        code_term = next((t for t in terms if t.get("type") != "text"), None)
        role = clean_text(text_term.text) if text_term is not None else ""
        if not role and code_term is not None:
            role = ROLE_NAMES.get(clean_text(code_term.text).lower(), clean_text(code_term.text))
        yield (role[:1].upper() + role[1:] if role else "Name"), shown


def _mods_dates(info: etree._Element) -> str:
    """The date of an originInfo: the key date, else the first; a range as "start–end"."""
    dates = [
        d
        for d in info
        if local_name(d.tag) in ("dateIssued", "dateCreated", "copyrightDate", "dateOther")
        and clean_text(d.text)
    ]
    if not dates:
        return ""
    keyed = [d for d in dates if d.get("keyDate") == "yes"]
    kind = local_name((keyed or dates)[0].tag)
    same = [d for d in dates if local_name(d.tag) == kind]
    start = next((clean_text(d.text) for d in same if d.get("point") == "start"), "")
    end = next((clean_text(d.text) for d in same if d.get("point") == "end"), "")
    if start and end:
        return f"{start}–{end}"
    return clean_text((keyed or dates)[0].text)


def mods_description(mods: etree._Element) -> tuple[str, list[tuple[str, str]]]:
    """The title, and the other fields as (label, value) pairs, of one MODS record."""
    fields: list[tuple[str, str]] = list(_mods_names(mods))
    for info in mods.findall(_m("originInfo")):
        if info.get("eventType") == "digitization" or info.find(_m("dateCaptured")) is not None:
            continue  # when the scans were made, not the document
        if date := _mods_dates(info):
            fields.append(("Date", date))
        places = info.findall(_m("place/placeTerm"))
        place = next((p for p in places if p.get("type") == "text"), places[0] if places else None)
        if place is not None and clean_text(place.text):
            fields.append(("Place", clean_text(place.text)))
        if publisher := clean_text(info.findtext(_m("publisher"))):
            fields.append(("Publisher", publisher))
    for location in mods.findall(_m("location")):
        if institution := clean_text(location.findtext(_m("physicalLocation"))):
            fields.append(("Holding institution", institution))
        shelfmarks = location.findall(_m("shelfLocator"))
        shelfmarks += location.findall(_m("holdingSimple/copyInformation/shelfLocator"))
        fields += [("Shelfmark", clean_text(s.text)) for s in shelfmarks if clean_text(s.text)]
        if url := clean_text(location.findtext(_m("url"))):
            fields.append(("Web page", url))
    for identifier in mods.findall(_m("identifier")):
        value = clean_text(identifier.text)
        kind = (identifier.get("type") or "").strip()
        if not value:
            continue
        if kind.lower() in ("shelfmark", "signature", "callnumber", "call number"):
            fields.append(("Shelfmark", value))
        else:
            fields.append((f"Identifier ({kind})" if kind else "Identifier", value))
    languages = [clean_text(t.text) for t in mods.findall(_m("language/languageTerm"))]
    if languages := [lang for lang in languages if lang]:
        fields.append(("Language", "; ".join(dict.fromkeys(languages))))
    for path, label in _MODS_SINGLE:
        fields += [
            (label, clean_text(el.text)) for el in mods.findall(_m(path)) if clean_text(el.text)
        ]
    unique = list(dict.fromkeys(fields))
    return _mods_title(mods), unique
