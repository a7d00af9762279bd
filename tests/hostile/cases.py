"""The hostile cases, each run through the real ``esctui`` command on a fresh data folder.

A ``Case`` makes its input files (``build``) and says how the command must end: an exit
status in ``exits`` (1, 2 or 3 for what is refused, 0 for what must now work), the words of
the sentence it prints, the name of the file it must name. ``run_case`` runs it in a child
process and measures that child's peak memory (its max RSS); ``check_case`` asserts what every
case must hold: no Python traceback, the plain sentence, the store whole (every page's image
where its record says, no staging left). ``tests/hostile/test_cases.py`` runs them all;
``python -m tests.hostile.summary`` prints the figures.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from esctui.domain import DEFAULT_MAX_PIXELS, Part
from esctui.domain.text import printable
from tests.helpers import CORPUS, make_image
from tests.hostile import builders as b

if TYPE_CHECKING:
    from esctui.store import Store

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]  # the worktree: `python -m esctui` runs its code


@dataclass
class Built:
    """What a case's ``build`` made: the command after ``esctui`` and what it must print."""

    argv: list[str]
    names: list[str]  # names the output must show (printable, as the CLI shows them)
    words: list[str]  # words of the sentence that must be printed
    pages: int | None = None  # pages the document must hold afterwards (None: not checked)
    max_rss_mb: int | None = None  # the child's peak memory must stay under this
    setting: str = ""  # the setting that bounds the memory, for the summary


@dataclass
class Case:
    name: str
    build: Callable[[Path, Context], Built]
    exits: frozenset[int]
    needs: str = ""  # "server" (a FaultServer), "nobody" (run as the user nobody)


@dataclass
class Context:
    """What a case may use: a local HTTP server that misbehaves on request (or None)."""

    server: object | None = None
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class Outcome:
    case: Case
    built: Built
    result: subprocess.CompletedProcess[str]
    max_rss_kb: int

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


_MEASURE = (
    "import resource, subprocess, sys\n"
    "done = subprocess.run(sys.argv[2:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(done.returncode)\n"
)


def run_measured(
    data: Path, argv: list[str], *, as_user: str | None = None, timeout: float = 300
) -> tuple[subprocess.CompletedProcess[str], int]:
    """``esctui ARGV`` as a real process on ``data``; returns it and its peak RSS (KB)."""
    rss_file = data.parent / f".rss-{os.getpid()}-{len(argv)}"
    command = [sys.executable, "-m", "esctui", *argv]
    if as_user is not None:
        command = ["setpriv", f"--reuid={as_user}", "--regid=nogroup", "--clear-groups", *command]
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, str(rss_file), *command],
        capture_output=True,
        text=True,
        errors="backslashreplace",
        env={**os.environ, "ESCTUI_DATA": str(data), "PYTHONPATH": str(ROOT)},
        timeout=timeout,
        cwd=ROOT,
    )
    try:
        rss = int(rss_file.read_text())
    except (OSError, ValueError):
        rss = 0
    rss_file.unlink(missing_ok=True)
    return result, rss


def _can_have_thumbnail(store: Store, part: Part) -> bool:
    """The page's thumbnail is there and readable, or can be made from its image (a JPEG page's
    is made when first shown); nothing is written (the disk may be full)."""
    from PIL import Image

    from esctui.formats.thumbnails import thumbnail_from_file

    path = store.part_thumbnail_path(part)
    try:
        if path.exists():
            with Image.open(path) as thumbnail:
                thumbnail.load()
        else:
            thumbnail_from_file(store.part_image_path(part), DEFAULT_MAX_PIXELS)
    except (OSError, ValueError):
        return False
    return True


def store_problems(data: Path) -> list[str]:
    """What is not whole in the data folder: a page whose image is missing or of another size,
    a staging folder left behind. Empty when the store is whole."""
    from esctui.store import Store

    problems = []
    store = Store(data)
    for document in store.list_documents():
        folder = store.document_dir(document.id)
        for part in store.list_parts(document.id):
            image = folder / part.filename
            if not image.is_file() or image.stat().st_size != part.byte_size:
                problems.append(f"{document.name}: page {part.name!r} has no whole image")
            if not _can_have_thumbnail(store, part):
                problems.append(f"{document.name}: page {part.name!r} can have no thumbnail")
        staging = folder / ".staging"
        if staging.is_dir() and any(staging.iterdir()):
            problems.append(f"{document.name}: staged files were left behind")
    return problems


