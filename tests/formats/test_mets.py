"""METS reading: an OCR-D workspace, a Transkribus export, a library's METS/MODS served over
HTTP inside an OAI-PMH answer, linked METS files, and hostile or broken METS files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import httpx
import pytest
from PIL import Image

from esctui.domain.errors import EsctuiError
from esctui.formats.mets import (
    MetsDocument,
    MetsError,
    MetsSettings,
    MetsWalk,
    read_mets,
)
from esctui.formats.xml import parse_layout_xml
from tests.formats.mets_builders import (
    TRP_PAGE,
    LibraryPage,
    library_mets,
    oai_get_record,
    ocrd_workspace,
    transkribus_export,
)
from tests.servers.iiif import IiifTestServer

PAGES = [
    LibraryPage(1, "[Ir]", "00000001.jpg", "fulltext/00000001.xml"),
    LibraryPage(2, "[Iv]", "00000002.jpg"),
    LibraryPage(3, "1", "00000003.jpg", "fulltext/00000003.xml"),
]


def reasons(document: MetsDocument) -> dict[str, str]:
    return {entry.name: entry.reason for entry in document.skipped}


# --------------------------------------------------------------------------------------------
# Real shapes
# --------------------------------------------------------------------------------------------


def test_ocrd_workspace_pages_groups_and_versions(corpus: Path, tmp_path: Path) -> None:
    ocrd_workspace(corpus, tmp_path / "ws")
    doc = read_mets(tmp_path / "ws" / "mets.xml")
    assert [p.id for p in doc.pages] == ["PHYS_0001", "PHYS_0002"]
    assert doc.page_order == "the PHYSICAL structMap"
    assert doc.image_groups == ["OCR-D-IMG", "OCR-D-IMG-BIN"]
    assert doc.image_group == "OCR-D-IMG"
    assert "chosen as the largest by its name" in doc.image_group_reason
    assert "OCR-D-IMG-BIN" in doc.image_group_reason
    assert [p.image.path for p in doc.pages if p.image] == [
        "OCR-D-IMG/OCR-D-IMG_0001.jpg",
        "OCR-D-IMG/OCR-D-IMG_0002.jpg",
    ]
    [version] = doc.transcription_groups
    assert (version.use, version.format, version.version_name) == (
        "OCR-D-GT-SEG-PAGE",
        "page",
        "METS Import | OCR-D-GT-SEG-PAGE",
    )
    assert doc.pages[0].transcriptions == {}
    gt = doc.pages[1].transcriptions["OCR-D-GT-SEG-PAGE"]
    assert gt.path == "OCR-D-GT-SEG-PAGE/OCR-D-GT-SEG-PAGE_0002.xml"
    assert len(parse_layout_xml(tmp_path / "ws" / gt.path).lines) == 44  # the real file
    assert doc.fields == [("Identifier (purl)", "http://example.org/ocrd/ws1")]
    assert doc.skipped == [] and doc.notes == []
    assert doc.description_text().endswith(f"METS: {tmp_path / 'ws' / 'mets.xml'}")


def test_ocrd_image_group_chosen_by_the_user(corpus: Path, tmp_path: Path) -> None:
    ocrd_workspace(corpus, tmp_path / "ws")
    doc = read_mets(tmp_path / "ws" / "mets.xml", image_group="ocr-d-img-bin")
    assert doc.image_group == "OCR-D-IMG-BIN"
    assert doc.image_group_reason == "the image group 'OCR-D-IMG-BIN' was asked for"
    assert doc.pages[0].image is not None
    assert doc.pages[0].image.path == "OCR-D-IMG-BIN/OCR-D-IMG-BIN_0001.png"
    assert doc.pages[1].image is None
    assert doc.pages[1].notes == ["it has no file in the image group 'OCR-D-IMG-BIN'"]
    with pytest.raises(
        MetsError,
        match="no file group called 'MAX'; its image groups are: OCR-D-IMG, OCR-D-IMG-BIN",
    ):
        read_mets(tmp_path / "ws" / "mets.xml", image_group="MAX")
    with pytest.raises(MetsError, match="no image group called 'OCR-D-GT-SEG-PAGE'"):
        read_mets(tmp_path / "ws" / "mets.xml", image_group="OCR-D-GT-SEG-PAGE")


def test_transkribus_export_folder(corpus: Path, tmp_path: Path) -> None:
    transkribus_export(corpus, tmp_path / "doc", alto_keys=True)
    doc = read_mets(tmp_path / "doc" / "mets.xml", version_name="Transkribus")
    # The METS order (ORDER 1, 2, 3), not the names' natural order (0014 < 1700… < input).
    assert [p.image.path for p in doc.pages if p.image] == [
        "170025120000003,0074.jpg",
        "0014.jpg",
        "input.jpg",
    ]
    assert [p.label for p in doc.pages] == ["1", "2", "3"]
    assert doc.page_order == "the structMap MANUSCRIPT (the METS has no PHYSICAL one)"
    assert (doc.image_group, doc.image_group_reason) == ("IMG", "'IMG' is the only image group")
    page_group, alto_group = doc.transcription_groups
    # Transkribus names its groups by ID and says "application/xml": the file tells PAGE.
    assert (page_group.use, page_group.format) == ("PAGEXML", "page")
    assert page_group.note == "PAGE, as its file page/170025120000003,0074.xml shows"
    assert page_group.version_name == "Transkribus | PAGEXML"
    assert [p.transcriptions["PAGEXML"].path for p in doc.pages] == [
        "page/170025120000003,0074.xml",
        "page/0014.xml",
        "page/input.xml",
    ]
    # Server exports point ALTO at a download link that is not in the export.
    assert alto_group.use == "ALTO"
    assert reasons(doc)["alto/Get?id=OGSEQOMZJCSTUCDJKYXTAKDT (file ALTO_1)"] == (
        f"there is no such file in the folder {tmp_path / 'doc'}"
    )
    assert doc.pages[0].notes == ["its ALTO file 'ALTO_1' cannot be used"]
    assert doc.title == "Kirchenbuch Wien 1642"
    assert ("Author", "Pfarre St. Stephan") in doc.fields
    assert not any("user@example.org" in value for _, value in doc.fields)  # no uploader


def test_oai_pmh_mets_over_http_with_relative_hrefs(corpus: Path) -> None:
    alto = (corpus / "alto/0014.xml").read_bytes()
    with IiifTestServer() as server:
        record = oai_get_record(library_mets(PAGES, shuffle=True), "oai:digital.example:1642")
        server.add_document("/oai/", record, "text/xml")
        server.add_document("/oai/fulltext/00000001.xml", alto, "text/xml")
        server.add_document("/oai/fulltext/00000003.xml", alto, "text/xml")
        url = f"{server.base_url}/oai/?verb=GetRecord&metadataPrefix=mets&identifier=1642"
        response = httpx.get(url)  # fetching is the job's business; the reader gets bytes
        doc = read_mets(response.content, url)

        assert doc.oai_identifier == "oai:digital.example:1642"
        # The divs are written in reverse; their ORDER puts them back.
        assert [p.label for p in doc.pages] == ["[Ir]", "[Iv]", "1"]
        assert doc.page_order == "the PHYSICAL structMap, in the order of the divs' ORDER numbers"
        assert doc.image_group == "MAX"
        assert doc.image_groups == ["DEFAULT", "MIN", "MAX", "THUMBS"]
        assert [p.image.url for p in doc.pages if p.image] == [
            f"{server.base_url}/oai/max/0000000{n}.jpg" for n in (1, 2, 3)
        ]
        [fulltext] = doc.transcription_groups
        assert (fulltext.use, fulltext.format, fulltext.version_name) == (
            "FULLTEXT",
            "alto",
            "METS Import | FULLTEXT",
        )
        assert sorted(p.index for p in doc.pages if p.transcriptions) == [1, 3]
        # The resolved URLs really serve the page's image and its ALTO.
        first = doc.pages[0]
        assert first.image is not None
        with Image.open(io.BytesIO(httpx.get(first.image.url).content)) as image:
            assert image.format == "JPEG"
        ocr = httpx.get(first.transcriptions["FULLTEXT"].url).content
        assert len(parse_layout_xml(ocr, name="00000001.xml").lines) == 2

    assert doc.title == "Das Kirchenbuch der Pfarre St. Stephan: Taufen und Trauungen"
    pairs = doc.metadata_pairs()
    assert pairs["Shelfmark"] == "KB 17/3"
    assert pairs["Date"] == "1642–1650"
    assert pairs["Holding institution"] == "Diözesanarchiv Wien"
    assert pairs["Scribe"] == "Hueber, Johann"
    assert pairs["Licence"] == "CC BY-SA 4.0"
    assert pairs["METS"] == url
    text = doc.description_text()
    assert text.startswith("Das Kirchenbuch der Pfarre St. Stephan: Taufen und Trauungen\n\n")
    assert "Shelfmark: KB 17/3\n" in text and "Place: Wien\n" in text
    assert "SLUB" not in text  # the digitisation's originInfo is not the document's
    assert text.endswith(f"METS: {url}\nOAI identifier: oai:digital.example:1642")


# --------------------------------------------------------------------------------------------
# Addresses a METS may not use
# --------------------------------------------------------------------------------------------


def test_file_urls_and_other_schemes_are_refused() -> None:
    images_only = [LibraryPage(1, "1", "00000001.jpg"), LibraryPage(2, "2", "00000002.jpg")]
    every = library_mets(images_only, image_base="file:///etc/", groups=("MAX",))
    with pytest.raises(
        MetsError,
        match=r"none of the files of its 2 page\(s\) can be used\. "
        r"file:///etc/max/00000001\.jpg \(file FILE_0001_MAX\): it points at a "
        r"file on this computer \(file://\)",
    ):
        read_mets(every, "https://digital.example.org/mets/1642.xml")
    mixed = (
        library_mets(PAGES, groups=("MAX",))
        .replace(b'"max/00000002.jpg"', b'"file:///home/me/.ssh/id_rsa"')
        .replace(b'"max/00000003.jpg"', b'"javascript:alert(1)"')
    )
    doc = read_mets(mixed, "https://digital.example.org/mets/1642.xml")
    assert reasons(doc) == {
        "file:///home/me/.ssh/id_rsa (file FILE_0002_MAX)": (
            "it points at a file on this computer (file://), which a METS file may not do"
        ),
        "javascript:alert(1) (file FILE_0003_MAX)": (
            "its address starts with 'javascript:', which cannot be fetched (only http and "
            "https addresses, or paths beside the METS file)"
        ),
    }
    assert [p.image is not None for p in doc.pages] == [True, False, False]
    assert doc.pages[1].notes == ["its MAX file 'FILE_0002_MAX' cannot be used"]


def test_paths_leaving_the_folder_are_refused(corpus: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ocrd_workspace(corpus, ws)
    (tmp_path / "secret.jpg").write_bytes((corpus / "images/0014.jpg").read_bytes())
    os.symlink(tmp_path / "secret.jpg", ws / "OCR-D-IMG" / "link.jpg")
    mets = (ws / "mets.xml").read_bytes()
    mets = mets.replace(b'"OCR-D-IMG/OCR-D-IMG_0001.jpg"', b'"OCR-D-IMG/../../secret.jpg"')
    mets = mets.replace(b'"OCR-D-IMG/OCR-D-IMG_0002.jpg"', b'"OCR-D-IMG/link.jpg"')
    mets = mets.replace(b'"OCR-D-IMG-BIN/OCR-D-IMG-BIN_0001.png"', b'"/etc/passwd"')
    (ws / "mets.xml").write_bytes(mets)
    doc = read_mets(ws / "mets.xml", image_group="OCR-D-IMG")
    assert reasons(doc) == {
        "OCR-D-IMG/../../secret.jpg (file OCR-D-IMG_0001)": (
            f"its path goes up with '..' out of the folder {ws}"
        ),
        "OCR-D-IMG/link.jpg (file OCR-D-IMG_0002)": (
            f"it leads out of the folder {ws} (through a symbolic link)"
        ),
    }
    assert [p.image for p in doc.pages] == [None, None]
    doc = read_mets(ws / "mets.xml", image_group="OCR-D-IMG-BIN")
    assert reasons(doc)["/etc/passwd (file OCR-D-IMG-BIN_0001)"] == (
        "its path is absolute (a place on some computer's disk)"
    )


def test_other_hosts_are_refused_with_an_allow_list() -> None:
    mets = library_mets(PAGES, groups=("MAX",)).replace(
        b'"max/00000002.jpg"', b'"https://images.example.net/iiif/2/full/max/0/default.jpg"'
    )
    base = "https://digital.example.org/mets/1642.xml"
    doc = read_mets(mets, base)  # no allow-list: any host
    assert doc.skipped == []
    strict = MetsSettings(allowed_domains=("digital.example.org",))
    doc = read_mets(mets, base, settings=strict)
    assert reasons(doc) == {
        "https://images.example.net/iiif/2/full/max/0/default.jpg (file FILE_0002_MAX)": (
            "it is on images.example.net, which is not among the allowed hosts "
            "(digital.example.org)"
        )
    }
    assert doc.pages[0].image is not None
    assert doc.pages[0].image.url == "https://digital.example.org/mets/max/00000001.jpg"
    # A domain allows its subdomains.
    doc = read_mets(
        mets, base, settings=MetsSettings(allowed_domains=("example.net", "example.org"))
    )
    assert doc.skipped == []
    with pytest.raises(MetsError, match="it is on digital.example.org, which is not among"):
        read_mets(mets, base, settings=MetsSettings(allowed_domains=("example.com",)))


def test_relative_hrefs_need_a_base() -> None:
    with pytest.raises(MetsError, match="its path is relative, but the METS was read without"):
        read_mets(library_mets(PAGES, groups=("MAX",)))
    with pytest.raises(MetsError, match="'ftp://x/' is not an http"):
        read_mets(library_mets(PAGES, groups=("MAX",)), "ftp://x/")


# --------------------------------------------------------------------------------------------
# Limits, loops and broken files
# --------------------------------------------------------------------------------------------


def test_too_many_pages_or_files_are_refused(corpus: Path, tmp_path: Path) -> None:
    many = [LibraryPage(n, str(n), f"{n:08d}.jpg") for n in range(1, 10_002)]
    with pytest.raises(
        MetsError,
        match=r"the METS lists 10,001 pages; at most 10,000 are read "
        r"\(the max_pages setting\)",
    ):
        read_mets(library_mets(many, groups=("MAX",)), "https://digital.example.org/m.xml")
    ocrd_workspace(corpus, tmp_path / "ws")
    with pytest.raises(MetsError, match=r"the METS lists 4 files; at most 3 are read"):
        read_mets(tmp_path / "ws" / "mets.xml", settings=MetsSettings(max_files=3))
    assert len(read_mets(tmp_path / "ws" / "mets.xml", settings=MetsSettings(max_files=4)).pages)


def _volume_link(label: str, href: str) -> str:
    return (
        f'      <mets:div ID="LOG_{label}" TYPE="volume" LABEL="{label}">\n'
        f'        <mets:mptr LOCTYPE="URL" xlink:href="{href}"/>\n      </mets:div>\n'
    )


def test_linked_volumes_are_followed_once(corpus: Path) -> None:
    anchor = library_mets(
        [],
        groups=(),
        logical_type="multivolume_work",
        links=_volume_link("Band 1", "vol1.xml")
        + _volume_link("Band 2", "vol2.xml")
        + _volume_link("Band 1 again", "vol1.xml"),
    )
    volume = library_mets(
        PAGES[:2], groups=("MAX",), logical_type="volume", parent_href="anchor.xml"
    )
    with IiifTestServer() as server:
        server.add_document("/mets/anchor.xml", anchor)
        server.add_document("/mets/vol1.xml", volume)
        server.add_document("/mets/vol2.xml", volume)
        first = read_mets(
            httpx.get(f"{server.base_url}/mets/anchor.xml").content,
            f"{server.base_url}/mets/anchor.xml",
        )
        assert first.pages == []
        assert [link.label for link in first.children] == ["Band 1", "Band 2"]
        assert "links to 2 other METS file(s)" in first.notes[0]
        walk = MetsWalk(first)
        while (link := walk.next_link()) is not None:
            walk.add(link, httpx.get(link.url).content)
    assert [d.source.rsplit("/", 1)[-1] for d in walk.documents] == [
        "anchor.xml",
        "vol1.xml",
        "vol2.xml",
    ]
    volume_one = walk.documents[1]
    assert [p.label for p in volume_one.pages] == ["[Ir]", "[Iv]"]
    assert [link.url for link in volume_one.parents] == [f"{server.base_url}/mets/anchor.xml"]
    assert volume_one.children == []
    # Depth limit: nothing below the first METS.
    shallow = MetsWalk(first, settings=MetsSettings(max_depth=0))
    assert shallow.next_link() is None
    assert [s.reason for s in shallow.skipped] == [
        "it is more than 0 levels down (not followed)"
    ] * 2


def test_a_loop_of_mptr_links_is_refused() -> None:
    base = "https://digital.example.org/mets/"
    one = library_mets(PAGES[:1], groups=("MAX",), links=_volume_link("Part", "two.xml"))
    two = library_mets(PAGES[1:2], groups=("MAX",), links=_volume_link("Part", "one.xml"))
    walk = MetsWalk(read_mets(one, base + "one.xml"))
    link = walk.next_link()
    assert link is not None and link.url == base + "two.xml"
    with pytest.raises(
        MetsError,
        match=r"its mptr links lead in a loop \(https://digital\."
        r"example\.org/mets/one\.xml → https://digital\.example\.org/mets/two\."
        r"xml → https://digital\.example\.org/mets/one\.xml\)",
    ):
        walk.add(link, two)
    itself = library_mets(PAGES[:1], groups=("MAX",), links=_volume_link("Me", "one.xml"))
    with pytest.raises(MetsError, match="lead in a loop"):
        MetsWalk(read_mets(itself, base + "one.xml"))


def test_xxe_and_entities_are_refused() -> None:
    mets = library_mets(PAGES, groups=("MAX",)).decode()
    xxe = mets.replace(
        "<mets:mets ",
        '<!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n<mets:mets ',
        1,
    ).replace("KB 17/3", "&xxe;")
    with pytest.raises(
        MetsError,
        match="declares XML entities in a DOCTYPE. METS files never "
        "need them .* \\(XXE, 'billion laughs'\\), so the file is refused",
    ):
        read_mets(xxe.encode(), "https://digital.example.org/m.xml", name="evil.xml")
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        '<mets xmlns="http://www.loc.gov/METS/">&lol2;</mets>'
    )
    with pytest.raises(MetsError, match="^lolz.xml: the file declares XML entities"):
        read_mets(laughs.encode(), name="lolz.xml")


def test_files_that_are_not_mets(corpus: Path) -> None:
    with pytest.raises(
        MetsError,
        match=r"not METS; its root element is <PcGts> \(namespace "
        r"http://schema\.primaresearch\.org/PAGE/gts/pagecontent/2013-07-15\), "
        r"where <mets:mets> was expected\. It is a PAGE XML file",
    ):
        read_mets(corpus / TRP_PAGE)
    with pytest.raises(
        MetsError,
        match=r"this is not a METS file: it looks like JSON \(perhaps "
        r"a IIIF manifest\)",
    ):
        read_mets(corpus / "iiif/v3_book-1.json")
    login = b"<!DOCTYPE html>\n<html><body><p>Please log in</p></body></html>"
    with pytest.raises(MetsError, match="root element is <html>.* perhaps an error or login page"):
        read_mets(login, "https://digital.example.org/m.xml")
    with pytest.raises(MetsError, match="it looks like a JPEG image"):
        read_mets(corpus / "images/0014.jpg")
    with pytest.raises(MetsError, match="the file is empty"):
        read_mets(b"  \n", name="empty.xml")
    no_files = (
        b'<mets:mets xmlns:mets="http://www.loc.gov/METS/"><mets:structMap TYPE="PHYSICAL">'
        b'<mets:div TYPE="page"><mets:fptr FILEID="IMG1"/></mets:div></mets:structMap>'
        b"</mets:mets>"
    )
    with pytest.raises(MetsError, match="lists no page images and no ALTO or PAGE files"):
        read_mets(no_files, "https://digital.example.org/m.xml")


def test_a_cut_short_mets_and_an_oai_error(corpus: Path, tmp_path: Path) -> None:
    ocrd_workspace(corpus, tmp_path / "ws")
    mets = tmp_path / "ws" / "mets.xml"
    mets.write_bytes(mets.read_bytes()[: len(mets.read_bytes()) // 2])
    with pytest.raises(
        MetsError,
        match=r"the XML is not well-formed .* The file seems to be "
        r"cut short \(an incomplete download or copy\?\)",
    ):
        read_mets(mets)
    error = (
        b'<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/'
        b'OAI/2.0/"><responseDate>2024-02-01T09:12:44Z</responseDate><request verb="GetRecord">'
        b'https://digital.example.org/oai/</request><error code="idDoesNotExist">No matching '
        b"identifier</error></OAI-PMH>"
    )
    with pytest.raises(
        MetsError,
        match=r"the OAI-PMH server answered with an error "
        r"\(idDoesNotExist: No matching identifier\), not with a METS record",
    ):
        read_mets(error, "https://digital.example.org/oai/?verb=GetRecord")


def test_errors_are_user_facing_sentences() -> None:
    error = MetsError("m.xml", "the METS lists no pages and links to no other METS.")
    assert isinstance(error, EsctuiError)
    assert str(error) == "m.xml: the METS lists no pages and links to no other METS."


def test_percent_encoded_paths_find_files_with_spaces(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "max").mkdir()
    for name in ("scan 1.jpg", "scan 2.jpg"):
        (tmp_path / "max" / name).write_bytes((corpus / "images/0014.jpg").read_bytes())
    pages = [LibraryPage(1, "1", "scan%201.jpg"), LibraryPage(2, "2", "scan 2.jpg")]
    (tmp_path / "mets.xml").write_bytes(library_mets(pages, groups=("MAX",)))
    doc = read_mets(tmp_path / "mets.xml")
    assert [p.image.path for p in doc.pages if p.image] == ["max/scan 1.jpg", "max/scan 2.jpg"]
    assert doc.files is not None
    assert doc.files.full_path("max/scan 1.jpg") == tmp_path / "max" / "scan 1.jpg"
