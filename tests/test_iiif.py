"""IIIF reading (esctui.formats.iiif) and downloading (esctui.net.iiif_fetch, iiif_download).

Downloads run against a real HTTP server on 127.0.0.1 (tests/iiif_server.py) serving the corpus
manifests rewritten to point at it and real corpus images; every fault is injected by that server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from iiif_server import CONTEXTS, CORPUS, MANIFEST_DIR, Fault, IiifTestServer, ImageOptions
from PIL import Image

from esctui.domain.errors import EsctuiError
from esctui.formats.iiif import (
    IiifCollection,
    IiifError,
    IiifManifest,
    ImageService,
    image_url_from_info,
    parse_manifest,
    strip_html,
    text_of,
)
from esctui.net.iiif_download import (
    CanvasDownload,
    DownloadResult,
    DownloadStatus,
    download_images,
    download_jobs,
)
from esctui.net.iiif_fetch import DEFAULT_CONCURRENCY, USER_AGENT, fetch_manifest, make_client

IIIF = "https://iiif.io/api/image/3.0/example/reference"
PNG_FIXTURE = "https://iiif.io/api/presentation/2.1/example/fixtures/resources/page1-full.png"
BOOK = "59d09e6773341f28ea166e9f3c1e674f-gallica_ark_12148_bpt6k1526005v_f"
RTL = "4f92cceb12dd53b52433425ce44308c7-ucla_bib1987273_no001_rs_00"
DEE = "421e65be2ce95439b3ad6ef1f2ab87a9-dee-"
INPUT_JPG = CORPUS / "images" / "input.jpg"  # 1456 x 2184

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


def read_corpus(name: str) -> IiifManifest:
    parsed = parse_manifest((MANIFEST_DIR / f"{name}.json").read_bytes(), url=f"corpus:{name}")
    assert isinstance(parsed, IiifManifest)
    return parsed


def path_of(url: str | None) -> str:
    assert url
    return urlsplit(url).path


# --------------------------------------------------------------------------------------------
# Parsing the corpus


def test_corpus_holds_the_manifests_this_file_describes() -> None:
    assert sorted(p.stem for p in MANIFEST_DIR.glob("*.json")) == sorted(CORPUS_EXPECTED)


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
def test_corpus_manifest_parsed(name: str) -> None:
    version, label, canvases, first_url = CORPUS_EXPECTED[name]
    manifest = read_corpus(name)
    assert manifest.version == version
    assert manifest.label == label
    assert [(c.label, c.width, c.height) for c in manifest.canvases] == canvases
    assert [c.index for c in manifest.canvases] == list(range(len(canvases)))
    assert manifest.canvases[0].full_image_url() == first_url
    assert len({c.key for c in manifest.canvases}) == len(canvases)


def test_v3_book_services_and_page_names() -> None:
    manifest = read_corpus("v3_book-1")
    services = [c.service for c in manifest.canvases]
    assert services == [ImageService(f"{IIIF}/{BOOK}{n}", 3, "level1") for n in range(18, 23)]
    assert manifest.canvases[4].full_image_url() == f"{IIIF}/{BOOK}22/full/max/0/default.jpg"
    assert [c.page_name for c in manifest.canvases][:2] == ["Blank page", "Frontispiece"]
    assert manifest.viewing_direction == "left-to-right"


def test_unlabelled_canvas_gets_a_page_name() -> None:
    assert read_corpus("v3_publishing").canvases[0].page_name == "page 1"


def test_no_service_falls_back_to_the_resource_url() -> None:
    for name in ("v2_publishing", "v3_publishing"):
        canvas = read_corpus(name).canvases[0]
        assert canvas.service is None
        assert canvas.full_image_url(max_width=300) == PNG_FIXTURE
        assert (canvas.image_width, canvas.image_height, canvas.image_format) == (
            1200,
            1800,
            "image/png",
        )


def test_choice_takes_the_first_item() -> None:
    canvas = read_corpus("v3_choice").canvases[0]
    assert canvas.service == ImageService(f"{IIIF}/{DEE}natural", 3, "level1")


def test_rtl_manifest_direction_and_summary() -> None:
    manifest = read_corpus("v3_rtl")
    assert manifest.viewing_direction == "right-to-left"
    assert manifest.summary.startswith('Playbill for "Akiba gongen kaisen-banashi,"')
    assert manifest.summary.endswith("producer Mominosuke Ichikawa's crest.")
    assert manifest.canvases[1].full_image_url(max_width=2000) == (
        f"{IIIF}/{RTL}2/full/2000,/0/default.jpg"  # 6062 wide: asked at 2000
    )
    assert "Playbill for" in manifest.description_text()


def test_metadata_on_manifest_and_canvases() -> None:
    manifest = read_corpus("v3_metadata-anywhere")
    assert manifest.metadata_pairs() == {
        "Creator": "Glindoni, Henry Gillard, 1852-1913",
        "Date": "1800-1899",
        "Physical Description": "1 painting : oil on canvas ; canvas 152 x 244.4 cm",
        "Reference": "Wellcome Library no. 47369i",
        "Attribution": (
            "Wellcome Collection. Attribution-NonCommercial 4.0 International (CC BY-NC 4.0)"
        ),
        "IIIF manifest": "corpus:v3_metadata-anywhere",
    }
    text = manifest.description_text()
    assert text.splitlines()[0] == "John Dee performing an experiment before Queen Elizabeth I."
    assert "Creator: Glindoni, Henry Gillard, 1852-1913" in text
    assert "Attribution: Wellcome Collection." in text
    assert text.endswith("IIIF manifest: corpus:v3_metadata-anywhere")
    label, value = manifest.canvases[1].metadata[0]
    assert label == "Description"
    assert value.startswith("The painting originally showed Dee standing in a circle of skulls")


# --------------------------------------------------------------------------------------------
# Parsing: forms the corpus does not show


def test_labels_in_every_form() -> None:
    assert text_of({"fr": ["Titre"], "en": ["Title"]}) == "Title"
    assert text_of({"none": ["f. 1r"], "en": ["folio 1 recto"]}) == "f. 1r"
    assert text_of({"de": ["Blatt 1"]}) == "Blatt 1"
    assert text_of({"en": ["a", "b"]}) == "a; b"
    assert (
        text_of([{"@value": "Titre", "@language": "fr"}, {"@value": "Title", "@language": "en"}])
        == "Title"
    )
    assert text_of([{"@value": "Titre", "@language": "fr"}]) == "Titre"
    assert text_of(["one", "two"]) == "one; two"
    assert text_of(None) == ""
    assert text_of(12) == "12"


def test_html_values_become_plain_text() -> None:
    assert strip_html('<a href="https://gallica.bnf.fr/">Gallica</a> &amp; BnF') == (
        "Gallica (https://gallica.bnf.fr/) & BnF"
    )
    assert strip_html("<p>line one</p><p>line <b>two</b></p>") == "line one\nline two"
    assert strip_html("a<br/>b") == "a\nb"
    assert strip_html("x < y and y > z") == "x < y and y > z"
    assert strip_html("Caf&eacute;") == "Café"


V2_FULL = {
    "@context": "http://iiif.io/api/presentation/2/context.json",
    "@id": "http://127.0.0.1:9/m.json",
    "@type": "sc:Manifest",
    "label": [{"@value": "Livre d'heures", "@language": "fr"}],
    "description": "<p>Un <i>beau</i> livre.</p>",
    "attribution": "Bibliothèque nationale de France",
    "license": "https://creativecommons.org/publicdomain/mark/1.0/",
    "logo": "http://127.0.0.1:9/logo.png",
    "metadata": [
        {"label": "Date", "value": "1450"},
        {"label": "Source", "value": '<a href="http://127.0.0.1:9/ark">BnF</a>'},
        {"label": "Date", "value": ["1451", "1452"]},
    ],
    "sequences": [
        {
            "canvases": [
                {
                    "@id": "http://127.0.0.1:9/c1",
                    "@type": "sc:Canvas",
                    "label": "f. 1r",
                    "width": 2000,
                    "height": 3000,
                    "images": [
                        {
                            "resource": {
                                "@id": "http://127.0.0.1:9/img/f1.jpg",
                                "@type": "oa:Choice",
                                "default": {
                                    "@id": "http://127.0.0.1:9/iiif/f1/full/full/0/default.jpg",
                                    "@type": "dctypes:Image",
                                    "service": {
                                        "@context": "http://iiif.io/api/image/2/context.json",
                                        "@id": "http://127.0.0.1:9/iiif/f1/",
                                        "profile": "http://iiif.io/api/image/2/level2.json",
                                    },
                                },
                                "item": [{"@id": "http://127.0.0.1:9/uv/f1.jpg"}],
                            }
                        }
                    ],
                },
                {"@id": "http://127.0.0.1:9/c2", "@type": "sc:Canvas", "label": "f. 1v"},
            ]
        }
    ],
}


def test_v2_metadata_choice_and_trailing_slash() -> None:
    manifest = parse_manifest(json.dumps(V2_FULL).encode(), url="http://127.0.0.1:9/m.json")
    assert isinstance(manifest, IiifManifest)
    assert manifest.label == "Livre d'heures"
    assert manifest.summary == "Un beau livre."
    assert manifest.metadata_pairs() == {
        "Date": "1450; 1451; 1452",
        "Source": "BnF (http://127.0.0.1:9/ark)",
        "Attribution": "Bibliothèque nationale de France",
        "Rights": "https://creativecommons.org/publicdomain/mark/1.0/",
        "IIIF manifest": "http://127.0.0.1:9/m.json",
    }
    assert "logo" not in manifest.description_text()
    first, second = manifest.canvases
    assert first.service == ImageService("http://127.0.0.1:9/iiif/f1", 2, "level2")
    assert first.full_image_url() == "http://127.0.0.1:9/iiif/f1/full/full/0/default.jpg"
    assert (
        first.full_image_url(max_width=1000)
        == "http://127.0.0.1:9/iiif/f1/full/1000,/0/default.jpg"
    )
    assert second.full_image_url() is None  # a canvas without image


def test_v3_body_with_several_services_prefers_the_newest() -> None:
    data = json.loads((MANIFEST_DIR / "v3_image-service.json").read_text())
    body = data["items"][0]["items"][0]["items"][0]["body"]
    body["service"] = [
        {"@id": "http://127.0.0.1:9/v2/img", "@type": "ImageService2", "profile": "level2"},
        {"id": "http://127.0.0.1:9/v1/img", "@context": CONTEXTS[1]},
    ]
    canvas = parse_manifest(data, url="x").canvases[0]  # type: ignore[union-attr]
    assert canvas.service == ImageService("http://127.0.0.1:9/v2/img", 2, "level2")
    body["service"] = [{"id": "http://127.0.0.1:9/v1/img", "@context": CONTEXTS[1]}]
    canvas = parse_manifest(data, url="x").canvases[0]  # type: ignore[union-attr]
    assert canvas.full_image_url() == "http://127.0.0.1:9/v1/img/full/full/0/native.jpg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!DOCTYPE html><html><body>Gallica</body></html>", "HTML page, not a IIIF manifest"),
        (b"  <html lang='fr'>", "HTML page"),
        (b'<?xml version="1.0"?><mets/>', "not a IIIF manifest (JSON)"),
        (b"{not json", "is not valid JSON"),
        (b"", "is empty"),
        (b"[1, 2]", "no manifest object"),
        (b'{"@type": "sc:Range", "@id": "r"}', "a IIIF 'Range', not a manifest"),
        (b'{"hello": "world"}', "no IIIF type"),
        (b'{"type": "Manifest", "items": []}', "no canvases"),
        (b'{"@type": "sc:Manifest", "sequences": [{"canvases": []}]}', "no canvases"),
        (b'{"@type": "sc:Collection", "manifests": []}', "lists no manifests"),
    ],
)
def test_bad_documents_raise_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(IiifError) as raised:
        parse_manifest(data, url="http://127.0.0.1:9/doc")
    assert message in str(raised.value)


def test_collections_v2_and_v3() -> None:
    v2 = {
        "@context": "http://iiif.io/api/presentation/2/context.json",
        "@id": "http://127.0.0.1:9/coll",
        "@type": "sc:Collection",
        "label": "Fonds",
        "manifests": [{"@id": "http://127.0.0.1:9/a.json", "label": "A"}],
        "members": [
            {"@id": "http://127.0.0.1:9/b.json", "@type": "sc:Manifest", "label": "B"},
            {"@id": "http://127.0.0.1:9/a.json", "@type": "sc:Manifest", "label": "A again"},
            {"@id": "http://127.0.0.1:9/sub", "@type": "sc:Collection", "label": "Sub"},
        ],
    }
    collection = parse_manifest(v2, url="http://127.0.0.1:9/coll")
    assert isinstance(collection, IiifCollection)
    assert collection.label == "Fonds"
    assert collection.manifests == [
        ("A", "http://127.0.0.1:9/a.json"),
        ("B", "http://127.0.0.1:9/b.json"),
    ]
    assert collection.collections == [("Sub", "http://127.0.0.1:9/sub")]
    v3 = {
        "@context": "http://iiif.io/api/presentation/3/context.json",
        "id": "http://127.0.0.1:9/coll3",
        "type": "Collection",
        "label": {"en": ["Simple Collection"]},
        "items": [
            {"id": "http://127.0.0.1:9/m1.json", "type": "Manifest", "label": {"en": ["One"]}},
            {"id": "http://127.0.0.1:9/m2.json", "type": "Manifest"},
        ],
    }
    collection = parse_manifest(v3, url="http://127.0.0.1:9/coll3")
    assert isinstance(collection, IiifCollection)
    assert [tuple(m) for m in collection.manifests] == [
        ("One", "http://127.0.0.1:9/m1.json"),
        ("http://127.0.0.1:9/m2.json", "http://127.0.0.1:9/m2.json"),
    ]


# --------------------------------------------------------------------------------------------
# Image API URLs


def test_service_urls_for_image_api_1_2_3() -> None:
    base = "http://127.0.0.1:9/iiif/x"
    assert ImageService(base, 1).full_image_url() == f"{base}/full/full/0/native.jpg"
    assert ImageService(base, 2).full_image_url() == f"{base}/full/full/0/default.jpg"
    assert ImageService(base, 3).full_image_url() == f"{base}/full/max/0/default.jpg"
    assert ImageService(base, 1).full_image_url(max_width=500, width=900) == (
        f"{base}/full/500,/0/native.jpg"
    )
    assert ImageService(base, 3).full_image_url(max_width=500, width=900) == (
        f"{base}/full/500,/0/default.jpg"
    )
    # never upscaled; unknown width or level 0 -> full size
    assert (
        ImageService(base, 2)
        .full_image_url(max_width=500, width=400)
        .endswith("/full/full/0/default.jpg")
    )
    assert ImageService(base, 3).full_image_url(max_width=500).endswith("/full/max/0/default.jpg")
    assert (
        ImageService(base, 3, "level0")
        .full_image_url(max_width=5, width=9)
        .endswith("/max/0/default.jpg")
    )


def v2_info(level: int = 2, **details: object) -> dict:
    return {
        "@context": CONTEXTS[2],
        "@id": "http://127.0.0.1:9/iiif/p",
        "protocol": "http://iiif.io/api/image",
        "width": 2000,
        "height": 1000,
        "profile": [f"http://iiif.io/api/image/2/level{level}.json", details],
    }


def v3_info(**extra: object) -> dict:
    return {
        "@context": CONTEXTS[3],
        "id": "http://127.0.0.1:9/iiif/p",
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level1",
        "width": 2000,
        "height": 1000,
        **extra,
    }


B = "http://127.0.0.1:9/iiif/p/full"


@pytest.mark.parametrize(
    ("info", "max_width", "url"),
    [
        (v2_info(), None, f"{B}/full/0/default.jpg"),
        (v2_info(), 800, f"{B}/800,/0/default.jpg"),
        (v2_info(), 5000, f"{B}/full/0/default.jpg"),
        (v2_info(maxWidth=1000), None, f"{B}/1000,/0/default.jpg"),  # full refused: 1000 wide
        (v2_info(maxWidth=1000, supports=["max"]), None, f"{B}/max/0/default.jpg"),
        (v2_info(maxWidth=1000, supports=["max"]), 600, f"{B}/600,/0/default.jpg"),
        (v3_info(), None, f"{B}/max/0/default.jpg"),
        (v3_info(maxArea=1_000_000), None, f"{B}/max/0/default.jpg"),
        (v3_info(maxArea=1_000_000), 2000, f"{B}/max/0/default.jpg"),  # 1414 allowed: max
        (v3_info(maxArea=1_000_000), 500, f"{B}/500,/0/default.jpg"),
        (v3_info(maxWidth=2000, maxHeight=500), None, f"{B}/max/0/default.jpg"),
        (v3_info(maxWidth=2000, maxHeight=500), 1500, f"{B}/max/0/default.jpg"),  # max: 1000
        (v3_info(maxWidth=2000, maxHeight=500), 800, f"{B}/800,/0/default.jpg"),
        (
            v3_info(
                profile="level0",
                sizes=[{"width": 250, "height": 125}, {"width": 500, "height": 250}],
            ),
            400,
            f"{B}/250,125/0/default.jpg",
        ),
        (
            v3_info(profile="level0", sizes=[{"width": 500, "height": 250}]),
            100,
            f"{B}/500,250/0/default.jpg",
        ),
        (v3_info(profile="level0"), 400, f"{B}/max/0/default.jpg"),  # nothing smaller offered
        (
            v2_info(level=0, maxWidth=600) | {"sizes": [{"width": 500, "height": 250}]},
            None,
            f"{B}/500,/0/default.jpg",
        ),
        (
            {
                "@context": CONTEXTS[1],
                "@id": "http://127.0.0.1:9/iiif/p",
                "width": 2000,
                "height": 1000,
            },
            None,
            f"{B}/full/0/native.jpg",
        ),
        (
            {
                "@context": CONTEXTS[1],
                "@id": "http://127.0.0.1:9/iiif/p",
                "width": 2000,
                "height": 1000,
                "profile": "http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level1",
            },
            700,
            f"{B}/700,/0/native.jpg",
        ),
        (
            {"@id": "http://127.0.0.1:9/iiif/p", "@context": CONTEXTS[2], "formats": ["png"]},
            None,
            f"{B}/full/0/default.png",
        ),
    ],
)
def test_best_url_from_info_json(info: dict, max_width: int | None, url: str) -> None:
    assert image_url_from_info(info, max_width=max_width) == url


def test_iiif_errors_are_messages_for_the_user() -> None:
    assert issubclass(IiifError, EsctuiError)  # run_job shows the message as it is


def test_info_json_without_id_is_an_error() -> None:
    with pytest.raises(IiifError, match="has no id"):
        image_url_from_info({"@context": CONTEXTS[2], "width": 5, "height": 5})


# --------------------------------------------------------------------------------------------
# The real server


@pytest.fixture
def server():
    with IiifTestServer() as running:
        yield running


@pytest.fixture
async def client():
    async with make_client(timeout=5.0) as http:
        yield http


async def served_manifest(server: IiifTestServer, client, name: str) -> IiifManifest:
    manifest = await fetch_manifest(server.manifest_url(name), client=client)
    assert isinstance(manifest, IiifManifest)
    return manifest


async def run_downloads(jobs: list[CanvasDownload], dest: Path, **options) -> list[DownloadResult]:
    async with contextlib.aclosing(download_images(jobs, dest, **options)) as results:
        return [result async for result in results]


def assert_clean(dest: Path) -> None:
    assert not list(dest.glob(".*.part")), "a partial file was left behind"


@pytest.mark.parametrize("name", sorted(CORPUS_EXPECTED))
async def test_every_corpus_manifest_from_the_server(server, client, name: str) -> None:
    version, label, canvases, first_url = CORPUS_EXPECTED[name]
    manifest = await served_manifest(server, client, name)
    assert (manifest.version, manifest.label) == (version, label)
    assert [(c.label, c.width, c.height) for c in manifest.canvases] == canvases
    rewritten = first_url.replace("https://iiif.io/api/", f"{server.base_url}/")
    assert manifest.canvases[0].full_image_url() == rewritten
    assert manifest.url == server.manifest_url(name)
    assert USER_AGENT in server.user_agents


async def test_download_v3_book(server, client, tmp_path: Path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    progress: list[tuple[int, int]] = []
    results = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, on_progress=lambda *p: progress.append(p)
    )
    assert sorted(r.index for r in results) == [0, 1, 2, 3, 4]
    assert all(r.status is DownloadStatus.DOWNLOADED for r in results), results
    assert progress[-1] == (5, 5) and len(progress) == 5
    for result in results:
        assert result.path is not None and result.path.parent == tmp_path
        with Image.open(result.path) as image:
            assert image.size == (result.width, result.height)
            assert image.format == result.format == "JPEG"
        assert result.label == CORPUS_EXPECTED["v3_book-1"][2][result.index][0]
        assert (
            result.url
            == f"{server.base_url}/image/3.0/example/reference/{BOOK}{18 + result.index}/full/max/0/default.jpg"
        )
        assert result.byte_size == result.path.stat().st_size and len(result.sha256) == 64
    assert server.count("info.json") == 0  # the manifest said enough
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"canvas_{n:05d}.jpg" for n in range(1, 6)
    ]


async def test_download_without_service_uses_the_resource(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v2_publishing")
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok and result.format == "PNG" and result.path.suffix == ".png"
    assert result.label == "p. 1"
    assert path_of(result.url) == "/presentation/2.1/example/fixtures/resources/page1-full.png"


async def test_download_choice_gets_the_default_item(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_choice")
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok and f"{DEE}natural/full/max" in result.url
    assert server.count("xray") == 0


def with_service(server: IiifTestServer, service: dict) -> str:
    """The served v2_publishing manifest with an image service added to its resource."""
    data = json.loads(server.rewritten_manifest("v2_publishing"))
    data["sequences"][0]["canvases"][0]["images"][0]["resource"]["service"] = service
    return server.add_document(f"/variants/{abs(hash(json.dumps(service)))}.json", data)


@pytest.mark.parametrize(
    ("version", "max_width", "expected_path", "expected_width"),
    [
        (1, None, "/image/1.1/ref/p1/full/full/0/native.jpg", 1456),
        (1, 300, "/image/1.1/ref/p1/full/300,/0/native.jpg", 300),
        (2, None, "/image/2.1/ref/p1/full/full/0/default.jpg", 1456),
        (2, 300, "/image/2.1/ref/p1/full/300,/0/default.jpg", 300),
    ],
)
async def test_image_api_1_and_2_services(
    server, client, tmp_path, version, max_width, expected_path, expected_width
) -> None:
    folder = {1: "1.1", 2: "2.1"}[version]
    profile = {
        1: "http://library.stanford.edu/iiif/image-api/1.1/compliance.html#level1",
        2: "http://iiif.io/api/image/2/level1.json",
    }[version]
    service_path = f"/image/{folder}/ref/p1"
    server.image_sources[service_path] = INPUT_JPG
    url = with_service(
        server,
        {"@context": CONTEXTS[version], "@id": server.base_url + service_path, "profile": profile},
    )
    manifest = await fetch_manifest(url, client=client)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, max_width=max_width
    )
    assert result.ok, result.error
    assert path_of(result.url) == expected_path
    assert result.width == expected_width
    assert server.count("info.json") == 0


@pytest.mark.parametrize(("supports_max", "size"), [(False, "333,"), (True, "max")])
async def test_server_size_limit_read_from_info_json(
    server, client, tmp_path, supports_max, size
) -> None:
    service_path = "/image/2.1/ref/limited"
    server.image_sources[service_path] = INPUT_JPG
    server.image_options[service_path] = ImageOptions(max_width=500, supports_max=supports_max)
    url = with_service(
        server,
        {
            "@context": CONTEXTS[2],
            "@id": server.base_url + service_path,
            "profile": "http://iiif.io/api/image/2/level1.json",
        },
    )
    manifest = await fetch_manifest(url, client=client)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert result.ok, result.error
    # full refused (400), then info.json says maxWidth 500 (and so maxHeight 500): 333 x 500
    assert server.requests[-3:] == [
        f"{service_path}/full/full/0/default.jpg",
        f"{service_path}/info.json",
        f"{service_path}/full/{size}/0/default.jpg",
    ]
    assert (result.width, result.height) == (333, 500)


async def test_level0_server_sizes_from_info_json(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG
    server.image_options[service_path] = ImageOptions(level=0, sizes=[(364, 546), (728, 1092)])
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=500)
    assert result.ok, result.error
    assert server.requests[-3:] == [
        f"{service_path}/full/500,/0/default.jpg",  # the manifest says level1: tried, refused
        f"{service_path}/info.json",
        f"{service_path}/full/364,546/0/default.jpg",
    ]
    assert (result.width, result.height) == (364, 546)


async def test_max_width_skips_info_json_when_manifest_gives_sizes(
    server, client, tmp_path
) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=200)
    assert len(results) == 5
    for result in results:  # served images are 228 to 1456 wide: all scaled by the server
        assert result.ok and result.width == 200 and "/full/200,/0/default.jpg" in result.url
    assert server.count("info.json") == 0


async def test_info_json_failure_falls_back_to_the_default_url(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service = manifest.canvases[0].service
    server.inject(path_of(service.info_url), Fault(status=500), times=None)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, info_json="always", backoff=0.01
    )
    assert result.ok and result.url == service.full_image_url()
    assert server.count("info.json") == 2  # tried, retried once, then gave up on it


async def test_500_then_success_is_retried(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=500, body=b"Internal error"), times=2)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, backoff=0.01)
    assert result.ok and result.attempts == 3
    assert server.count(image) == 3
    assert_clean(tmp_path)


async def test_persistent_500_is_reported(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=502), times=None)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, retries=2, backoff=0.01
    )
    assert result.status is DownloadStatus.FAILED and result.attempts == 3
    assert result.error == (
        f"the server answered 502 Bad Gateway for {server.base_url}{image} (tried 3 times)"
    )
    assert list(tmp_path.iterdir()) == []
    assert server.count("info.json") == 0  # a server error: info.json would not help


async def test_501_not_implemented_is_not_retried(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG  # 1456 x 2184
    scaled = f"{service_path}/full/1000,/0/default.jpg"
    server.inject(scaled, Fault(status=501), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client, max_width=1000)
    assert result.ok, result.error
    # the manifest says 4032 wide: "1000," asked and refused (not retried); info.json leads to
    # the same URL, so the body's own URL (full size) is the last resort
    assert server.requests[-3:] == [
        scaled,
        f"{service_path}/info.json",
        f"{service_path}/full/max/0/default.jpg",
    ]
    assert result.attempts == 2 and result.width == 1456


@pytest.mark.parametrize(
    ("retry_after", "cap", "least", "most"), [("1", 60, 0.95, 3), ("3600", 0.2, 0.15, 2)]
)
async def test_429_honours_retry_after(
    server, client, tmp_path, retry_after, cap, least, most
) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(status=429, headers={"Retry-After": retry_after}))
    started = time.monotonic()
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, backoff=0.01, max_retry_after=cap
    )
    elapsed = time.monotonic() - started
    assert result.ok and result.attempts == 2
    assert least <= elapsed < most


async def test_404_image_is_reported_and_others_download(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    missing = path_of(manifest.canvases[2].full_image_url())
    server.inject(missing, Fault(status=404, body=b"Not Found"), times=None)
    results = {
        r.index: r for r in await run_downloads(download_jobs(manifest), tmp_path, client=client)
    }
    assert [i for i, r in sorted(results.items()) if r.ok] == [0, 1, 3, 4]
    assert results[2].status is DownloadStatus.FAILED
    assert results[2].error == f"the server answered 404 Not Found for {server.base_url}{missing}"
    assert results[2].label == "Title page" and results[2].path is None
    assert not (tmp_path / "canvas_00003.jpg").exists()
    assert server.count(missing) == 1  # a 404 is not retried


async def test_html_page_instead_of_image(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    page = b"<!DOCTYPE html>\n<html><body><h1>Too many requests, come back later</h1></body></html>"
    server.inject(image, Fault(body=page, content_type="text/html"), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert not result.ok
    assert (
        result.error
        == f"the server sent a web page (HTML) instead of an image for {server.base_url}{image}"
    )
    assert list(tmp_path.iterdir()) == []


async def test_bytes_that_are_not_an_image(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(body=b"\x00\x01 definitely not a picture " * 50), times=None)
    [result] = await run_downloads(download_jobs(manifest), tmp_path, client=client)
    assert not result.ok and "is not an image that can be read" in result.error
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [1, None])
async def test_partial_body(server, client, tmp_path, times) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    image = path_of(manifest.canvases[0].full_image_url())
    server.inject(image, Fault(partial=True), times=times)
    [result] = await run_downloads(
        download_jobs(manifest), tmp_path, client=client, retries=1, backoff=0.01
    )
    if times == 1:
        assert result.ok and result.attempts == 2
        with Image.open(result.path) as downloaded:
            downloaded.load()  # the whole image arrived
    else:
        assert not result.ok
        assert result.error.startswith("the connection was cut before everything arrived from")
        assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("times", [1, None])
async def test_image_delay_beyond_timeout(server, tmp_path, times) -> None:
    async with make_client(timeout=0.3) as impatient:
        manifest = await served_manifest(server, impatient, "v3_image-service")
        image = path_of(manifest.canvases[0].full_image_url())
        server.inject(image, Fault(delay=1.0), times=times)
        [result] = await run_downloads(
            download_jobs(manifest), tmp_path, client=impatient, retries=1, backoff=0.01
        )
    if times == 1:
        assert result.ok and result.attempts == 2
    else:
        assert result.error == (
            f"the server did not answer within 0.3 s ({server.base_url}{image}) (tried 2 times)"
        )
    assert_clean(tmp_path)


async def test_resume_skips_canvases_already_done(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    jobs = download_jobs(manifest)
    done = {jobs[0].key, jobs[2].key}
    results = await run_downloads(jobs, tmp_path, client=client, already_done=done, in_order=True)
    assert [(r.index, r.status) for r in results] == [
        (0, DownloadStatus.SKIPPED),
        (1, DownloadStatus.DOWNLOADED),
        (2, DownloadStatus.SKIPPED),
        (3, DownloadStatus.DOWNLOADED),
        (4, DownloadStatus.DOWNLOADED),
    ]
    assert server.count(f"{BOOK}18/") == 0 and server.count(f"{BOOK}20/") == 0
    assert server.count(f"{BOOK}19/") == 1
    assert jobs[0].key == f"{server.base_url}/manifests/v3_book-1/canvas/p1"


async def test_results_in_canvas_order_on_request(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_book-1")
    first = path_of(manifest.canvases[0].full_image_url())
    server.inject(first, Fault(delay=0.4))
    unordered = await run_downloads(download_jobs(manifest), tmp_path / "a", client=client)
    assert unordered[-1].index == 0  # the slow first page finished last
    server.inject(first, Fault(delay=0.4))
    ordered = await run_downloads(
        download_jobs(manifest), tmp_path / "b", client=client, in_order=True
    )
    assert [r.index for r in ordered] == [0, 1, 2, 3, 4]


def many_canvases(server: IiifTestServer, count: int) -> str:
    """A v3 manifest of ``count`` canvases shaped like v3_book-1's (one image service each)."""
    data = json.loads(server.rewritten_manifest("v3_book-1"))
    template = json.dumps(data["items"][0])
    data["items"] = [
        json.loads(
            template.replace("canvas/p1", f"canvas/p{n}").replace(f"{BOOK}18", f"{BOOK}18-{n}")
        )
        for n in range(1, count + 1)
    ]
    return server.add_document("/variants/many.json", data)