def run_case(case: Case, folder: Path, context: Context) -> Outcome:
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    data = folder / "data"
    create, _ = run_measured(data, ["documents", "create", "D"])
    assert create.returncode == 0, create.stderr
    built = case.build(inputs, context)
    as_user = None
    if case.needs == "nobody":
        as_user = "nobody"
        for path in (folder, data, *data.rglob("*")):
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
    result, rss = run_measured(data, built.argv, as_user=as_user)
    return Outcome(case, built, result, rss)


def check_case(outcome: Outcome, data: Path) -> None:
    """What every hostile case must hold."""
    built, result = outcome.built, outcome.result
    output = outcome.output
    assert "Traceback" not in output, output
    assert result.returncode in outcome.case.exits, (result.returncode, output)
    for word in built.words:
        assert word in output, (word, output)
    for name in built.names:
        assert printable(name) in output, (printable(name), output)
    assert "\x1b" not in output and "\x07" not in output, output
    assert store_problems(data) == []
    if built.pages is not None:
        from esctui.store import Store

        store = Store(data)
        assert len(store.list_parts(store.get_document("D").id)) == built.pages, output
    if built.max_rss_mb is not None:
        assert outcome.max_rss_kb < built.max_rss_mb * 1024, (outcome.max_rss_kb, built)


# --------------------------------------------------------------------------------------------
# The cases


def _images(*paths: Path | str) -> list[str]:
    return ["import", "images", "D", *map(str, paths)]


def non_utf8_names(inputs: Path, _: Context) -> Built:
    folder = inputs / "scans"
    folder.mkdir()
    b.bytes_name(folder, b"page\xff\xfe.png", text="a")
    make_image(folder / "good.png", text="b")
    return Built(_images(folder), ["page\\xff\\xfe.png", "good.png"], ["done"], pages=2)


def escape_sequence_names(inputs: Path, _: Context) -> Built:
    path = make_image(inputs / b.ESCAPE_NAME, text="evil")
    return Built(_images(path), [b.ESCAPE_NAME], ["imported"], pages=1)


def fifo_image(inputs: Path, _: Context) -> Built:
    pipe = b.fifo(inputs / "pipe.jpg")
    return Built(_images(pipe), ["pipe.jpg"], ["a named pipe (FIFO), not an image file"], 0)


def unlistable_folder(inputs: Path, _: Context) -> Built:
    locked = inputs / "locked"
    locked.mkdir()
    make_image(locked / "page.png")
    os.chmod(locked, 0o700)  # root's: the user nobody may not list it
    os.chmod(inputs, 0o755)
    return Built(_images(locked), ["locked"], ["the folder cannot be read: permission denied"], 0)


def huge_non_image(inputs: Path, _: Context) -> Built:
    path = b.sparse_file(inputs / "huge.jpg", 2 * 1024**3, b"this is a text file, not a JPEG\n")
    return Built(
        _images(path), ["huge.jpg"], ["not an image file"], 0, max_rss_mb=300, setting="header"
    )


def thousands_of_frames(inputs: Path, _: Context) -> Built:
    path = b.many_frame_tiff(inputs / "frames.tif", 3000)
    words = ["more than 1,000 frames", "--max-frames"]
    return Built(_images(path), ["frames.tif"], words, pages=0)


def one_bad_frame(inputs: Path, _: Context) -> Built:
    path = b.tiff_with_bad_frame(inputs / "three.tif")
    return Built(_images(path), ["three.tif#2"], ["the frame is corrupt or truncated"], pages=2)


def empty_image(inputs: Path, _: Context) -> Built:
    path = inputs / "empty.png"
    path.write_bytes(b"")
    return Built(_images(path), ["empty.png"], ["the file is empty"], pages=0)


def truncated_image(inputs: Path, _: Context) -> Built:
    path = b.truncated_jpeg(inputs / "cut.jpg")
    return Built(_images(path), ["cut.jpg"], ["corrupt or truncated"], pages=0)


def pixel_bomb(inputs: Path, _: Context) -> Built:
    path = b.bomb_png(inputs / "bomb.png")
    return Built(
        _images(path), ["bomb.png"], ["decompression bomb"], 0, max_rss_mb=300, setting="pixels"
    )


