"""Export a document's pages as ALTO v4, PAGE 2019 or plain text: a folder or a ZIP.

One file per page, named after the page image (``scan_0012.jpg`` -> ``scan_0012.xml``; names
made unique with ``_2``, ``_3``...). A ZIP is written to a temporary file next to the target and
renamed over it at the end, so a cancel or failure never leaves a partial ZIP. Into a folder
each file is written atomically as its page is done. Every XML file is checked against the
shipped schema; a file that does not validate is still written and the report says so.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import stat
import time
import zipfile
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path, PurePosixPath

from esctui.domain import Document, Part, Transcription
from esctui.domain.errors import JobError
from esctui.formats.xml import ExportedPage, ExportPage, write_alto, write_page, write_text
from esctui.jobs.runner import JobContext, finish_in_thread
from esctui.store import Store
from esctui.store.atomic import atomic_write_bytes


class ExportFormat(StrEnum):
    ALTO = "alto"
    PAGE = "page"
    TEXT = "text"


SUFFIX = {ExportFormat.ALTO: ".xml", ExportFormat.PAGE: ".xml", ExportFormat.TEXT: ".txt"}
SCHEMA_VERSION = {ExportFormat.ALTO: "4", ExportFormat.PAGE: "2019-07-15"}


PAGES_RUN_SECONDS = 0.1  # pages exported in one go in the worker thread (a cancel waits this)
ZIP_LEVEL = 1  # deflate's fastest level: XML shrinks about 4.5x (level 6: 5.3x) at 3x the speed


class ExportError(JobError):
    """The export cannot start (no pages, an unknown version, an unusable target)."""


def image_file_name(part: Part) -> str:
    """The image name written into the XML: the original file name, without any folder.

    A page cut from a multi-page file (``book.pdf#3``) is named after the page instead
    (``book_3.jpg``), with the stored image's extension.
    """
    name = PurePosixPath(part.original_filename.replace("\\", "/")).name
    if not name or "#" in name:
        return f"{part.name}{PurePosixPath(part.filename).suffix}"
    return name


def export_file_names(parts: list[Part], suffix: str) -> list[str]:
    """One file name per page: the image's stem + ``suffix``, unique (ignoring case)."""
    taken: set[str] = set()
    names = []
    for part in parts:
        stem = PurePosixPath(image_file_name(part)).stem or part.name or "page"
        stem = stem.replace("/", "_").replace("\\", "_").lstrip(".") or "page"
        candidate, n = f"{stem}{suffix}", 1
        while candidate.casefold() in taken:
            n += 1
            candidate = f"{stem}_{n}{suffix}"
        taken.add(candidate.casefold())
        names.append(candidate)
    return names


@dataclass
class _Target:
    """Where the files go: a folder, or a ZIP built in a temporary file."""

    path: Path
    zip: zipfile.ZipFile | None = None
    temp: Path | None = None
    file_mode: int = 0o644  # of the files in the ZIP: what the umask gives a new file here

    @classmethod
    def open(cls, path: Path) -> _Target:
        if path.suffix.lower() == ".zip":
            if path.is_dir():
                raise ExportError(f"{path} is a folder; a ZIP file name was expected.")
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
            archive = zipfile.ZipFile(temp, "w", zipfile.ZIP_DEFLATED)
            # The ZIP was just created with 0o666 minus the umask: its entries get that mode
            # too (zipfile's default, 0o600, made unzipped files private to their owner).
            return cls(path, archive, temp, temp.stat().st_mode & 0o666)
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} is a file; give a folder or a name ending in .zip.")
        path.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def write_file(self, name: str, source: Path) -> None:
        """Copy a file (a page image) in, streamed: stored as it is in a ZIP (images are
        compressed already), fsync-free into a folder."""
        if self.zip is not None:
            entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_STORED
            entry.external_attr = (stat.S_IFREG | self.file_mode) << 16
            with source.open("rb") as data, self.zip.open(entry, "w") as out:
                shutil.copyfileobj(data, out, 1 << 20)
        else:
            target = self.path / name
            temp = target.with_name(f".{target.name}.tmp-{secrets.token_hex(4)}")
            shutil.copyfile(source, temp)
            os.replace(temp, target)

    def write(self, name: str, data: bytes) -> None:
        if self.zip is not None:
            entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = (stat.S_IFREG | self.file_mode) << 16
            self.zip.writestr(entry, data, compresslevel=ZIP_LEVEL)
        else:
            atomic_write_bytes(self.path / name, data, durable=False)

    def commit(self) -> None:
        if self.zip is not None and self.temp is not None:
            self.zip.close()
            os.replace(self.temp, self.path)

    def discard(self) -> None:
        if self.zip is not None and self.temp is not None:
            self.zip.close()
            self.temp.unlink(missing_ok=True)


