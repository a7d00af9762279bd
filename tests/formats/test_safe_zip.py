"""Safe ZIP reading: real corpus XML files packed into archives written in ``tmp_path``."""

from __future__ import annotations

import stat
import warnings
import zipfile
from pathlib import Path

import pytest

from esctui.formats.safe_zip import (
    SkippedEntry,
    ZipEntry,
    ZipReadError,
    iter_zip_xml,
    read_zip_xml,
)
from esctui.formats.xml import parse_layout_xml

PAGE = "page/170025120000003,0074.xml"
ALTO = "alto/bsb00084914_00007.xml"


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def reasons(skipped: list[SkippedEntry]) -> dict[str, str]:
    return {entry.name: entry.reason for entry in skipped}


def test_xml_entries_in_subfolders_are_read_and_parse(corpus: Path, tmp_path: Path) -> None:
    page, alto = (corpus / PAGE).read_bytes(), (corpus / ALTO).read_bytes()
    archive = make_zip(
        tmp_path / "export.zip",
        [
            ("export/page/0074.xml", page),
            ("export/alto/bsb.XML", alto),
            ("export/", b""),
            ("export/images/0014.jpg", (corpus / "images/0014.jpg").read_bytes()),
            ("readme.txt", b"hello"),
        ],
    )
    contents = read_zip_xml(archive)
    assert contents.entries == [
        ZipEntry("export/page/0074.xml", page),
        ZipEntry("export/alto/bsb.XML", alto),
    ]
    assert reasons(contents.skipped) == {
        "export/images/0014.jpg": "not an XML file",
        "readme.txt": "not an XML file",
    }
    parsed = [parse_layout_xml(e.data, name=e.name) for e in contents.entries]
    assert [len(p.lines) for p in parsed] == [44, 31]


def test_unsafe_entries_are_skipped_with_reasons(corpus: Path, tmp_path: Path) -> None:
    xml = (corpus / PAGE).read_bytes()
    link = zipfile.ZipInfo("link.xml")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(
        tmp_path / "unsafe.zip",
        [
            ("../evil.xml", xml),
            ("a/../../evil2.xml", xml),
            ("/etc/abs.xml", xml),
            ("C:\\Windows\\win.xml", xml),
            (link, b"/etc/passwd"),
            ("__MACOSX/._page.xml", b"\x00\x05\x16\x07"),
            ("good.xml", xml),
            ("good.xml", b"<other/>"),
        ],
    )
    skipped: list[SkippedEntry] = []
    entries = list(iter_zip_xml(archive, on_skip=skipped.append))
    assert entries == [ZipEntry("good.xml", xml)]
    found = reasons(skipped)
    assert "goes up with '..'" in found["../evil.xml"]
    assert "goes up with '..'" in found["a/../../evil2.xml"]
    assert "absolute" in found["/etc/abs.xml"]
    assert "absolute" in found["C:\\Windows\\win.xml"]
    assert found["link.xml"] == "it is a symbolic link"
    assert found["__MACOSX/._page.xml"] == "macOS metadata, not a document file"
    assert [s.reason for s in skipped if s.name == "good.xml"] == [
        "the archive holds another entry with the same name"
    ]


def test_encrypted_entry_is_skipped(corpus: Path, tmp_path: Path) -> None:
    xml = (corpus / PAGE).read_bytes()
    archive = make_zip(tmp_path / "enc.zip", [("secret.xml", xml)])
    raw = bytearray(archive.read_bytes())
    # Python cannot write encrypted entries: set the "encrypted" flag bit in both headers.
    local = raw.find(b"PK\x03\x04")
    central = raw.find(b"PK\x01\x02")
    raw[local + 6] |= 0x1
    raw[central + 8] |= 0x1
    archive.write_bytes(bytes(raw))
    contents = read_zip_xml(archive)
    assert contents.entries == []
    assert reasons(contents.skipped) == {"secret.xml": "it is encrypted (password-protected)"}


def test_size_and_bomb_limits(corpus: Path, tmp_path: Path) -> None:
    xml = (corpus / PAGE).read_bytes()
    padded = xml.replace(b"<Metadata>", b"<Metadata>" + b" " * 3_000_000, 1)
    archive = make_zip(tmp_path / "bomb.zip", [("bomb.xml", padded), ("page.xml", xml)])
    contents = read_zip_xml(archive)
    assert [e.name for e in contents.entries] == ["page.xml"]
    assert "compression bomb" in reasons(contents.skipped)["bomb.xml"]
    # The padded file is a real (if odd) PAGE file: with a looser ratio it is read.
    loose = read_zip_xml(archive, max_ratio=100_000)
    assert [e.name for e in loose.entries] == ["bomb.xml", "page.xml"]
    assert len(parse_layout_xml(loose.entries[0].data).lines) == 44
    small = read_zip_xml(archive, max_entry_bytes=len(xml) + 1, max_ratio=100_000)
    assert [e.name for e in small.entries] == ["page.xml"]
    assert reasons(small.skipped)["bomb.xml"].startswith("too large (3.0 MB")


