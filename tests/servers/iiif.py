"""A real IIIF HTTP server on 127.0.0.1 for tests and the benchmark (no mocks).

It serves
- ``/manifests/<name>.json``: the corpus manifests from ``../shared/corpus/iiif/``, their ids
  rewritten to point at this server (``{{ id.url }}``, ``{{ id.path }}`` and
  ``https://iiif.io/api/`` are replaced; the structure is kept as it is);
- ``/image/<version>/<identifier...>/info.json`` and
  ``/image/<version>/<identifier...>/<region>/<size>/<rotation>/<quality>.<format>``: a small
  IIIF Image API 1.1/2.1/3.0 server (the version is the path segment: ``1.1``, ``2.1``, ``3.0``)
  that checks the URL syntax of that version and scales real corpus images with Pillow;
- any other ``*.jpg``/``*.png`` path: a real corpus image in that format;
- documents added with ``add_document``.

Faults are injected by the server per path (``inject``): delays, error statuses with headers
(e.g. 429 with Retry-After), replaced bodies (HTML), partial bodies (Content-Length larger than
what is sent), stalled bodies, redirects. It counts requests, connections and requests in flight.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image

from esctui.formats.iiif import IiifCanvas, IiifManifest, parse_manifest
from tests.helpers import CORPUS, make_image

MANIFEST_DIR = CORPUS / "iiif"
SOURCE_IMAGES = [
    CORPUS / "images" / "input.jpg",
    CORPUS / "images" / "170025120000003,0074.jpg",
    CORPUS / "images" / "0014.jpg",
    CORPUS / "images" / "bw.png",
]

CONTEXTS = {
    1: "http://library.stanford.edu/iiif/image-api/1.1/context.json",
    2: "http://iiif.io/api/image/2/context.json",
    3: "http://iiif.io/api/image/3/context.json",
}
QUALITIES = {1: {"native", "color", "grey", "bitonal"}, 2: {"default", "color", "gray", "bitonal"}}
QUALITIES[3] = QUALITIES[2]


@dataclass
class Fault:
    """One misbehaviour of the server for one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None  # replaces the normal body
    content_type: str | None = None
    delay: float = 0.0  # seconds to wait before answering
    partial: bool = False  # declare the full Content-Length, send half, close the connection
    stall: float = 0.0  # send half the body, wait this long, send the rest
    redirect_to: str | None = None  # answer 302 to this path


@dataclass
class ImageOptions:
    """What an image service says about itself and enforces."""

    level: int = 1
    max_width: int | None = None
    max_area: int | None = None
    sizes: list[tuple[int, int]] | None = None
    supports_max: bool = False  # v2: list "max" among the supported features


class _Answer(Exception):
    def __init__(self, status: int, body: bytes = b"", content_type: str = "text/plain"):
        super().__init__(status)
        self.status, self.body, self.content_type = status, body, content_type