def _pdf(path: Path, *options: str) -> list[str]:
    return ["import", "pdf", "D", str(path), *options]


def vector_page(inputs: Path, _: Context) -> Built:
    path = b.vector_page_pdf(inputs / "poster.pdf", 4200)  # 306 megapixels at 300 dpi
    return Built(
        _pdf(path),
        ["poster.pdf"],
        ["too large to render at 300 dpi", "over the limit of 250 megapixels"],
        pages=0,
        max_rss_mb=400,
        setting="--max-pixels 250 million",
    )


def giant_page(inputs: Path, _: Context) -> Built:
    path = b.vector_page_pdf(inputs / "giant.pdf", 20_000)
    words = ["too large to render at 72 dpi", "choose a lower resolution"]
    return Built(_pdf(path, "--dpi", "72"), ["giant.pdf"], words, pages=0)


def page_tree_cycle(inputs: Path, _: Context) -> Built:
    path = b.page_tree_cycle_pdf(inputs / "cycle.pdf")
    return Built(_pdf(path), ["cycle.pdf"], ["cycle in page tree"], pages=0)


def damaged_ccitt(inputs: Path, _: Context) -> Built:
    path = b.damaged_image_pdf(inputs / "fax.pdf", "CCITTFaxDecode")
    return Built(_pdf(path), ["fax.pdf page 1"], ["the PDF reader reported damage"], pages=1)


def damaged_jbig2(inputs: Path, _: Context) -> Built:
    path = b.damaged_image_pdf(inputs / "jbig.pdf", "JBIG2Decode")
    return Built(_pdf(path), ["jbig.pdf page 1"], ["the PDF reader reported damage"], pages=1)


def absurd_dpi(inputs: Path, _: Context) -> Built:
    path = b.vector_page_pdf(inputs / "page.pdf", 600)
    return Built(_pdf(path, "--dpi", "100000"), [], ["--dpi: must be from 10 to 1200"], 0)


def fifo_pdf(inputs: Path, _: Context) -> Built:
    pipe = b.fifo(inputs / "pipe.pdf")
    return Built(_pdf(pipe), ["pipe.pdf"], ["is a named pipe (FIFO), not a PDF file"], pages=0)


def image_named_pdf(inputs: Path, _: Context) -> Built:
    path = make_image(inputs / "scan.pdf", "PNG")
    return Built(_pdf(path), ["scan.pdf"], ["is not a PDF file: it is a PNG image"], pages=0)


def _xml(path: Path) -> list[str]:
    return ["import", "xml", "D", str(path), "--name", "hostile"]


def huge_xml(inputs: Path, _: Context) -> Built:
    path = b.sparse_file(inputs / "huge.xml", 3 * 1024**3, b'<?xml version="1.0"?>\n<PcGts>')
    return Built(
        _xml(path),
        ["huge.xml"],
        ["XML files larger than 50 MB are not read"],
        pages=0,
        max_rss_mb=300,
        setting="50 MB per XML file",
    )


def folder_as_xml(inputs: Path, _: Context) -> Built:
    folder = inputs / "transcriptions"
    folder.mkdir()
    return Built(_xml(folder), ["transcriptions"], ["is a folder"], pages=0)


def fifo_xml(inputs: Path, _: Context) -> Built:
    pipe = b.fifo(inputs / "pipe.xml")
    return Built(_xml(pipe), ["pipe.xml"], ["named pipe (FIFO)"], pages=0)


def billion_laughs(inputs: Path, _: Context) -> Built:
    path = b.billion_laughs_xml(inputs / "lol.xml")
    return Built(_xml(path), ["lol.xml"], ["entit"], pages=0)


def hostile_zip(inputs: Path, _: Context) -> Built:
    from tests.helpers import write_zip

    members = {
        "../../escape.xml": b"<PcGts/>",
        "bomb.xml": b"<" + b"a" * 30_000_000 + b">",
        "__MACOSX/._page.xml": b"junk",
    }
    path = write_zip(inputs / "hostile.zip", members)
    words = ["goes up with '..'", "a possible compression bomb", "macOS metadata"]
    names = ["../../escape.xml", "bomb.xml"]
    return Built(_xml(path), names, words, pages=0, max_rss_mb=300, setting="50 MB per entry")


