"""Archive inventory: a Transkribus export ZIP, an eScriptorium export ZIP, an OCR-D workspace
folder, a plain ZIP of images and XML, unsafe entries, and streamed extraction."""

from __future__ import annotations

import os
import stat
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest

from esctui.formats.archive import (
    ArchiveEntryError,
    ArchiveError,
    ArchiveInventory,
    ArchiveLimits,
    ImageArchive,
)
from esctui.formats.xml import parse_layout_xml
from tests.formats.mets_builders import (
    ESC_ALTO,
    TRP_PAGE,
    LibraryPage,
    escriptorium_export,
    library_mets,
    ocrd_workspace,
    transkribus_export,
    zip_folder,
)
from tests.helpers import MakeImage

PREFIX = "4711/Kirchenbuch_Wien_1642/"


def reasons(inventory: ArchiveInventory) -> dict[str, str]:
    return {entry.name: entry.reason for entry in inventory.skipped}


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


def test_transkribus_export_zip(corpus: Path, tmp_path: Path) -> None:
    transkribus_export(corpus, tmp_path / "doc", alto_keys=True)
    # An ALTO file the METS does not list (its ALTO hrefs are server download links).
    (tmp_path / "doc" / "alto").mkdir()
    (tmp_path / "doc" / "alto" / "0014.xml").write_bytes((corpus / ESC_ALTO).read_bytes())
    archive = zip_folder(tmp_path / "doc", tmp_path / "export.zip", PREFIX)
    with ImageArchive(archive) as reader:
        found = reader.inventory()
        assert found.mets_path == PREFIX + "mets.xml"
        assert found.order.startswith(f"the pages are in the order of the METS file {PREFIX}")
        assert "a METS in the archive wins over the order of the file names" in found.order
        # METS order; the names' natural order would put 0014.jpg first.
        assert [p.image for p in found.pages] == [
            PREFIX + "170025120000003,0074.jpg",
            PREFIX + "0014.jpg",
            PREFIX + "input.jpg",
        ]
        alto = PREFIX + "alto"
        assert [p.transcriptions for p in found.pages] == [
            {"PAGEXML": PREFIX + "page/170025120000003,0074.xml"},
            {"PAGEXML": PREFIX + "page/0014.xml", alto: PREFIX + "alto/0014.xml"},
            {"PAGEXML": PREFIX + "page/input.xml"},
        ]
        assert found.versions == {"PAGEXML": "METS Import | PAGEXML", alto: "METS Import | alto"}
        assert [(x.name, x.image_filename, x.page, x.rule) for x in found.xml_files] == [
            (
                PREFIX + "page/170025120000003,0074.xml",
                "170025120000003,0074.jpg",
                1,
                "listed in the METS",
            ),
            (PREFIX + "page/0014.xml", "0014.jpg", 2, "listed in the METS"),
            (PREFIX + "page/input.xml", "input.jpg", 3, "listed in the METS"),
            (PREFIX + "alto/0014.xml", "0014.jpg", 2, "image name ignoring folders"),
        ]
        assert "1 ALTO/PAGE file(s) are not listed in the METS" in found.notes[-1]
        skipped = reasons(found)
        assert skipped[PREFIX + "metadata.xml"] == (
            "not ALTO, PAGE or METS XML (its root element is <trpDocMetadata>)"
        )
        assert skipped["alto/Get?id=OGSEQOMZJCSTUCDJKYXTAKDT (file ALTO_1)"] == (
            "there is no such file in the archive export.zip"
        )
        assert found.mets is not None and found.mets.title == "Kirchenbuch Wien 1642"
        # The files really are the pages' files.
        image = reader.extract(found.pages[0].image, tmp_path / "staging")
        assert image.read_bytes() == (corpus / "images/170025120000003,0074.jpg").read_bytes()
        page_xml = reader.read_xml(found.pages[0].transcriptions["PAGEXML"])
        assert page_xml == (corpus / TRP_PAGE).read_bytes()
        assert len(parse_layout_xml(page_xml).lines) == 44