@pytest.mark.parametrize("concurrency", [3, None])
async def test_concurrency_is_bounded(server, client, tmp_path, concurrency) -> None:
    manifest = await fetch_manifest(many_canvases(server, 20), client=client)
    server.latency = 0.15
    server.reset_stats()
    options = {"concurrency": concurrency} if concurrency else {}
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, **options)
    assert len(results) == 20 and all(r.ok for r in results)
    limit = concurrency or DEFAULT_CONCURRENCY
    assert server.max_in_flight == limit
    assert server.connections <= limit  # keep-alive: connections are reused


@pytest.mark.parametrize("busy", [False, True])
async def test_busy_server_gets_fewer_requests_at_once(server, client, tmp_path, busy) -> None:
    manifest = await fetch_manifest(many_canvases(server, 16), client=client)
    server.latency = 0.1
    if busy:  # two 503 answers halve the limit twice: 4 -> 2 -> 1
        for canvas in manifest.canvases[:2]:
            busy_answer = Fault(status=503, headers={"Retry-After": "0"})
            server.inject(path_of(canvas.full_image_url()), busy_answer)
    server.reset_stats()
    results = await run_downloads(download_jobs(manifest), tmp_path, client=client, concurrency=4)
    assert all(r.ok for r in results)
    first = server.starts[0][0]
    later = [in_flight for started, in_flight in server.starts if started - first > 0.35]
    assert later and max(later) == (1 if busy else 4)


