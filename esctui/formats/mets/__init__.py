"""Read METS files: a document's pages in order, each page's image and ALTO/PAGE files, and
the document's description (MODS), from a local file, an archive entry or fetched bytes.

Pure: no store, no network. ``read_mets(source, base)`` is the entry point; ``base`` says where
the files the METS names are: an http(s) URL (the METS's own address: relative hrefs are
resolved against it), a folder (``Path``), or any ``LocalFiles`` (``archive.py`` gives the
entries of a ZIP). ``MetsWalk`` follows ``mptr`` links to child METS files (the volumes of a
multi-volume work) once each, to a depth limit, with the bytes the caller fetched.

What is read:
- the METS root, or the METS inside an OAI-PMH ``GetRecord`` answer (``record/metadata``);
- pages from the PHYSICAL structMap (Transkribus writes ``TYPE="MANUSCRIPT"``; without any, the
  image group's files in order), ``div`` elements whose TYPE names a page, nested at any depth,
  siblings in ``ORDER`` when all have one; labels from ORDERLABEL, LABEL or ORDER;
- each page's files via ``fptr/@FILEID`` and ``fptr//area/@FILEID``; files from
  ``fileSec//fileGrp`` (USE, else ID) with ``FLocat/@xlink:href`` and MIMETYPE;
- one image group: the one asked for, else the largest by the usual names (``IMAGE_GROUPS``);
- every ALTO/PAGE group as a transcription version ``"<name> | <USE>"`` (as eScriptorium names
  them), ALTO or PAGE told by MIMETYPE, else by the start of a local file, else by the name;
- the description from the document's MODS (title, names, dates, place, holding institution,
  shelfmark, identifiers, language, extent, notes, rights), DFG ``dv:rights`` and Transkribus'
  ``trpDocMetadata``.

Refused, with a ``MetsError`` naming the METS: files that are not XML or not METS, cut short,
declaring entities (XXE), larger than ``max_bytes``, with more than ``max_pages`` pages or
``max_files`` files, and a loop of ``mptr`` links. Refused per file, with a reason in
``MetsDocument.skipped`` naming the file: ``file://`` and other non-http addresses, absolute
local paths, ``../`` leading out of the folder or archive, hosts outside ``allowed_domains``,
local files that do not exist.

Modules: ``model`` (records, settings, errors), ``read`` (``read_mets``, OAI-PMH, ``MetsWalk``),
``structure`` (the tree: files, groups, pages), ``hrefs`` (where an href may lead), ``mods``
(the description), ``write`` (the METS of an export with images).
"""

from __future__ import annotations

from esctui.formats.mets.model import (
    ALTO_MIMETYPES,
    DEFAULT_SETTINGS,
    DEFAULT_VERSION_NAME,
    DFG_VIEWER_NAMESPACE,
    IMAGE_GROUPS,
    MODS_NAMESPACE,
    PAGE_MIMETYPES,
    SMALL_IMAGE_GROUPS,
    XLINK_HREF,
    XLINK_NAMESPACE,
    FolderFiles,
    GroupKind,
    LocalFiles,
    MetsDocument,
    MetsError,
    MetsFile,
    MetsFileGroup,
    MetsLink,
    MetsPage,
    MetsSettings,
)
from esctui.formats.mets.mods import ROLE_NAMES
from esctui.formats.mets.read import MetsWalk, read_mets
from esctui.formats.mets.write import XML_MIMETYPES, ExportedMetsPage, write_mets

__all__ = [
    "ALTO_MIMETYPES",
    "DEFAULT_SETTINGS",
    "DEFAULT_VERSION_NAME",
    "DFG_VIEWER_NAMESPACE",
    "ExportedMetsPage",
    "FolderFiles",
    "GroupKind",
    "IMAGE_GROUPS",
    "LocalFiles",
    "MODS_NAMESPACE",
    "MetsDocument",
    "MetsError",
    "MetsFile",
    "MetsFileGroup",
    "MetsLink",
    "MetsPage",
    "MetsSettings",
    "MetsWalk",
    "PAGE_MIMETYPES",
    "ROLE_NAMES",
    "SMALL_IMAGE_GROUPS",
    "XLINK_HREF",
    "XLINK_NAMESPACE",
    "XML_MIMETYPES",
    "read_mets",
    "write_mets",
]