def test_escriptorium_export_zip(corpus: Path, tmp_path: Path) -> None:
    archive = escriptorium_export(corpus, tmp_path / "export_doc12_register_alto.zip")
    with ImageArchive(archive) as reader:
        found = reader.inventory(version_name="eScriptorium")
        assert found.mets_path == "METS.xml"
        assert found.mets is not None
        assert found.mets.image_group == "image"
        assert found.mets.page_order == "the PHYSICAL structMap"  # TYPE="physical"
        [export] = found.mets.transcription_groups
        assert (export.use, export.format) == ("export", "alto")  # no MIMETYPE: the file tells
        assert found.versions == {"export": "eScriptorium | export"}
        assert [(p.image, p.transcriptions) for p in found.pages] == [
            ("0014.jpg", {"export": "0014.xml"}),
            ("input.jpg", {"export": "input.xml"}),
        ]
        assert [(x.name, x.image_filename, x.page) for x in found.xml_files] == [
            ("0014.xml", "0014.jpg", 1),
            ("input.xml", "input.jpg", 2),
        ]
        assert found.skipped == [] and found.notes == []
        alto = reader.read_xml("0014.xml")
        assert alto == (corpus / ESC_ALTO).read_bytes()
        assert len(parse_layout_xml(alto).lines) == 2


def test_ocrd_workspace_folder(corpus: Path, tmp_path: Path) -> None:
    ocrd_workspace(corpus, tmp_path / "ws")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "x.jpg").write_bytes((corpus / "images/0014.jpg").read_bytes())
    os.symlink(tmp_path / "elsewhere", tmp_path / "ws" / "OCR-D-LINKED")
    with ImageArchive(tmp_path / "ws") as reader:
        found = reader.inventory()
        assert found.mets_path == "mets.xml"
        assert [p.image for p in found.pages] == [
            "OCR-D-IMG/OCR-D-IMG_0001.jpg",
            "OCR-D-IMG/OCR-D-IMG_0002.jpg",
        ]
        assert found.pages[1].transcriptions == {
            "OCR-D-GT-SEG-PAGE": "OCR-D-GT-SEG-PAGE/OCR-D-GT-SEG-PAGE_0002.xml"
        }
        assert found.versions == {"OCR-D-GT-SEG-PAGE": "METS Import | OCR-D-GT-SEG-PAGE"}
        # The binarised image is in the METS, but not in the chosen image group.
        assert found.notes == [
            "1 image(s) of the archive are not pages of the METS and are left out "
            "(OCR-D-IMG-BIN/OCR-D-IMG-BIN_0001.png)."
        ]
        assert reasons(found) == {"OCR-D-LINKED": "it is a symbolic link (to a folder)"}
        staged = list(reader.iter_page_images(found, tmp_path / "staging"))
        assert [s.path.name for s in staged if s.path] == [
            "OCR-D-IMG_0001.jpg",
            "OCR-D-IMG_0002.jpg",
        ]


def test_zip_without_mets_natural_order_and_matching(corpus: Path, tmp_path: Path) -> None:
    hand = (corpus / "images/170025120000003,0074.jpg").read_bytes()
    small = (corpus / "images/0014.jpg").read_bytes()
    printed = (corpus / "images/input.jpg").read_bytes()
    archive = make_zip(
        tmp_path / "scans.zip",
        [
            ("scans/page10.jpg", printed),
            ("scans/page2.jpg", small),
            ("scans/170025120000003,0074.jpg", hand),
            ("scans/0014.JPG", small),
            ("xml/170025120000003,0074.xml", (corpus / TRP_PAGE).read_bytes()),
            ("xml/0014.xml", (corpus / ESC_ALTO).read_bytes()),
            ("xml/page2.xml", (corpus / "invalid/alto_image.xml").read_bytes()),  # no fileName
            ("xml/explicit_ro.xml", (corpus / "page/explicit_ro.xml").read_bytes()),
            ("xml/abbyy.xml", (corpus / "invalid/finereader10_not_alto.xml").read_bytes()),
            ("notes/readme.txt", b"scanned 2024"),
            ("scans/fake.jpg", b"this is not a picture"),
            ("scans/book.pdf", (corpus / "pdf/three_scans.pdf").read_bytes()),
        ],
    )
    with ImageArchive(archive) as reader:
        found = reader.inventory()
    assert found.mets is None
    assert found.order == "the images in the natural order of their paths (page2 before page10)"
    assert [p.image for p in found.pages] == [
        "scans/0014.JPG",
        "scans/170025120000003,0074.jpg",
        "scans/page2.jpg",
        "scans/page10.jpg",
    ]
    matches = {x.name: (x.page, x.rule or x.reason) for x in found.xml_files}
    assert matches == {
        "xml/0014.xml": (1, "image name ignoring case"),
        "xml/170025120000003,0074.xml": (2, "image name ignoring folders"),
        "xml/explicit_ro.xml": (
            None,
            "no image of the archive is 'test.jpg' (nor named like the file)",
        ),
        "xml/page2.xml": (3, "XML file name"),
    }
    assert found.pages[1].transcriptions == {"xml": "xml/170025120000003,0074.xml"}
    assert found.versions == {"xml": "METS Import"}
    skipped = reasons(found)
    assert skipped["notes/readme.txt"] == "not an image nor an XML file"
    assert skipped["scans/fake.jpg"] == "its name says it is an image, but its content is not one"
    assert skipped["scans/book.pdf"] == "not an image nor an XML file"
    assert skipped["xml/abbyy.xml"].startswith("not ALTO, PAGE or METS XML (its root element is <")