async def test_cancel_leaves_no_partial_files(server, client, tmp_path) -> None:
    manifest = await served_manifest(server, client, "v3_image-service")
    service_path = path_of(manifest.canvases[0].service.id)
    server.image_sources[service_path] = INPUT_JPG
    server.inject(path_of(manifest.canvases[0].full_image_url()), Fault(stall=3.0))

    async def consume() -> None:
        await run_downloads(download_jobs(manifest), tmp_path, client=client)

    task = asyncio.create_task(consume())
    for _ in range(100):
        if list(tmp_path.glob(".*.part")) and list(tmp_path.glob(".*.part"))[0].stat().st_size:
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the download never started writing")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list(tmp_path.iterdir()) == []


async def test_canvas_without_image_is_reported(tmp_path) -> None:
    job = CanvasDownload(index=0, key="c1", label="f. 1v")
    [result] = await run_downloads([job], tmp_path)
    assert result.status is DownloadStatus.FAILED
    assert result.error == "this page has no image in the manifest"


@pytest.mark.parametrize("url", ["file:///etc/hostname", "ftp://127.0.0.1/f1.jpg"])
async def test_image_urls_that_are_not_http_are_refused(tmp_path, url: str) -> None:
    job = CanvasDownload(index=0, key="c1", label="f. 1r", resource_url=url)
    [result] = await run_downloads([job], tmp_path, retries=0)
    assert not result.ok
    assert result.error == f"cannot download {url}: not a valid web address"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# fetch_manifest: sources and faults


