"""IIIF reading (esctui.formats.iiif): the corpus manifests, labels and values in every form,
collections, and Image API URLs (from the manifest alone or from info.json)."""

from __future__ import annotations

import json

import pytest

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
from tests.servers.iiif import (
    BOOK,
    CONTEXTS,
    CORPUS_EXPECTED,
    DEE,
    IIIF,
    MANIFEST_DIR,
    PNG_FIXTURE,
    RTL,
)


def read_corpus(name: str) -> IiifManifest:
    parsed = parse_manifest((MANIFEST_DIR / f"{name}.json").read_bytes(), url=f"corpus:{name}")
    assert isinstance(parsed, IiifManifest)
    return parsed


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
