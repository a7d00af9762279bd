"""Build METS files, exports and workspaces the way the real tools write them, around real
corpus images and ALTO/PAGE files (copied into ``tmp_path``; the corpus stays read-only).

- ``transkribus_mets``: as Transkribus' ``TrpMetsBuilder`` writes ``mets.xml`` (JAXB prefixes
  ``ns2`` = xlink and ``ns3`` = METS, ``PROFILE="TRP_V1"``, ``amdSec ID="SOURCE"`` with
  ``trpDocMetadata``, ``fileGrp ID="MASTER"`` holding ``fileGrp ID="IMG"``, ``"PAGEXML"``,
  ``"ALTO"`` (IDs, no USE), ``LOCTYPE="OTHER" OTHERLOCTYPE="FILE"``, a ``structMap
  ID="TRP_STRUCTMAP" TYPE="MANUSCRIPT"`` of ``div TYPE="SINGLE_PAGE" ORDER`` with
  ``fptr/area/@FILEID``). Its server exports point the ALTO files at ``alto/Get?id=…``.
- ``ocrd_mets``: an OCR-D workspace's ``mets.xml`` (``mets:`` prefix, fileGrps by USE such as
  ``OCR-D-IMG``, ``OCR-D-GT-SEG-PAGE``, MIMETYPEs ``image/…`` and
  ``application/vnd.prima.page+xml``, a PHYSICAL structMap ``physSequence`` > ``page``).
- ``escriptorium_mets``: what eScriptorium's ``export/METS.xml`` template renders (default
  namespace, ``fileGrp USE="image"`` and ``USE="export"``, no MIMETYPE, ``structMap
  TYPE="physical"`` > ``div TYPE="document"`` > ``div TYPE="page"``).
- ``library_mets``: a DFG-viewer METS/MODS as digital libraries serve it (Kitodo/Goobi:
  ``DEFAULT``, ``MAX``, ``MIN``, ``THUMBS``, ``FULLTEXT`` groups, ``dv:rights``, LOGICAL and
  PHYSICAL structMaps with ORDER/ORDERLABEL), and ``oai_get_record`` wrapping it as an OAI-PMH
  ``GetRecord`` answer.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from PIL import Image

TRP_PAGE = "page/170025120000003,0074.xml"  # a real Transkribus PAGE file
TRP_IMAGE = "images/170025120000003,0074.jpg"
ESC_ALTO = "alto/0014.xml"  # a real eScriptorium ALTO export
ESC_IMAGE = "images/0014.jpg"
PRINTED_IMAGE = "images/input.jpg"
BINARISED_IMAGE = "images/bw.png"


def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def trp_empty_page(image_name: str, size: tuple[int, int]) -> bytes:
    """The PAGE file Transkribus exports for a page nobody has segmented yet."""
    width, height = size
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="'
        "http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15 "
        'http://schema.primaresearch.org/PAGE/gts/pagecontent/2013-07-15/pagecontent.xsd">\n'
        "    <Metadata>\n        <Creator>TRP</Creator>\n"
        "        <Created>2016-06-16T16:57:15.027+02:00</Created>\n"
        "        <LastChange>2016-06-16T16:57:15.027+02:00</LastChange>\n    </Metadata>\n"
        f'    <Page imageFilename={quoteattr(image_name)} imageWidth="{width}" '
        f'imageHeight="{height}"/>\n</PcGts>\n'
    ).encode()


def esc_empty_alto(image_name: str, size: tuple[int, int]) -> bytes:
    """The ALTO eScriptorium's ``export/alto.xml`` template renders for a page without lines."""
    width, height = size
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<alto xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
        '      xmlns="http://www.loc.gov/standards/alto/ns-v4#"\n'
        '      xsi:schemaLocation="http://www.loc.gov/standards/alto/ns-v4# '
        'http://www.loc.gov/standards/alto/v4/alto-4-2.xsd">\n'
        "  <Description>\n    <MeasurementUnit>pixel</MeasurementUnit>\n"
        f"    <sourceImageInformation>\n      <fileName>{escape(image_name)}</fileName>\n"
        "    </sourceImageInformation>\n  </Description>\n  <Layout>\n"
        f'    <Page WIDTH="{width}" HEIGHT="{height}" PHYSICAL_IMG_NR="2" ID="eSc_dummypage_">\n'
        f'      <PrintSpace HPOS="0" VPOS="0" WIDTH="{width}" HEIGHT="{height}">\n'
        "      </PrintSpace>\n    </Page>\n  </Layout>\n</alto>\n"
    ).encode()