async def test_local_manifest_file() -> None:
    manifest = await fetch_manifest(str(MANIFEST_DIR / "v3_rtl.json"))
    assert isinstance(manifest, IiifManifest) and len(manifest.canvases) == 5
    assert manifest.url == str((MANIFEST_DIR / "v3_rtl.json").resolve())


@pytest.mark.parametrize(
    "source",
    [
        f"file://{MANIFEST_DIR}/v3_rtl.json",
        "ftp://127.0.0.1/manifest.json",
        "javascript:alert(1)",
        "data:application/json,{}",
    ],
)
async def test_other_schemes_are_refused(source: str) -> None:
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(source)
    assert "only web addresses starting with http:// or https://" in str(raised.value)
    assert f"not '{source.split(':')[0]}:' addresses" in str(raised.value)


async def test_missing_local_file(tmp_path) -> None:
    with pytest.raises(IiifError, match="there is no manifest file at"):
        await fetch_manifest(str(tmp_path / "nothing.json"))


async def test_manifest_404(server, client) -> None:
    url = f"{server.base_url}/manifests/missing.json"
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client)
    assert str(raised.value) == f"the server answered 404 Not Found for {url}"


async def test_manifest_500_retried_then_reported(server, client) -> None:
    url = server.manifest_url("v3_rtl")
    server.inject("/manifests/v3_rtl.json", Fault(status=500))
    assert isinstance(await fetch_manifest(url, client=client, backoff=0.01), IiifManifest)
    server.inject("/manifests/v3_rtl.json", Fault(status=500), times=None)
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client, backoff=0.01)
    assert str(raised.value) == (
        f"the server answered 500 Internal Server Error for {url} (tried 3 times)"
    )