def resolve_version(store: Store, document_id: str, ref: str | None) -> Transcription | None:
    """The version named ``ref``; without one the most recent version (None if there is none)."""
    if ref:
        return store.get_transcription(document_id, ref)
    versions = store.list_transcriptions(document_id)
    return versions[-1] if versions else None


class ExportJob:
    """Write the pages of a document (or some of them) in one format; kind ``"export"``."""

    kind = "export"
    verb = "written"

    def __init__(
        self,
        store: Store,
        document_id: str,
        out: str | Path,
        *,
        format: str = ExportFormat.ALTO.value,  # the user-facing word
        version: str | None = None,
        part_ids: list[str] | None = None,
        validate: bool = True,
        images: bool = False,
    ) -> None:
        """``images``: write each page's image beside its XML file and a ``METS.xml`` tying
        them together (what ``esctui import archive`` and eScriptorium read back)."""
        try:
            self.format = ExportFormat(format)
        except ValueError:
            raise ExportError(
                f"Unknown export format {format!r}; use alto, page or text."
            ) from None
        self.store = store
        self.document_id = document_id
        self.out = Path(out).expanduser()
        self.version_ref = version
        self.part_ids = part_ids
        self.validate = validate
        self.images = images
        if images and self.format is ExportFormat.TEXT:
            raise ExportError("Images are exported with ALTO or PAGE, not with plain text.")
        document = store.get_document(document_id)
        self.title = f"Export {self.format.value.upper()}: {document.name} to {self.out.name}"

    async def run(self, ctx: JobContext) -> None:
        document = await asyncio.to_thread(self.store.get_document, self.document_id)
        parts = await asyncio.to_thread(self.store.select_parts, self.document_id, self.part_ids)
        if not parts:
            raise ExportError(f"The document {document.name!r} has no pages to export.")
        version = await asyncio.to_thread(
            resolve_version, self.store, self.document_id, self.version_ref
        )
        if version is None:
            ctx.report.notes.append("The document has no transcription version: no text written.")
        elif not self.version_ref:
            ctx.report.notes.append(f"Text of the most recent version, {version.name!r}.")
        names = export_file_names(parts, SUFFIX[self.format])
        image_names = [
            f"{PurePosixPath(name).stem}{PurePosixPath(part.filename).suffix.lower()}"
            for part, name in zip(parts, names, strict=True)
        ]
        target = await asyncio.to_thread(_Target.open, self.out)
        made: Counter[str] = Counter()
        ctx.start(len(parts))
        todo = list(zip(parts, names, image_names, strict=True))
        try:
            while todo:
                ctx.working_on(todo[0][0].name)
                # finish_in_thread: a cancel waits for the pages in work, so the ZIP is not
                # closed under them; pages go in runs of up to a tenth of a second, not one
                # thread hop each.
                done = await finish_in_thread(self._export_pages, document, todo, version, target)
                for (part, name, _image), (exported, problems) in zip(todo, done, strict=False):
                    made.update(exported.notes)
                    ctx.report.count("pages")
                    ctx.report.add_imported(name, f"page {part.order + 1}: {part.name}")
                    for problem in problems:
                        ctx.report.notes.append(f"{name} {problem}")
                last_name = todo[len(done) - 1][1]
                del todo[: len(done)]
                ctx.advance(last_name, len(done))
            if self.images:
                await finish_in_thread(
                    self._write_mets, document, parts, names, image_names, version, target
                )
            await asyncio.sleep(0)  # a cancel asked for during the last pages lands here
            # finish_in_thread: a cancel arriving during the rename waits for it (the ZIP is
            # then whole), rather than deleting what the rename is moving
            await finish_in_thread(target.commit)
        except BaseException:
            await asyncio.to_thread(target.discard)
            raise
        for message, count in made.items():
            ctx.report.notes.append(f"{count} {message}")
        ctx.report.notes.append(f"Written to {self.out}")

    def _export_pages(
        self,
        document: Document,
        todo: list[tuple[Part, str, str]],
        version: Transcription | None,
        target: _Target,
    ) -> list[tuple[ExportedPage, list[str]]]:
        """Export pages from the start of ``todo`` for about a tenth of a second (at least
        one); a worker thread."""
        deadline = time.monotonic() + PAGES_RUN_SECONDS
        done = []
        for part, name, image in todo:
            done.append(self._export_page(document, part, version, name, target, image))
            if time.monotonic() > deadline:
                break
        return done

    def _export_page(
        self,
        document: Document,
        part: Part,
        version: Transcription | None,
        name: str,
        target: _Target,
        image: str,
    ) -> tuple[ExportedPage, list[str]]:
        """Read, write and (for XML) validate one page (and copy its image); a worker thread."""
        layout = self.store.read_page_layout(self.document_id, part.id)
        if self.images:
            target.write_file(image, self.store.part_image_path(part))
        page = ExportPage(
            image_filename=image if self.images else image_file_name(part),
            width=part.width,
            height=part.height,
            regions=layout.regions,
            lines=layout.lines,
            texts=layout.texts_for(version.id) if version else {},
            line_offset=document.line_offset,
            read_direction=document.read_direction,
        )
        writer = {
            ExportFormat.ALTO: write_alto,
            ExportFormat.PAGE: write_page,
            ExportFormat.TEXT: write_text,
        }[self.format]
        exported = writer(page)
        problems: list[str] = []
        if self.validate and exported.root is not None:
            problems = validate_exported(exported, self.format)
        target.write(name, exported.data)
        return exported, problems

    def _write_mets(
        self,
        document: Document,
        parts: list[Part],
        names: list[str],
        image_names: list[str],
        version: Transcription | None,
        target: _Target,
    ) -> None:
        from esctui.formats.mets import ExportedMetsPage, write_mets

        pages = [
            ExportedMetsPage(part.name, image, name)
            for part, name, image in zip(parts, names, image_names, strict=True)
        ]
        group = version.name if version is not None else self.format.value
        target.write("METS.xml", write_mets(pages, group=group, fmt=self.format.value,
                                            title=document.name))  # fmt: skip


def validate_export(data: bytes, fmt: str) -> list[str]:
    """Schema messages for an exported ALTO/PAGE file (empty when it is valid)."""
    from lxml import etree

    from esctui.formats.xml import validate_layout_xml

    root = etree.fromstring(data)
    return validate_layout_xml(root, fmt, SCHEMA_VERSION[ExportFormat(fmt)])


def validate_exported(exported: ExportedPage, fmt: str) -> list[str]:
    """Schema messages for a page just written: its tree is checked as it is (no parse); only
    a tree that fails is checked again from its bytes, for messages with line numbers."""
    from esctui.formats.xml import validate_layout_xml

    assert exported.root is not None
    if not validate_layout_xml(exported.root, fmt, SCHEMA_VERSION[ExportFormat(fmt)]):
        return []
    return validate_export(exported.data, fmt)