def test_archive_limits_refuse_the_whole_archive(corpus: Path, tmp_path: Path) -> None:
    xml = (corpus / PAGE).read_bytes()
    archive = make_zip(tmp_path / "many.zip", [(f"p{i}.xml", xml) for i in range(5)])
    with pytest.raises(ZipReadError, match="many.zip: the archive has 5 entries; at most 4"):
        read_zip_xml(archive, max_entries=4)
    with pytest.raises(ZipReadError, match="many.zip: the archive would expand to"):
        read_zip_xml(archive, max_total_bytes=4 * len(xml))
    assert len(read_zip_xml(archive, max_entries=5, max_total_bytes=5 * len(xml)).entries) == 5


def test_not_a_zip_and_damaged_zip(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(ZipReadError, match=r"^170025120000003,0074.xml: this is not a ZIP"):
        read_zip_xml(corpus / PAGE)
    archive = make_zip(tmp_path / "cut.zip", [("page.xml", (corpus / PAGE).read_bytes())])
    (tmp_path / "cut.zip").write_bytes(archive.read_bytes()[:-30])  # end record cut off
    with pytest.raises(ZipReadError, match="cut.zip: this is not a ZIP archive, or it is damaged"):
        read_zip_xml(tmp_path / "cut.zip")
    with pytest.raises(ZipReadError, match="missing.zip: the file does not exist"):
        read_zip_xml(tmp_path / "missing.zip")


def test_corrupt_entry_is_skipped_not_fatal(corpus: Path, tmp_path: Path) -> None:
    xml = (corpus / PAGE).read_bytes()
    archive = make_zip(tmp_path / "crc.zip", [("bad.xml", xml), ("good.xml", xml)])
    raw = bytearray(archive.read_bytes())
    first_data = raw.find(b"PK\x03\x04") + 30 + len("bad.xml")
    raw[first_data + 100] ^= 0xFF  # damage the compressed bytes of the first entry
    archive.write_bytes(bytes(raw))
    contents = read_zip_xml(archive)
    assert [e.name for e in contents.entries] == ["good.xml"]
    assert reasons(contents.skipped)["bad.xml"].startswith("it is damaged and cannot be unpacked")


def test_xml_sources_read_one_entry_at_a_time_when_asked(corpus: Path, tmp_path: Path) -> None:
    """``open_xml_sources``: names and checks first, each entry unpacked only when its item is
    taken; an entry damaged inside is found then, named in ``skipped``, its bytes empty."""
    from esctui.formats.safe_zip import open_xml_sources

    page = (corpus / PAGE).read_bytes()
    archive = make_zip(
        tmp_path / "pages.zip",
        [("a.xml", page), ("b.xml", page + b"<!-- b -->"), ("c.xml", page), ("notes.txt", b"x")],
    )
    data = bytearray(archive.read_bytes())  # damage c.xml's compressed bytes (its CRC fails)
    with zipfile.ZipFile(archive) as opened:
        info = opened.getinfo("c.xml")
    start = info.header_offset + 30 + len(info.filename) + 10
    data[start : start + 20] = bytes(20)
    archive.write_bytes(bytes(data))

    sources, skipped = open_xml_sources(archive)
    assert len(sources) == 3 and reasons(skipped) == {"notes.txt": "not an XML file"}
    view = sources[1:]  # a slice reads nothing
    assert len(view) == 2 and len(skipped) == 1
    name, body = sources[1]
    assert name == "b.xml" and body.endswith(b"<!-- b -->")
    assert sources[1][0] == "b.xml"  # a second look at the same item: not read again
    assert [name for name, _ in view] == ["b.xml", "c.xml"]
    assert sources[2][1] == b"" and "damaged" in reasons(skipped)["c.xml"]
    sources.close()


def test_xml_sources_refuse_what_is_not_a_file_before_reading(tmp_path: Path) -> None:
    from esctui.formats.safe_zip import open_xml_sources

    (tmp_path / "folder").mkdir()
    with pytest.raises(ZipReadError, match="folder is a folder: give an ALTO/PAGE .xml file"):
        open_xml_sources(tmp_path / "folder")
    with pytest.raises(ZipReadError, match=r"missing\.xml: the file does not exist"):
        open_xml_sources(tmp_path / "missing.xml")
    big = tmp_path / "big.xml"
    with open(big, "wb") as handle:  # 60 MB, sparse: refused from its size alone
        handle.truncate(60_000_000)
    with pytest.raises(ZipReadError, match="XML files larger than 50 MB are not read"):
        open_xml_sources(big)