async def test_html_page_instead_of_manifest(server, client) -> None:
    url = server.add_document(
        "/ark:/12148/btv1b8490076p",
        "<!DOCTYPE html><html><head><title>Gallica</title></head>",
        "text/html",
    )
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(url, client=client)
    assert str(raised.value).startswith(
        f"the server sent an HTML page, not a IIIF manifest ({url})"
    )


async def test_not_json_manifest(server, client) -> None:
    url = server.add_document("/plain.txt", "manifest coming soon", "text/plain")
    with pytest.raises(IiifError, match="is not valid JSON"):
        await fetch_manifest(url, client=client)


async def test_redirects_followed_and_loops_reported(server, client) -> None:
    server.inject("/old/manifest.json", Fault(redirect_to="/manifests/v3_rtl.json"))
    manifest = await fetch_manifest(f"{server.base_url}/old/manifest.json", client=client)
    assert isinstance(manifest, IiifManifest) and len(manifest.canvases) == 5
    server.inject("/loop/a", Fault(redirect_to="/loop/b"), times=None)
    server.inject("/loop/b", Fault(redirect_to="/loop/a"), times=None)
    with pytest.raises(IiifError) as raised:
        await fetch_manifest(f"{server.base_url}/loop/a", client=client)
    assert "redirected too many times (more than 5): a redirect loop" in str(raised.value)
    assert server.count("/loop/") == 6  # the first request and 5 redirects