class IiifTestServer:
    """Start with ``with IiifTestServer() as server:``; ``server.base_url`` is its address."""

    def __init__(self, *, latency: float = 0.0, port: int = 0) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._faults: dict[str, list[tuple[Fault, int | None]]] = {}
        self._documents: dict[str, tuple[bytes, str]] = {}
        self.image_options: dict[str, ImageOptions] = {}  # by service path
        self.image_sources: dict[str, Path] = {}  # by service or file path; else picked by hash
        self._encoded: dict[tuple[str, ...], bytes] = {}
        self._sources: dict[Path, Image.Image] = {}
        self.requests: list[str] = []
        self.user_agents: set[str] = set()
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.starts: list[tuple[float, int]] = []  # (time.monotonic(), requests in flight then)
        self._httpd = _Listener(("127.0.0.1", port), self._handler_class())
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    # -- life ------------------------------------------------------------------------------
    def start(self) -> IiifTestServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> IiifTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- set-up ----------------------------------------------------------------------------
    def manifest_url(self, name: str) -> str:
        """URL of a corpus manifest, by file stem (``v3_book-1``)."""
        return f"{self.base_url}/manifests/{name}.json"

    def rewritten_manifest(self, name: str) -> str:
        """The corpus manifest text with its ids pointing at this server."""
        text = (MANIFEST_DIR / f"{name}.json").read_text(encoding="utf-8")
        text = text.replace("{{ id.url }}", self.manifest_url(name))
        text = text.replace("{{ id.path }}", f"{self.base_url}/manifests/{name}")
        return text.replace("https://iiif.io/api/", f"{self.base_url}/")

    def add_document(
        self, path: str, body: bytes | str | dict | list, content_type: str = ""
    ) -> str:
        """Serve ``body`` at ``path``; returns its URL."""
        if isinstance(body, (dict, list)):
            body, content_type = json.dumps(body).encode(), content_type or "application/json"
        elif isinstance(body, str):
            body = body.encode("utf-8")
        self._documents[path] = (body, content_type or "application/octet-stream")
        return self.base_url + path

    def inject(self, path: str, fault: Fault, times: int | None = 1) -> None:
        """Misbehave on the next ``times`` requests to ``path`` (None: every request)."""
        with self._lock:
            self._faults.setdefault(path, []).append((fault, times))

    def reset_stats(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = self.in_flight
            self.connections = 0
            self.starts.clear()

    def count(self, pattern: str) -> int:
        """How many requests had a path containing ``pattern``."""
        with self._lock:
            return sum(pattern in path for path in self.requests)

    # -- internals -------------------------------------------------------------------------
    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            if not queue:
                return None
            fault, times = queue[0]
            if times is not None:
                if times <= 1:
                    queue.pop(0)
                else:
                    queue[0] = (fault, times - 1)
            return fault

    def _source_for(self, key: str) -> Path:
        if key in self.image_sources:
            return self.image_sources[key]
        digest = hashlib.sha1(key.encode()).digest()
        return SOURCE_IMAGES[digest[0] % len(SOURCE_IMAGES)]

    def _source_image(self, path: Path) -> Image.Image:
        with self._lock:
            if path not in self._sources:
                with Image.open(path) as image:
                    image.load()
                    self._sources[path] = image.copy()
            return self._sources[path]

    def _encode(self, image: Image.Image, fmt: str) -> bytes:
        out = io.BytesIO()
        if fmt == "jpg":
            image.convert("RGB" if image.mode not in ("L", "RGB") else image.mode).save(
                out, "JPEG", quality=85
            )
        else:
            image.save(out, "PNG")
        return out.getvalue()

    def _answer(self, path: str) -> tuple[bytes, str]:
        if path in self._documents:
            return self._documents[path]
        match = re.fullmatch(r"/manifests/([\w.-]+)\.json", path)
        if match and (MANIFEST_DIR / f"{match.group(1)}.json").is_file():
            return self.rewritten_manifest(match.group(1)).encode(), "application/ld+json"
        if path.startswith("/image/"):
            return self._image_api(path)
        if path.endswith((".jpg", ".png")):
            source = self._source_for(path)
            fmt = path.rsplit(".", 1)[1]
            if source.suffix.lstrip(".") == fmt:
                return source.read_bytes(), f"image/{'jpeg' if fmt == 'jpg' else 'png'}"
            return self._encode(self._source_image(source), fmt), f"image/{fmt}"
        raise _Answer(404, b"Not found")

    def _image_api(self, path: str) -> tuple[bytes, str]:
        parts = path.split("/")[2:]
        if len(parts) < 3:
            raise _Answer(404, b"Not found")
        version = {"1.1": 1, "1": 1, "2.1": 2, "2": 2, "3.0": 3, "3": 3}.get(parts[0])
        if version is None:
            raise _Answer(404, b"unknown Image API version")
        if parts[-1] == "info.json":
            service_path = "/image/" + "/".join(parts[:-1])
            return json.dumps(self._info(service_path, version)).encode(), "application/json"
        if len(parts) < 6:
            raise _Answer(404, b"Not found")
        service_path = "/image/" + "/".join(parts[:-4])
        region, size, rotation, last = parts[-4:]
        quality, _, fmt = last.partition(".")
        source = self._source_for(service_path)
        image = self._source_image(source)
        width, height = image.size
        if region != "full" or rotation != "0" or quality not in QUALITIES[version]:
            raise _Answer(400, b"unsupported region, rotation or quality")
        if fmt not in ("jpg", "png"):
            raise _Answer(400, b"unsupported format")
        target = self._target_size(service_path, version, size, width, height)
        key = (str(source), f"{target[0]}x{target[1]}", fmt, quality)
        with self._lock:
            cached = self._encoded.get(key)
        if cached is None:
            if target == (width, height) and source.suffix.lstrip(".") == fmt:
                cached = source.read_bytes()
            else:
                cached = self._encode(image.resize(target, Image.Resampling.BILINEAR), fmt)
            with self._lock:
                self._encoded[key] = cached
        return cached, "image/jpeg" if fmt == "jpg" else "image/png"

    def _target_size(
        self, service_path: str, version: int, size: str, width: int, height: int
    ) -> tuple[int, int]:
        """The size a real server would send for ``size``, or a 400 like a real server."""
        options = self.image_options.get(service_path, ImageOptions())
        allowed_w = _largest_width(width, height, options)
        allowed = (allowed_w, max(1, round(allowed_w * height / width)))
        if size == "max" and version >= 2:
            return allowed
        if size == "full" and version <= 2:
            if allowed_w < width:
                raise _Answer(400, b"full size is larger than this server allows; ask for max")
            return width, height
        if options.level == 0:
            listed = options.sizes or []
            match = re.fullmatch(r"(\d+),(\d*)", size)
            if match and any(
                int(match.group(1)) == w and (not match.group(2) or int(match.group(2)) == h)
                for w, h in listed
            ):
                w = int(match.group(1))
                return w, next(h for lw, h in listed if lw == w)
            raise _Answer(400, b"this level 0 server only serves its listed sizes")
        match = re.fullmatch(r"(\d+),", size)
        if not match:
            raise _Answer(400, f"size {size!r} not valid in Image API {version}".encode())
        w = int(match.group(1))
        if w > allowed_w:  # beyond the limits or an upscale: refused like a real server
            raise _Answer(400, b"size larger than allowed")
        return w, max(1, round(w * height / width))

    def _info(self, service_path: str, version: int) -> dict[str, Any]:
        image = self._source_image(self._source_for(service_path))
        width, height = image.size
        options = self.image_options.get(service_path, ImageOptions())
        sizes = options.sizes or [(max(1, width // 4), max(1, height // 4))]
        service_id = self.base_url + service_path
        limits = {"maxWidth": options.max_width, "maxArea": options.max_area}
        limits = {k: v for k, v in limits.items() if v}
        sizes_json = [{"width": w, "height": h} for w, h in sizes]
        if version == 1:
            return {
                "@context": CONTEXTS[1],
                "@id": service_id,
                "width": width,
                "height": height,
                "formats": ["jpg", "png"],
                "qualities": ["native", "grey"],
                "profile": "http://library.stanford.edu/iiif/image-api/1.1/compliance.html"
                f"#level{options.level}",
            }
        if version == 2:
            supports = ["sizeByW"] if options.level else []
            if options.supports_max:
                supports.append("max")
            return {
                "@context": CONTEXTS[2],
                "@id": service_id,
                "protocol": "http://iiif.io/api/image",
                "width": width,
                "height": height,
                "sizes": sizes_json,
                "profile": [
                    f"http://iiif.io/api/image/2/level{options.level}.json",
                    {"formats": ["jpg", "png"], "supports": supports, **limits},
                ],
            }
        return {
            "@context": CONTEXTS[3],
            "id": service_id,
            "type": "ImageService3",
            "protocol": "http://iiif.io/api/image",
            "profile": f"level{options.level}",
            "width": width,
            "height": height,
            "sizes": sizes_json,
            **limits,
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # http.server's name
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(path)
                    server.user_agents.add(self.headers.get("User-Agent", ""))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    server.starts.append((time.monotonic(), server.in_flight))
                try:
                    self._respond(path)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _respond(self, path: str) -> None:
                fault = server._take_fault(path)
                if server.latency:
                    time.sleep(server.latency)
                if fault and fault.delay:
                    time.sleep(fault.delay)
                if fault and fault.redirect_to:
                    self._send(302, b"", "text/plain", {"Location": fault.redirect_to})
                    return
                try:
                    body, content_type = server._answer(path)
                    status = 200
                except _Answer as answer:
                    status, body, content_type = answer.status, answer.body, answer.content_type
                if fault is None:
                    self._send(status, body, content_type, {})
                    return
                if fault.body is not None:
                    body = fault.body
                content_type = fault.content_type or content_type
                status = fault.status if fault.status != 200 else status
                if fault.partial:
                    self._send_head(status, len(body), content_type, fault.headers)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if fault.stall:
                    self._send_head(status, len(body), content_type, fault.headers)
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    time.sleep(fault.stall)
                    try:
                        self.wfile.write(body[len(body) // 2 :])
                    except OSError:
                        self.close_connection = True
                    return
                self._send(status, body, content_type, fault.headers)

            def _send_head(
                self, status: int, length: int, content_type: str, headers: dict[str, str]
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(length))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def _send(
                self, status: int, body: bytes, content_type: str, headers: dict[str, str]
            ) -> None:
                self._send_head(status, len(body), content_type, headers)
                self.wfile.write(body)

        return Handler


class _Listener(ThreadingHTTPServer):
    """http.server with a real server's listen backlog (socketserver's default of 5 makes
    the kernel drop simultaneous connects and the client waits 1 s to retry)."""

    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (it timed out or was cancelled): expected here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _largest_width(width: int, height: int, options: ImageOptions) -> int:
    allowed = float(width)
    if options.max_width:
        allowed = min(allowed, options.max_width, options.max_width * width / height)
    if options.max_area:
        allowed = min(allowed, math.sqrt(options.max_area * width / height))
    return max(1, math.floor(allowed))


# --------------------------------------------------------------------------------------------
# What the tests expect of the corpus manifests, and what they do with the server


IIIF = "https://iiif.io/api/image/3.0/example/reference"
PNG_FIXTURE = "https://iiif.io/api/presentation/2.1/example/fixtures/resources/page1-full.png"
BOOK = "59d09e6773341f28ea166e9f3c1e674f-gallica_ark_12148_bpt6k1526005v_f"
RTL = "4f92cceb12dd53b52433425ce44308c7-ucla_bib1987273_no001_rs_00"
DEE = "421e65be2ce95439b3ad6ef1f2ab87a9-dee-"

# Read by hand from ../shared/corpus/iiif/*.json:
# file -> (Presentation version, label, [(canvas label, width, height)], first image URL)
CORPUS_EXPECTED = {
    "v2_publishing": (
        2,
        "IIIF Presentation Version 3 Minimum Viable Manifest",
        [("p. 1", 1200, 1800)],
        PNG_FIXTURE,
    ),
    "v3_book-1": (
        3,
        "Simple Manifest - Book",
        [
            ("Blank page", 3204, 4613),
            ("Frontispiece", 3186, 4612),
            ("Title page", 3204, 4613),
            ("Blank page", 3174, 4578),
            ("Bookplate", 3198, 4632),
        ],
        f"{IIIF}/{BOOK}18/full/max/0/default.jpg",
    ),
    "v3_choice": (
        3,
        "John Dee performing an experiment before Queen Elizabeth I.",
        [("", 2000, 1271)],
        f"{IIIF}/{DEE}natural/full/max/0/default.jpg",
    ),
    "v3_image-service": (
        3,
        "Picture of Göttingen taken during the 2019 IIIF Conference",
        [("Canvas with a single IIIF image", 4032, 3024)],
        f"{IIIF}/918ecd18c2592080851777620de9bcb5-gottingen/full/max/0/default.jpg",
    ),
    "v3_metadata-anywhere": (
        3,
        "John Dee performing an experiment before Queen Elizabeth I.",
        [("Painting under natural light", 2000, 1271), ("X-ray view of painting", 2000, 1271)],
        f"{IIIF}/{DEE}natural/full/max/0/default.jpg",
    ),
    "v3_publishing": (
        3,
        "IIIF Presentation Version 3 Minimum Viable Manifest",
        [("", 1200, 1800)],
        PNG_FIXTURE,
    ),
    "v3_rtl": (
        3,
        "Book with Right-to-Left Viewing Direction",
        [
            ("front cover", 3497, 4823),
            ("pages 1–2", 6062, 4804),
            ("pages 3–4", 6127, 4776),
            ("pages 5–6", 6124, 4751),
            ("back cover", 3510, 4808),
        ],
        f"{IIIF}/{RTL}1/full/max/0/default.jpg",
    ),
}


def path_of(url: str | None) -> str:
    assert url
    return urlsplit(url).path


BOOK_LABELS = ["Blank page", "Frontispiece", "Title page", "Blank page", "Bookplate"]
RTL_LABEL = "Book with Right-to-Left Viewing Direction"


def served(server: IiifTestServer, name: str) -> IiifManifest:
    """The corpus manifest as the server sends it (ids and image URLs pointing at it)."""
    manifest = parse_manifest(server.rewritten_manifest(name), url=server.manifest_url(name))
    assert isinstance(manifest, IiifManifest)
    return manifest


def image_path(canvas: IiifCanvas) -> str:
    return urlsplit(canvas.full_image_url()).path


def give_distinct_images(server: IiifTestServer, name: str, folder: Path) -> list[Path]:
    """Serve a different JPEG (pixels and size) for each canvas of ``name``; returns them in
    canvas order."""
    files = []
    for canvas in served(server, name).canvases:
        picture = make_image(
            folder / name / f"canvas{canvas.index}.jpg",
            size=(600 + 10 * canvas.index, 900 + 7 * canvas.index),
            text=f"{name} {canvas.label}",
        )
        key = urlsplit(canvas.service.id).path if canvas.service else image_path(canvas)
        server.image_sources[key] = picture
        files.append(picture)
    return files


def add_collection(server: IiifTestServer) -> str:
    return server.add_document(
        "/collection.json",
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": f"{server.base_url}/collection.json",
            "type": "Collection",
            "label": {"en": ["Two books"]},
            "items": [
                {"id": server.manifest_url("v3_book-1"), "type": "Manifest",
                 "label": {"en": ["Simple Manifest - Book"]}},
                {"id": server.manifest_url("v3_rtl"), "type": "Manifest",
                 "label": {"en": [RTL_LABEL]}},
            ],
        },
    )  # fmt: skip


def serve_forever(port: int = 0, latency: float = 0.0, ready: Any = None) -> None:
    """Run a server until killed (for the benchmark's separate process)."""
    server = IiifTestServer(latency=latency, port=port)
    if ready is not None:
        ready.put(server.base_url)
    server._httpd.serve_forever()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    print(f"serving on http://127.0.0.1:{args.port}", flush=True)
    serve_forever(args.port, args.latency)