def test_unsafe_and_broken_entries_are_skipped(corpus: Path, tmp_path: Path) -> None:
    image = (corpus / "images/0014.jpg").read_bytes()
    link = zipfile.ZipInfo("link.jpg")
    link.create_system = 3
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bomb = b"\xff\xd8\xff\xe0" + b"\x00" * 5_000_000  # a JPEG start, then nothing but zeros
    archive = make_zip(
        tmp_path / "unsafe.zip",
        [
            ("../evil.jpg", image),
            ("/abs/evil.jpg", image),
            (link, b"/etc/passwd"),
            ("__MACOSX/._good.jpg", b"\x00\x05\x16\x07"),
            ("bomb.jpg", bomb),
            ("good.jpg", image),
            ("good.jpg", image),
            ("secret.jpg", image),
            (
                "xxe.xml",
                b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PcGts>&e;</PcGts>',
            ),
        ],
    )
    raw = bytearray(archive.read_bytes())
    # Python cannot write encrypted entries: set the "encrypted" flag of secret.jpg's headers.
    local = raw.find(b"PK\x03\x04", raw.find(b"secret.jpg") - 40)
    central = raw.rfind(b"PK\x01\x02", 0, raw.rfind(b"secret.jpg"))
    raw[local + 6] |= 0x1
    raw[central + 8] |= 0x1
    archive.write_bytes(bytes(raw))
    with ImageArchive(archive) as reader:
        found = reader.inventory()
        assert [p.image for p in found.pages] == ["good.jpg"]
        skipped = reasons(found)
        assert skipped["../evil.jpg"].startswith("its path goes up with '..'")
        assert skipped["/abs/evil.jpg"].startswith("its path is absolute")
        assert skipped["link.jpg"] == "it is a symbolic link"
        assert skipped["__MACOSX/._good.jpg"] == "macOS metadata, not a document file"
        assert "a possible compression bomb" in skipped["bomb.jpg"]
        assert skipped["good.jpg"] == "the archive holds another entry with the same name"
        assert skipped["secret.jpg"] == "it is encrypted (password-protected)"
        assert skipped["xxe.xml"].startswith("the file declares XML entities in a DOCTYPE")
        with pytest.raises(ArchiveEntryError, match=r"^unsafe.zip: secret.jpg: it is encrypted"):
            reader.extract("secret.jpg", tmp_path / "staging")
        with pytest.raises(
            ArchiveEntryError, match="there is no such file in the archive unsafe.zip"
        ):
            reader.extract("../etc/passwd", tmp_path / "staging")
    assert not (tmp_path / "evil.jpg").exists()


def test_hrefs_in_an_archived_mets_stay_in_the_archive(corpus: Path, tmp_path: Path) -> None:
    image = (corpus / "images/0014.jpg").read_bytes()
    pages = [LibraryPage(n, str(n), f"{n}.jpg") for n in (1, 2, 3)]
    mets = library_mets(pages, groups=("MAX",), image_base="../")
    mets = mets.replace(b'"../max/2.jpg"', b'"../../outside.jpg"')
    mets = mets.replace(b'"../max/3.jpg"', b'"file:///etc/passwd"')
    archive = make_zip(tmp_path / "lib.zip", [("doc/mets.xml", mets), ("max/1.jpg", image)])
    with ImageArchive(archive) as reader:
        found = reader.inventory()
    assert [p.image for p in found.pages] == ["max/1.jpg", "", ""]
    assert reasons(found) == {
        "../../outside.jpg (file FILE_0002_MAX)": (
            "its path goes up with '..' out of the archive lib.zip"
        ),
        "file:///etc/passwd (file FILE_0003_MAX)": (
            "it points at a file on this computer (file://), which a METS file may not do"
        ),
    }