async def test_manifest_delay_beyond_timeout(server) -> None:
    server.inject("/manifests/v3_rtl.json", Fault(delay=1.0), times=None)
    url = server.manifest_url("v3_rtl")
    started = time.monotonic()
    async with make_client(timeout=0.3) as impatient:
        with pytest.raises(IiifError) as raised:
            await fetch_manifest(url, client=impatient, retries=0)
    assert str(raised.value) == f"the server did not answer within 0.3 s ({url})"
    assert time.monotonic() - started < 0.9


async def test_collection_from_the_server(server, client) -> None:
    collection_url = server.add_document(
        "/collection.json",
        {
            "@context": "http://iiif.io/api/presentation/3/context.json",
            "id": f"{server.base_url}/collection.json",
            "type": "Collection",
            "label": {"en": ["Cookbook examples"]},
            "items": [
                {"id": server.manifest_url(n), "type": "Manifest", "label": {"en": [n]}}
                for n in ("v3_book-1", "v3_rtl")
            ],
        },
    )
    collection = await fetch_manifest(collection_url, client=client)
    assert isinstance(collection, IiifCollection)
    assert collection.label == "Cookbook examples"
    assert [label for label, _ in collection.manifests] == ["v3_book-1", "v3_rtl"]
    for _, url in collection.manifests:
        member = await fetch_manifest(url, client=client)
        assert isinstance(member, IiifManifest) and len(member.canvases) == 5