def _iiif(source: str, *options: str) -> list[str]:
    return ["import", "iiif", "D", source, *options]


def deep_manifest(inputs: Path, _: Context) -> Built:
    path = inputs / "deep.json"
    path.write_bytes(b.deep_json())
    return Built(_iiif(str(path)), ["deep.json"], ["nested too deeply"], pages=0)


def fifo_manifest(inputs: Path, _: Context) -> Built:
    pipe = b.fifo(inputs / "manifest.json")
    return Built(_iiif(str(pipe)), ["manifest.json"], ["named pipe (FIFO)"], pages=0)


def _serve(context: Context, path: str, *answers: object) -> str:
    server = context.server
    assert server is not None
    server.plan(path, *answers)  # type: ignore[attr-defined]
    return server.url(path)  # type: ignore[attr-defined]


def _manifest(context: Context, name: str, canvases: list[tuple[str, str]], label: str) -> str:
    from tests.servers.faults import Answer

    server = context.server
    body = b.manifest_json(server.base_url, canvases, label)  # type: ignore[attr-defined]
    return _serve(context, f"/{name}/manifest.json", Answer(body=body, repeat=True))


def trickling_manifest(inputs: Path, context: Context) -> Built:
    from tests.servers.faults import Answer

    url = _serve(context, "/slow/manifest.json", Answer(body=b"{" * 400, trickle=0.05))
    words = ["did not finish answering", "within 2 s"]
    return Built(_iiif(url, "--deadline", "2"), [], words, pages=0)


def endless_image(inputs: Path, context: Context) -> Built:
    from tests.servers.faults import Answer

    png = b.png_bytes(1)
    image = _serve(
        context, "/endless.png", Answer(body=png + b"\0" * MB, chunks=400, content_type="image/png")
    )
    good = _serve(context, "/good.png", Answer(body=b.png_bytes(2), content_type="image/png"))
    url = _manifest(context, "endless", [("f. 1", image), ("f. 2", good)], "Endless")
    words = ["larger than 5 MB", "--max-image-mb"]
    return Built(_iiif(url, "--max-image-mb", "5"), ["f. 1"], words, 1, 300, "--max-image-mb 5")


def gzip_bomb_image(inputs: Path, context: Context) -> Built:
    from tests.servers.faults import Answer

    bomb = gzip.compress(b.png_bytes(3) + b"\0" * (64 * MB), 9)
    headers = {"Content-Encoding": "gzip"}
    image = _serve(
        context,
        "/bomb.png",
        Answer(body=bomb, headers=headers, content_type="image/png", repeat=True),
    )
    url = _manifest(context, "bomb", [("f. 1", image)], "Bomb")
    return Built(
        _iiif(url, "--max-image-mb", "8"),
        ["f. 1"],
        ["larger than 8 MB"],
        pages=0,
        max_rss_mb=100,  # the interpreter and httpx (~45 MB) plus the cap, never the 64 MB inside
        setting="--max-image-mb 8",
    )


def redirect_elsewhere(inputs: Path, context: Context) -> Built:
    import socket

    from tests.servers.faults import Answer

    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    target = f"http://127.0.0.1:{closed}/image.png"
    moved = Answer(status=302, headers={"Location": target}, repeat=True)
    image = _serve(context, "/moved.png", moved)
    url = _manifest(context, "moved", [("f. 1", image)], "Moved")
    server_host = context.server.base_url.removeprefix("http://")  # type: ignore[attr-defined]
    words = [f"could not connect to 127.0.0.1:{closed} (redirected there by {server_host})"]
    return Built(_iiif(url), ["f. 1"], words, pages=0)


def placeholder_canvases(inputs: Path, context: Context) -> Built:
    from tests.servers.faults import Answer

    image = _serve(
        context,
        "/placeholder.png",
        Answer(body=b.png_bytes(4), content_type="image/png", repeat=True),
    )
    canvases = [(f"f. {n}", image) for n in range(1, 4)]
    url = _manifest(context, "placeholder", canvases, "Placeholders")
    return Built(_iiif(url), ["f. 1", "f. 3"], ["done: 3 imported, 0 skipped"], pages=3)