# --------------------------------------------------------------------------------------------
# Transkribus
# --------------------------------------------------------------------------------------------


@dataclass
class TrpPage:
    """One page of a Transkribus document: its image file and its PAGE file (in ``page/``)."""

    image: str
    mimetype: str = "image/jpeg"
    alto_key: str = ""  # server exports: the ALTO is at alto/Get?id=<key>


def transkribus_mets(
    pages: list[TrpPage], *, doc_id: int, title: str, author: str = "", desc: str = ""
) -> bytes:
    """``mets.xml`` as Transkribus' TrpMetsBuilder writes it (JAXB, ns2/ns3 prefixes)."""
    created = "2020-08-28T09:48:29.225+02:00"
    imgs, xmls, altos, divs = [], [], [], []
    for nr, page in enumerate(pages, 1):
        stem = page.image.rsplit(".", 1)[0]
        imgs.append(
            f'                <ns3:file ID="IMG_{nr}" SEQ="{nr}" MIMETYPE="{page.mimetype}" '
            f'CREATED="{created}">\n'
            '                    <ns3:FLocat LOCTYPE="OTHER" OTHERLOCTYPE="FILE" '
            f'ns2:type="simple" ns2:href={quoteattr(page.image)}/>\n'
            "                </ns3:file>\n"
        )
        xmls.append(
            f'                <ns3:file ID="PAGEXML_{nr}" SEQ="{nr}" MIMETYPE="application/xml" '
            f'CREATED="{created}" CHECKSUM="" CHECKSUMTYPE="MD5">\n'
            '                    <ns3:FLocat LOCTYPE="OTHER" OTHERLOCTYPE="FILE" '
            f'ns2:type="simple" ns2:href={quoteattr(f"page/{stem}.xml")}/>\n'
            "                </ns3:file>\n"
        )
        fptrs = [f"IMG_{nr}", f"PAGEXML_{nr}"]
        if page.alto_key:
            altos.append(
                f'                <ns3:file ID="ALTO_{nr}" SEQ="{nr}" MIMETYPE="application/xml" '
                'CHECKSUM="" CHECKSUMTYPE="MD5">\n'
                '                    <ns3:FLocat LOCTYPE="OTHER" OTHERLOCTYPE="FILE" '
                f'ns2:type="simple" ns2:href="alto/Get?id={page.alto_key}"/>\n'
                "                </ns3:file>\n"
            )
            fptrs.append(f"ALTO_{nr}")
        areas = "".join(
            f'            <ns3:fptr>\n                <ns3:area FILEID="{fid}"/>\n'
            "            </ns3:fptr>\n"
            for fid in fptrs
        )
        divs.append(
            f'        <ns3:div ID="PAGE_{nr}" ORDER="{nr}" TYPE="SINGLE_PAGE">\n{areas}'
            "        </ns3:div>\n"
        )
    alto_group = (
        f'            <ns3:fileGrp ID="ALTO">\n{"".join(altos)}            </ns3:fileGrp>\n'
        if altos
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<ns3:mets xmlns:ns2="http://www.w3.org/1999/xlink" xmlns:ns3="http://www.loc.gov/METS/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'OBJID="{doc_id}" LABEL={quoteattr(title)} PROFILE="TRP_V1" '
        'xsi:schemaLocation="http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd">\n'
        f'    <ns3:metsHdr CREATEDATE="{created}" LASTMODDATE="{created}" '
        'RECORDSTATUS="SUBMITTED">\n'
        '        <ns3:agent ROLE="CREATOR" TYPE="ORGANIZATION">\n'
        "            <ns3:name>UIBK</ns3:name>\n"
        "            <ns3:note>This METS file was generated by Transkribus</ns3:note>\n"
        "        </ns3:agent>\n    </ns3:metsHdr>\n"
        '    <ns3:amdSec ID="SOURCE">\n        <ns3:sourceMD ID="MD_ORIG">\n'
        '            <ns3:mdWrap MDTYPE="OTHER" ID="TRP_DOC_MD">\n                <ns3:xmlData>\n'
        "                    <trpDocMetadata>\n"
        f"                        <docId>{doc_id}</docId>\n"
        f"                        <title>{escape(title)}</title>\n"
        f"                        <author>{escape(author)}</author>\n"
        "                        <uploadTimestamp>1466088951133</uploadTimestamp>\n"
        "                        <uploader>user@example.org</uploader>\n"
        "                        <uploaderId>1234</uploaderId>\n"
        f"                        <nrOfPages>{len(pages)}</nrOfPages>\n"
        f"                        <desc>{escape(desc)}</desc>\n"
        "                        <language>German</language>\n"
        "                        <status>0</status>\n"
        "                    </trpDocMetadata>\n"
        "                </ns3:xmlData>\n            </ns3:mdWrap>\n"
        "        </ns3:sourceMD>\n    </ns3:amdSec>\n"
        '    <ns3:fileSec>\n        <ns3:fileGrp ID="MASTER">\n'
        f'            <ns3:fileGrp ID="IMG">\n{"".join(imgs)}            </ns3:fileGrp>\n'
        f'            <ns3:fileGrp ID="PAGEXML">\n{"".join(xmls)}            </ns3:fileGrp>\n'
        f"{alto_group}"
        "        </ns3:fileGrp>\n    </ns3:fileSec>\n"
        '    <ns3:structMap ID="TRP_STRUCTMAP" TYPE="MANUSCRIPT">\n'
        f'        <ns3:div ID="TRP_DOC_DIV" ADMID="MD_ORIG">\n{"".join(divs)}'
        "        </ns3:div>\n    </ns3:structMap>\n</ns3:mets>\n"
    ).encode()