def test_archive_limits_and_choice_of_mets(corpus: Path, tmp_path: Path) -> None:
    image = (corpus / "images/0014.jpg").read_bytes()
    many = make_zip(tmp_path / "many.zip", [(f"p{i}.jpg", image) for i in range(5)])
    with pytest.raises(ArchiveError, match="many.zip: the archive has 5 entries; at most 4"):
        ImageArchive(many, limits=ArchiveLimits(max_entries=4))
    with pytest.raises(ArchiveError, match="many.zip: its files would expand to more than"):
        ImageArchive(many, limits=ArchiveLimits(max_total_bytes=4 * len(image))).inventory()
    with pytest.raises(ArchiveError, match="this is not a ZIP archive, or it is damaged"):
        ImageArchive(corpus / "images/0014.jpg")
    ocrd_workspace(corpus, tmp_path / "a")
    ocrd_workspace(corpus, tmp_path / "b")
    two = zip_folder(tmp_path / "a", tmp_path / "two.zip", "a/")
    with zipfile.ZipFile(two, "a") as out:
        for path in sorted((tmp_path / "b").rglob("*")):
            if path.is_file():
                out.write(path, "b/" + path.relative_to(tmp_path / "b").as_posix())
    with ImageArchive(two) as reader:
        with pytest.raises(
            ArchiveError,
            match=r"holds 2 METS files \(a/mets.xml, b/mets.xml\); "
            "it may hold several documents: choose the METS file",
        ):
            reader.inventory()
        found = reader.inventory(mets_path="b/mets.xml")
        assert [p.image for p in found.pages] == [
            "b/OCR-D-IMG/OCR-D-IMG_0001.jpg",
            "b/OCR-D-IMG/OCR-D-IMG_0002.jpg",
        ]


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_extraction_is_streamed_one_image_at_a_time(
    tmp_path: Path, make_image: MakeImage, kind: str
) -> None:
    # Scan-sized pages (grain makes them as big as real scans), stored as scanners' ZIPs are.
    scans = [
        make_image(tmp_path / f"{n:03d}.png", size=(1600, 1200), noise=True) for n in (1, 2, 3)
    ]
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as out:
        for scan in scans:
            out.write(scan, f"pages/{scan.name}")
    if kind == "folder":
        archive = tmp_path / "big"
        (archive / "pages").mkdir(parents=True)
        for scan in scans:
            (archive / "pages" / scan.name).write_bytes(scan.read_bytes())
    smallest = min(scan.stat().st_size for scan in scans)
    assert smallest > 1_000_000
    limits = ArchiveLimits(chunk_bytes=64 * 1024)
    tracemalloc.start()
    try:
        with ImageArchive(archive, limits=limits) as reader:
            found = reader.inventory()
            _, inventory_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            staging = tmp_path / "staging"
            images = reader.iter_page_images(found, staging)
            first = next(images)
            assert first.path is not None
            assert [p.name for p in staging.iterdir()] == ["001.png"]  # only the one asked for
            first.path.unlink()  # the job moves each file away before the next
            rest = list(images)
            _, extract_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert inventory_peak < smallest / 2, inventory_peak  # not even one scan in memory
    assert extract_peak < smallest / 2, extract_peak  # a chunk at a time, not a whole scan
    assert [r.path.name for r in rest if r.path] == ["002.png", "003.png"]
    assert [r.path.read_bytes() for r in rest if r.path] == [s.read_bytes() for s in scans[1:]]


def test_volumes_linked_from_an_archived_mets(corpus: Path, tmp_path: Path) -> None:
    image = (corpus / "images/0014.jpg").read_bytes()
    links = "".join(
        f'      <mets:div ID="LOG_{n}" TYPE="volume" LABEL="Band {n}">\n'
        f'        <mets:mptr LOCTYPE="URL" xlink:href="vol{n}/mets.xml"/>\n      </mets:div>\n'
        for n in (2, 1)
    )
    anchor = library_mets([], groups=(), logical_type="multivolume_work", links=links)
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [("mets.xml", anchor)]
    for n in (1, 2):
        pages = [LibraryPage(k, f"{n}.{k}", f"{k}.jpg") for k in (1, 2)]
        volume = library_mets(
            pages, groups=("MAX",), logical_type="volume", parent_href="../mets.xml"
        )
        entries += [(f"vol{n}/mets.xml", volume)]
        entries += [(f"vol{n}/max/{k}.jpg", image) for k in (1, 2)]
    archive = make_zip(tmp_path / "work.zip", entries)
    with ImageArchive(archive) as reader:
        found = reader.inventory()
    assert found.mets_path == "mets.xml"
    assert [d.source for d in found.linked_mets] == [
        "vol2/mets.xml (in the archive work.zip)",
        "vol1/mets.xml (in the archive work.zip)",
    ]
    # The anchor's order (Band 2 first, as it lists them), each volume's pages in order.
    assert [(p.index, p.label, p.image) for p in found.pages] == [
        (1, "2.1", "vol2/max/1.jpg"),
        (2, "2.2", "vol2/max/2.jpg"),
        (3, "1.1", "vol1/max/1.jpg"),
        (4, "1.2", "vol1/max/2.jpg"),
    ]
    assert "and of the 2 METS files it links to" in found.order
    assert found.skipped == []