def escape_label(inputs: Path, context: Context) -> Built:
    from tests.servers.faults import Answer

    image = _serve(context, "/label.png", Answer(body=b.png_bytes(5), content_type="image/png"))
    label = "f. 1\x1b]0;owned\x07\nimported  forged"
    url = _manifest(context, "label", [(label, image)], "Book\x1b[2J")
    return Built(_iiif(url), [label], ["imported"], pages=1)


def _model(path: Path) -> list[str]:
    return ["models", "add", str(path), "--name", "hostile"]


def model_deep_json(inputs: Path, _: Context) -> Built:
    path = b.safetensors_deep(inputs / "deep.safetensors")
    return Built(_model(path), ["deep.safetensors"], ["header"], pages=0)


def model_huge_number(inputs: Path, _: Context) -> Built:
    path = b.safetensors_huge_number(inputs / "digits.safetensors")
    return Built(_model(path), ["digits.safetensors"], ["header"], pages=0)


def model_infinity(inputs: Path, _: Context) -> Built:
    path = b.safetensors_infinity(inputs / "inf.safetensors")
    return Built(_model(path), ["inf.safetensors"], ["header"], pages=0)


def corpus_scan(inputs: Path, _: Context) -> Built:
    """A real scan, as a control: the hardening must not refuse what is fine."""
    path = CORPUS / "images" / "0014.jpg"
    return Built(_images(path), ["0014.jpg"], ["done: 1 imported"], pages=1)


REFUSED, PARTIAL, USAGE, OK = frozenset({1}), frozenset({3}), frozenset({2}), frozenset({0})

CASES = [
    Case("non-UTF-8 file names", non_utf8_names, OK),
    Case("names with terminal sequences", escape_sequence_names, OK),
    Case("a FIFO as an image", fifo_image, PARTIAL),
    Case("an unlistable folder", unlistable_folder, PARTIAL, needs="nobody"),
    Case("a 2 GB non-image .jpg", huge_non_image, PARTIAL),
    Case("a TIFF of 3000 frames", thousands_of_frames, PARTIAL),
    Case("a TIFF with one bad frame", one_bad_frame, PARTIAL),
    Case("an empty image", empty_image, PARTIAL),
    Case("a truncated JPEG", truncated_image, PARTIAL),
    Case("a 10-gigapixel PNG header", pixel_bomb, PARTIAL),
    Case("a 306-megapixel vector page", vector_page, PARTIAL),
    Case("a 20000 pt page at 72 dpi", giant_page, PARTIAL),
    Case("a PDF page-tree cycle", page_tree_cycle, PARTIAL),
    Case("a damaged CCITT image", damaged_ccitt, OK),
    Case("a damaged JBIG2 image", damaged_jbig2, OK),
    Case("--dpi 100000", absurd_dpi, USAGE),
    Case("a FIFO as a PDF", fifo_pdf, REFUSED),
    Case("a PNG named .pdf", image_named_pdf, REFUSED),
    Case("a 3 GB .xml", huge_xml, REFUSED),
    Case("a folder given to import xml", folder_as_xml, REFUSED),
    Case("a FIFO as XML", fifo_xml, REFUSED),
    Case("entity expansion (billion laughs)", billion_laughs, PARTIAL | REFUSED),
    Case("a ZIP with traversal, bomb, metadata", hostile_zip, PARTIAL | REFUSED),
    Case("a manifest nested 200000 deep", deep_manifest, REFUSED),
    Case("a FIFO as a manifest", fifo_manifest, REFUSED),
    Case("a manifest trickling a byte at a time", trickling_manifest, REFUSED, needs="server"),
    Case("an endless image", endless_image, PARTIAL, needs="server"),
    Case("a gzip bomb image", gzip_bomb_image, PARTIAL, needs="server"),
    Case("a redirect to a closed port elsewhere", redirect_elsewhere, PARTIAL, needs="server"),
    Case("canvases sharing one placeholder image", placeholder_canvases, OK, needs="server"),
    Case("IIIF labels with terminal sequences", escape_label, OK, needs="server"),
    Case("safetensors header nested deep", model_deep_json, REFUSED),
    Case("safetensors 5000-digit offset", model_huge_number, REFUSED),
    Case("safetensors Infinity offset", model_infinity, REFUSED),
    Case("a real scan (control)", corpus_scan, OK),
]