def transkribus_export(corpus: Path, folder: Path, *, alto_keys: bool = False) -> list[TrpPage]:
    """A Transkribus document export (``mets.xml``, ``metadata.xml``, images, ``page/``) in
    ``folder``: three pages, in an order that is not their file names' natural order."""
    pages = [
        TrpPage("170025120000003,0074.jpg", alto_key="OGSEQOMZJCSTUCDJKYXTAKDT" * alto_keys),
        TrpPage("0014.jpg", alto_key="QWPLAZXMCVBNRTYUIOPASDFG" * alto_keys),
        TrpPage("input.jpg", alto_key="ZXCVBNMASDFGHJKLQWERTYUI" * alto_keys),
    ]
    sources = {
        "170025120000003,0074.jpg": TRP_IMAGE,
        "0014.jpg": ESC_IMAGE,
        "input.jpg": PRINTED_IMAGE,
    }
    (folder / "page").mkdir(parents=True)
    for page in pages:
        source = corpus / sources[page.image]
        (folder / page.image).write_bytes(source.read_bytes())
        stem = page.image.rsplit(".", 1)[0]
        if page.image == "170025120000003,0074.jpg":
            xml = (corpus / TRP_PAGE).read_bytes()
        else:
            xml = trp_empty_page(page.image, image_size(source))
        (folder / "page" / f"{stem}.xml").write_bytes(xml)
    title = "Kirchenbuch Wien 1642"
    (folder / "mets.xml").write_bytes(
        transkribus_mets(pages, doc_id=4711, title=title, author="Pfarre St. Stephan")
    )
    (folder / "metadata.xml").write_bytes(
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f"<trpDocMetadata><docId>4711</docId><title>{title}</title>"
            "<nrOfPages>3</nrOfPages></trpDocMetadata>\n"
        ).encode()
    )
    return pages


def zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    """Pack ``folder`` into ``archive`` (entries under ``prefix``), images stored, XML deflated."""
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = prefix + path.relative_to(folder).as_posix()
                compress = zipfile.ZIP_DEFLATED if path.suffix == ".xml" else zipfile.ZIP_STORED
                out.write(path, name, compress_type=compress)
    return archive


# --------------------------------------------------------------------------------------------
# OCR-D
# --------------------------------------------------------------------------------------------


