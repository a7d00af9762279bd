"""Telling files apart by their first bytes: the real corpus files, and tricky starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from esctui.formats.sniff import XmlKind, describe_start, sniff_image, sniff_xml


@pytest.mark.parametrize(
    ("path", "kind", "image"),
    [
        ("page/170025120000003,0074.xml", XmlKind.PAGE, "170025120000003,0074.jpg"),
        ("page/cPAS-2000.xml", XmlKind.PAGE, "cPAS-2000.jpg"),  # the https namespace variant
        ("alto/0014.xml", XmlKind.ALTO, "0014.jpg"),
        ("alto/bsb00084914_00007.xml", XmlKind.ALTO, "bsb00084914_00007.jpg"),
        ("invalid/alto_image.xml", XmlKind.ALTO, ""),  # an empty fileName
        ("invalid/finereader10_not_alto.xml", XmlKind.OTHER, ""),
    ],
)
def test_corpus_xml(corpus: Path, path: str, kind: str, image: str) -> None:
    sniff = sniff_xml((corpus / path).read_bytes())
    assert (sniff.kind, sniff.image_filename, sniff.problem) == (kind, image, "")


def test_only_real_elements_count() -> None:
    commented = (
        b'<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">'
        b'<Metadata><!-- <Page imageFilename="wrong.jpg"> --><Creator>x</Creator></Metadata>'
        b'<Page imageFilename="right&amp;1.jpg" imageWidth="1" imageHeight="1"/></PcGts>'
    )
    assert sniff_xml(commented).image_filename == "right&1.jpg"
    alto = b"<alto><Description><fileName>not this</fileName></Description><Layout/></alto>"
    assert sniff_xml(alto).image_filename == ""  # fileName outside sourceImageInformation
    mets = b'<?xml version="1.0"?>\n<mets:mets xmlns:mets="http://www.loc.gov/METS/">'
    assert sniff_xml(mets).kind == XmlKind.METS  # the start is enough
    oai = b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><GetRecord>'
    assert sniff_xml(oai).kind == XmlKind.OAI_PMH


def test_unreadable_starts() -> None:
    xxe = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><PcGts>&e;</PcGts>'
    assert sniff_xml(xxe).kind == XmlKind.UNREADABLE
    assert "declares XML entities" in sniff_xml(xxe).problem
    assert sniff_xml(b"").problem == "the file is empty."
    assert "does not start with '<'" in sniff_xml(b"%PDF-1.7").problem
    assert "not well-formed" in sniff_xml(b"<a><b></a>").problem


def test_images_and_other_starts(corpus: Path) -> None:
    assert sniff_image((corpus / "images/0014.jpg").read_bytes()[:32]) == "JPEG"
    assert sniff_image((corpus / "images/bw.png").read_bytes()[:32]) == "PNG"
    assert sniff_image(b"<?xml") == ""
    assert describe_start((corpus / "pdf/three_scans.pdf").read_bytes()[:64]) == "a PDF file"
    assert describe_start(b"\n <!DOCTYPE html><html>") == "a web page (HTML)"
    assert describe_start((corpus / "iiif/v3_book-1.json").read_bytes()) == (
        "JSON (perhaps a IIIF manifest)"
    )