@dataclass
class OcrdFile:
    group: str
    file_id: str
    mimetype: str
    href: str


@dataclass
class OcrdPage:
    page_id: str
    files: list[OcrdFile] = field(default_factory=list)


def ocrd_mets(pages: list[OcrdPage], *, purl: str) -> bytes:
    """An OCR-D workspace's ``mets.xml`` as ocrd core writes it."""
    groups: dict[str, list[OcrdFile]] = {}
    for page in pages:
        for file in page.files:
            groups.setdefault(file.group, []).append(file)
    file_sec = "".join(
        f'    <mets:fileGrp USE="{use}">\n'
        + "".join(
            f'      <mets:file ID="{f.file_id}" MIMETYPE="{f.mimetype}">\n'
            f'        <mets:FLocat LOCTYPE="OTHER" OTHERLOCTYPE="FILE" '
            f"xlink:href={quoteattr(f.href)}/>\n      </mets:file>\n"
            for f in files
        )
        + "    </mets:fileGrp>\n"
        for use, files in groups.items()
    )
    divs = "".join(
        f'      <mets:div TYPE="page" ID="{page.page_id}">\n'
        + "".join(f'        <mets:fptr FILEID="{f.file_id}"/>\n' for f in page.files)
        + "      </mets:div>\n"
        for page in pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mets:mets xmlns:mets="http://www.loc.gov/METS/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" xsi:schemaLocation="'
        "info:lc/xmlns/premis-v2 http://www.loc.gov/standards/premis/v2/premis-v2-0.xsd "
        "http://www.loc.gov/mods/v3 http://www.loc.gov/standards/mods/v3/mods-3-6.xsd "
        "http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/version17/mets.v1-7.xsd "
        'http://www.loc.gov/mix/v10 http://www.loc.gov/standards/mix/mix10/mix10.xsd">\n'
        '  <mets:metsHdr CREATEDATE="2023-03-01T10:02:11.410823">\n'
        '    <mets:agent TYPE="OTHER" OTHERTYPE="SOFTWARE" ROLE="CREATOR">\n'
        "      <mets:name>ocrd/core v2.47.0</mets:name>\n    </mets:agent>\n"
        "  </mets:metsHdr>\n"
        '  <mets:dmdSec ID="DMDLOG_0001">\n    <mets:mdWrap MDTYPE="MODS">\n'
        '      <mets:xmlData>\n        <mods:mods xmlns:mods="http://www.loc.gov/mods/v3">\n'
        f'          <mods:identifier type="purl">{escape(purl)}</mods:identifier>\n'
        "        </mods:mods>\n      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n"
        f"  <mets:fileSec>\n{file_sec}  </mets:fileSec>\n"
        '  <mets:structMap TYPE="PHYSICAL">\n    <mets:div TYPE="physSequence">\n'
        f"{divs}    </mets:div>\n  </mets:structMap>\n</mets:mets>\n"
    ).encode()


def ocrd_workspace(corpus: Path, folder: Path) -> None:
    """An OCR-D workspace: two pages (a printed one, then the handwritten one), original and
    binarised images, and ground-truth segmentation in PAGE for the handwritten page."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "OCR-D-IMG/OCR-D-IMG_0001.jpg": PRINTED_IMAGE,
        "OCR-D-IMG/OCR-D-IMG_0002.jpg": TRP_IMAGE,
        "OCR-D-IMG-BIN/OCR-D-IMG-BIN_0001.png": BINARISED_IMAGE,
        "OCR-D-GT-SEG-PAGE/OCR-D-GT-SEG-PAGE_0002.xml": TRP_PAGE,
    }
    for name, source in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((corpus / source).read_bytes())
    pages = [
        OcrdPage(
            "PHYS_0001",
            [
                OcrdFile(
                    "OCR-D-IMG", "OCR-D-IMG_0001", "image/jpeg", "OCR-D-IMG/OCR-D-IMG_0001.jpg"
                ),
                OcrdFile(
                    "OCR-D-IMG-BIN",
                    "OCR-D-IMG-BIN_0001",
                    "image/png",
                    "OCR-D-IMG-BIN/OCR-D-IMG-BIN_0001.png",
                ),
            ],
        ),
        OcrdPage(
            "PHYS_0002",
            [
                OcrdFile(
                    "OCR-D-IMG", "OCR-D-IMG_0002", "image/jpeg", "OCR-D-IMG/OCR-D-IMG_0002.jpg"
                ),
                OcrdFile(
                    "OCR-D-GT-SEG-PAGE",
                    "OCR-D-GT-SEG-PAGE_0002",
                    "application/vnd.prima.page+xml",
                    "OCR-D-GT-SEG-PAGE/OCR-D-GT-SEG-PAGE_0002.xml",
                ),
            ],
        ),
    ]
    (folder / "mets.xml").write_bytes(ocrd_mets(pages, purl="http://example.org/ocrd/ws1"))


# --------------------------------------------------------------------------------------------
# eScriptorium
# --------------------------------------------------------------------------------------------


def escriptorium_mets(elements: list[tuple[int, str | None, str | None]]) -> bytes:
    """What eScriptorium's ``export/METS.xml`` template renders for (id, image, xml) elements,
    including its blank lines and indentation."""
    include_images = any(image for _, image, _ in elements)
    out = ['<mets xmlns="http://www.loc.gov/METS/" xmlns:xlink="http://www.w3.org/1999/xlink">\n']
    out.append("  <fileSec>\n    \n")
    if include_images:
        out.append('    <fileGrp USE="image">\n')
        for eid, image, _ in elements:
            out.append("      \n")
            if image:
                out.append(
                    f'        <file ID="image{eid}">\n'
                    f"          <FLocat xlink:href={quoteattr(image)}/>\n        </file>"
                )
            out.append("\n      \n")
        out.append("    </fileGrp>\n    \n")
    out.append('    <fileGrp USE="export">\n')
    for eid, _, page in elements:
        out.append("      \n")
        if page:
            out.append(
                f'        <file ID="export{eid}">\n'
                f"          <FLocat xlink:href={quoteattr(page)}/>\n        </file>"
            )
        out.append("\n      \n")
    out.append('    </fileGrp>\n  </fileSec>\n  <structMap TYPE="physical">\n')
    out.append('    <div TYPE="document">\n')
    for eid, image, page in elements:
        out.append('      \n      <div TYPE="page">\n        ')
        if image:
            out.append(f'<fptr FILEID="image{eid}"/>')
        out.append("\n        ")
        if page:
            out.append(f'<fptr FILEID="export{eid}"/>')
        out.append("\n      </div>\n      \n")
    out.append("    </div>\n  </structMap>\n</mets>")
    return "".join(out).encode()


def escriptorium_export(corpus: Path, archive: Path) -> Path:
    """An eScriptorium ALTO export with images: ``0014.jpg`` + ``0014.xml`` (a real eScriptorium
    ALTO), ``input.jpg`` + ``input.xml``, and ``METS.xml``, written in that order (images before
    their XML, the METS last, as its exporter does)."""
    printed = corpus / PRINTED_IMAGE
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as out:
        out.writestr("0014.jpg", (corpus / ESC_IMAGE).read_bytes())
        out.writestr("0014.xml", (corpus / ESC_ALTO).read_bytes())
        out.writestr("input.jpg", printed.read_bytes())
        out.writestr("input.xml", esc_empty_alto("input.jpg", image_size(printed)))
        out.writestr(
            "METS.xml",
            escriptorium_mets([(1, "0014.jpg", "0014.xml"), (2, "input.jpg", "input.xml")]),
        )
    return archive


# --------------------------------------------------------------------------------------------
# A digital library's METS/MODS (DFG viewer profile), and OAI-PMH
# --------------------------------------------------------------------------------------------


@dataclass
class LibraryPage:
    order: int
    label: str
    image: str  # the image's file name; each group has it in its folder (max/, default/…)
    fulltext: str = ""  # href of the ALTO file ("" when none)


def library_mets(
    pages: list[LibraryPage],
    *,
    record_id: str = "PPN1642",
    image_base: str = "",
    groups: tuple[str, ...] = ("DEFAULT", "MIN", "MAX", "THUMBS"),
    shuffle: bool = False,
    extra_mods: str = "",
    links: str = "",
    logical_type: str = "monograph",
    parent_href: str = "",
) -> bytes:
    """A METS/MODS file as Kitodo.Production exports it for the DFG viewer.

    ``links``: child divs of the logical root (e.g. the volumes of an anchor METS, each with an
    ``mptr``); ``parent_href``: the anchor METS of the work this one is a volume of (written as
    the ``mptr`` of an outer logical div, as Kitodo does).
    """
    file_groups = []
    for use in groups:
        files = "".join(
            f'      <mets:file ID="FILE_{p.order:04d}_{use}" MIMETYPE="image/jpeg">\n'
            f'        <mets:FLocat LOCTYPE="URL" '
            f"xlink:href={quoteattr(f'{image_base}{use.lower()}/{p.image}')}/>\n"
            "      </mets:file>\n"
            for p in pages
        )
        file_groups.append(f'    <mets:fileGrp USE="{use}">\n{files}    </mets:fileGrp>\n')
    fulltext = "".join(
        f'      <mets:file ID="FILE_{p.order:04d}_FULLTEXT" MIMETYPE="text/xml">\n'
        f'        <mets:FLocat LOCTYPE="URL" xlink:href={quoteattr(p.fulltext)}/>\n'
        "      </mets:file>\n"
        for p in pages
        if p.fulltext
    )
    if fulltext:
        file_groups.append(f'    <mets:fileGrp USE="FULLTEXT">\n{fulltext}    </mets:fileGrp>\n')
    ordered = list(reversed(pages)) if shuffle else pages
    divs = "".join(
        f'      <mets:div ID="PHYS_{p.order:04d}" ORDER="{p.order}" '
        f'ORDERLABEL={quoteattr(p.label)} TYPE="page">\n'
        + "".join(f'        <mets:fptr FILEID="FILE_{p.order:04d}_{use}"/>\n' for use in groups)
        + (f'        <mets:fptr FILEID="FILE_{p.order:04d}_FULLTEXT"/>\n' if p.fulltext else "")
        + "      </mets:div>\n"
        for p in ordered
    )
    links_xml = "".join(
        f'    <mets:smLink xlink:to="PHYS_{p.order:04d}" xlink:from="LOG_0000"/>\n' for p in pages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<mets:mets xmlns:mets="http://www.loc.gov/METS/" xmlns:mods="http://www.loc.gov/mods/v3" '
        'xmlns:dv="http://dfg-viewer.de/" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.loc.gov/mods/v3 http://www.loc.gov/standards/mods/mods.xsd '
        'http://www.loc.gov/METS/ http://www.loc.gov/standards/mets/mets.xsd">\n'
        '  <mets:metsHdr CREATEDATE="2021-05-04T12:31:07">\n'
        '    <mets:agent OTHERTYPE="SOFTWARE" ROLE="CREATOR" TYPE="OTHER">\n'
        "      <mets:name>Kitodo - kitodo-ugh-3.0 - 30-June-2021</mets:name>\n"
        "      <mets:note>Kitodo</mets:note>\n    </mets:agent>\n  </mets:metsHdr>\n"
        '  <mets:dmdSec ID="DMDLOG_0000">\n    <mets:mdWrap MDTYPE="MODS">\n'
        "      <mets:xmlData>\n        <mods:mods>\n"
        '          <mods:recordInfo><mods:recordIdentifier source="gbv-ppn">'
        f"{record_id}</mods:recordIdentifier></mods:recordInfo>\n"
        f'          <mods:identifier type="urn">urn:nbn:de:bsz:14-db-{record_id.lower()}'
        "</mods:identifier>\n"
        "          <mods:titleInfo><mods:nonSort>Das </mods:nonSort>"
        "<mods:title>Kirchenbuch der Pfarre St. Stephan</mods:title>"
        "<mods:subTitle>Taufen und Trauungen</mods:subTitle></mods:titleInfo>\n"
        '          <mods:titleInfo type="alternative"><mods:title>KB St. Stephan'
        "</mods:title></mods:titleInfo>\n"
        '          <mods:name type="personal"><mods:role><mods:roleTerm authority="marcrelator" '
        'type="code">scr</mods:roleTerm></mods:role><mods:namePart type="family">Hueber'
        '</mods:namePart><mods:namePart type="given">Johann</mods:namePart></mods:name>\n'
        '          <mods:originInfo><mods:place><mods:placeTerm type="text">Wien'
        "</mods:placeTerm></mods:place>"
        '<mods:dateCreated keyDate="yes" point="start">1642</mods:dateCreated>'
        '<mods:dateCreated point="end">1650</mods:dateCreated></mods:originInfo>\n'
        '          <mods:originInfo eventType="digitization"><mods:dateCaptured>2019'
        "</mods:dateCaptured><mods:publisher>SLUB Dresden</mods:publisher></mods:originInfo>\n"
        "          <mods:location><mods:physicalLocation>Diözesanarchiv Wien"
        "</mods:physicalLocation><mods:shelfLocator>KB 17/3</mods:shelfLocator>"
        "</mods:location>\n"
        '          <mods:language><mods:languageTerm authority="iso639-2b" type="code">lat'
        "</mods:languageTerm></mods:language>\n"
        "          <mods:physicalDescription><mods:extent>312 Bl.</mods:extent>"
        "</mods:physicalDescription>\n"
        f"{extra_mods}"
        "        </mods:mods>\n      </mets:xmlData>\n    </mets:mdWrap>\n  </mets:dmdSec>\n"
        '  <mets:amdSec ID="AMD">\n    <mets:rightsMD ID="RIGHTS">\n'
        '      <mets:mdWrap MDTYPE="OTHER" MIMETYPE="text/xml" OTHERMDTYPE="DVRIGHTS">\n'
        "        <mets:xmlData>\n          <dv:rights>\n"
        "            <dv:owner>Diözesanarchiv Wien</dv:owner>\n"
        "            <dv:license>CC BY-SA 4.0</dv:license>\n"
        "          </dv:rights>\n        </mets:xmlData>\n      </mets:mdWrap>\n"
        "    </mets:rightsMD>\n  </mets:amdSec>\n"
        f"  <mets:fileSec>\n{''.join(file_groups)}  </mets:fileSec>\n"
        '  <mets:structMap TYPE="LOGICAL">\n'
        + (
            '    <mets:div ID="LOG_ANCHOR" TYPE="multivolume_work">\n'
            f'    <mets:mptr LOCTYPE="URL" xlink:href={quoteattr(parent_href)}/>\n'
            if parent_href
            else ""
        )
        + f'    <mets:div ADMID="AMD" DMDID="DMDLOG_0000" ID="LOG_0000" TYPE="{logical_type}">\n'
        f"{links}    </mets:div>\n"
        + ("    </mets:div>\n" if parent_href else "")
        + "  </mets:structMap>\n"
        '  <mets:structMap TYPE="PHYSICAL">\n'
        '    <mets:div ID="PHYS_0000" TYPE="physSequence">\n'
        f"{divs}    </mets:div>\n  </mets:structMap>\n"
        f"  <mets:structLink>\n{links_xml}  </mets:structLink>\n</mets:mets>\n"
    ).encode()


def oai_get_record(mets: bytes, identifier: str) -> bytes:
    """An OAI-PMH 2.0 ``GetRecord`` answer (metadataPrefix=mets) holding ``mets``."""
    body = mets.split(b"?>", 1)[1] if mets.startswith(b"<?xml") else mets
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
        b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        b'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ '
        b'http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n'
        b"  <responseDate>2024-02-01T09:12:44Z</responseDate>\n"
        b'  <request verb="GetRecord" metadataPrefix="mets" identifier="'
        + identifier.encode()
        + b'">https://digital.example.org/oai/</request>\n'
        b"  <GetRecord>\n    <record>\n      <header>\n"
        b"        <identifier>" + identifier.encode() + b"</identifier>\n"
        b"        <datestamp>2023-11-20T14:05:31Z</datestamp>\n"
        b"        <setSpec>manuscripts</setSpec>\n      </header>\n      <metadata>\n"
        + body.strip()
        + b"\n      </metadata>\n    </record>\n  </GetRecord>\n</OAI-PMH>\n"
    )
