"""EscriptoriumClient against a real eScriptorium (the ``escriptorium`` session fixture).

What the client did is checked on the server with plain httpx calls (``escriptorium.http()``),
never by reading back through the client under test. Everything a test creates lives in a
project of its own (``remote_project``), deleted afterwards with its documents.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from PIL import Image

from esctui.domain.text import printable
from esctui.net.escriptorium import (
    EscriptoriumClient,
    LoginRefusedError,
    ModelJob,
    RemoteNotFoundError,
    RemoteServerError,
    RemoteValidationError,
    TaskState,
    TokenRefusedError,
    UnknownScriptError,
    describe_drf_errors,
)
from esctui.net.http import CouldNotConnectError, NetError
from tests.servers.escriptorium import EscriptoriumServer

pytestmark = pytest.mark.remote


def client(server: EscriptoriumServer, token: str | None = "") -> EscriptoriumClient:
    return EscriptoriumClient(server.url, server.token if token == "" else token)


def new_document(http: httpx.Client, project: dict, name: str, **fields) -> dict:
    """A document made with plain httpx (set-up, not the thing under test)."""
    body = {"name": name, "project": project["slug"], "main_script": "Latin", **fields}
    response = http.post("documents/", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def page_image(path: Path, width: int = 120) -> Path:
    Image.new("RGB", (width, 90), (230, 220, 200)).save(path)
    return path


# ------------------------------------------------------------------------------ who am I


async def test_current_user_names_the_token_owner(escriptorium: EscriptoriumServer) -> None:
    async with client(escriptorium) as escr:
        me = await escr.current_user()
    with escriptorium.http() as http:
        assert me.username == http.get("users/current/").json()["username"]


async def test_a_wrong_token_is_a_sentence_without_the_token(
    escriptorium: EscriptoriumServer,
) -> None:
    wrong = "0" * 40
    async with client(escriptorium, wrong) as escr:
        with pytest.raises(TokenRefusedError) as caught:
            await escr.current_user()
    message = str(caught.value)
    assert message.startswith(f"{escr.host} refused the token (Invalid token.)")
    assert wrong not in message and message.endswith("log in again to get a new one")
    async with client(escriptorium, None) as escr:
        with pytest.raises(TokenRefusedError, match="wants a token"):
            await escr.current_user()


async def test_login_gives_the_token_and_a_wrong_password_is_refused(
    escriptorium: EscriptoriumServer,
) -> None:
    async with client(escriptorium, None) as escr:
        token = await escr.obtain_token(escriptorium.user, escriptorium.password)
        assert token == escriptorium.token  # no regenerate: the same token, still valid
        assert (await escr.current_user()).username == escriptorium.user
    secret = "not-the-password-42"
    async with client(escriptorium, None) as escr:
        with pytest.raises(LoginRefusedError) as caught:
            await escr.obtain_token(escriptorium.user, secret)
    assert "refused the user name or password" in str(caught.value)
    assert secret not in str(caught.value)


async def test_a_server_that_is_not_there(escriptorium: EscriptoriumServer) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from esctui.net.http import RequestLimits

    limits = RequestLimits(retries=1, backoff=0.01)
    async with EscriptoriumClient(f"http://127.0.0.1:{port}", "x" * 40, limits=limits) as escr:
        with pytest.raises(CouldNotConnectError, match=f"could not connect to 127.0.0.1:{port}"):
            await escr.current_user()


async def test_an_address_that_is_not_escriptorium(escriptorium: EscriptoriumServer) -> None:
    """The media folder answers HTML/404 pages, not the API's JSON."""
    async with EscriptoriumClient(escriptorium.url + "/static", escriptorium.token) as escr:
        with pytest.raises(NetError) as caught:
            await escr.current_user()
    assert "<html" not in str(caught.value).lower()


# ------------------------------------------------------------------------------ projects


async def test_project_create_list_delete(escriptorium: EscriptoriumServer) -> None:
    name = escriptorium.unique("project")
    async with client(escriptorium) as escr:
        project = await escr.create_project(name)
        with escriptorium.http() as http:
            seen = http.get(f"projects/{project.id}/").json()
            assert (seen["name"], seen["slug"]) == (name, project.slug)
        assert project.slug in {p.slug for p in await escr.projects()}
        assert (await escr.project(project.slug)).id == project.id
        await escr.delete_project(project.id)
        with escriptorium.http() as http:
            assert http.get(f"projects/{project.id}/").status_code == 404
        with pytest.raises(RemoteNotFoundError, match="there is no project"):
            await escr.project(project.slug)


# ------------------------------------------------------------------------------ documents


async def test_document_create_update_delete(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    name = escriptorium.unique("Register 1748")
    async with client(escriptorium) as escr:
        doc = await escr.create_document(
            name, project_slug=remote_project["slug"], main_script="latin",
            read_direction="rtl", line_offset="topline",
        )  # fmt: skip
        with escriptorium.http() as http:
            seen = http.get(f"documents/{doc.pk}/").json()
        assert seen["name"] == name and seen["project"] == remote_project["slug"]
        assert seen["main_script"] == "Latin"  # matched without regard to case
        assert (seen["read_direction"], seen["line_offset"]) == ("rtl", 1)
        assert [layer["name"] for layer in seen["transcriptions"]] == ["manual"]
        assert doc.line_offset == "topline" and doc.layers[0].name == "manual"

        changed = await escr.update_document(doc.pk, name=name + " bis", line_offset="centered")
        with escriptorium.http() as http:
            seen = http.get(f"documents/{doc.pk}/").json()
        assert (seen["name"], seen["line_offset"], seen["read_direction"]) == (
            name + " bis", 2, "rtl",
        )  # fmt: skip
        assert changed.name == name + " bis"

        assert (await escr.document(doc.pk)).parts_count == 0
        await escr.delete_document(doc.pk)
        with escriptorium.http() as http:
            assert http.get(f"documents/{doc.pk}/").status_code == 404
        with pytest.raises(RemoteNotFoundError) as caught:
            await escr.document(doc.pk)
        assert str(caught.value) == f"document {doc.pk} does not exist on {escr.host}"


async def test_more_than_one_page_of_documents(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    """55 documents: more than the largest page (50), so the `next` links must be followed."""
    with escriptorium.http() as http:
        made = {new_document(http, remote_project, f"doc {i:02d}")["pk"] for i in range(55)}
        first_page = http.get(
            "documents/", params={"project": remote_project["id"], "paginate_by": 50}
        ).json()
    assert first_page["count"] == 55 and len(first_page["results"]) == 50
    assert first_page["next"]
    async with client(escriptorium) as escr:
        listed = await escr.documents(remote_project["id"])
    assert {d.pk for d in listed} == made and len(listed) == 55
    assert [d.name for d in listed] == sorted(d.name for d in listed)
    assert {d.project_slug for d in listed} == {remote_project["slug"]}


async def test_an_unknown_script_is_refused_with_the_closest_choices(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    async with client(escriptorium) as escr:
        with pytest.raises(UnknownScriptError) as caught:
            await escr.create_document(
                "x", project_slug=remote_project["slug"], main_script="Lattin"
            )
        assert "Latin" in caught.value.choices
        assert "does not know the script 'Lattin'" in str(caught.value)
        assert "the closest it knows: " in str(caught.value)
        assert await escr.resolve_script("ARABIC") == "Arabic"
        assert await escr.resolve_script("Latn") == "Latin"  # the ISO 15924 code
        with pytest.raises(UnknownScriptError, match="it knows"):
            await escr.resolve_script("Qqqqqqqqqq")
    with escriptorium.http() as http:  # nothing was created
        docs = http.get("documents/", params={"project": remote_project["id"]}).json()
    assert docs["count"] == 0


async def test_validation_errors_are_field_messages(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    async with client(escriptorium) as escr:
        with pytest.raises(RemoteValidationError) as caught:
            await escr.create_document(
                "x", project_slug="no-such-project-slug", main_script="Latin"
            )
    assert str(caught.value) == (
        f"{escr.host} refused to create the document 'x': "
        "project: Object with slug=no-such-project-slug does not exist."
    )


def test_describe_drf_errors_shapes() -> None:
    assert describe_drf_errors({"name": ["This field is required."]}) == (
        "name: This field is required."
    )
    assert (
        describe_drf_errors(
            [{}, {"line": ['Invalid pk "9" - object does not exist.']}, {"typology": ["Bad."]}]
        )
        == 'item 2: line: Invalid pk "9" - object does not exist.; item 3: typology: Bad.'
    )
    assert describe_drf_errors({"non_field_errors": ["No data provided"]}) == "No data provided"
    assert (
        describe_drf_errors(
            {"status": "error", "error": '{"__all__": ["Choose one type of import."]}'}
        )
        == "Choose one type of import."
    )
    assert describe_drf_errors({"status": "error", "error": {"model": ["Required."]}}) == (
        "model: Required."
    )
    assert describe_drf_errors("This transcription can not be deleted.") == (
        "This transcription can not be deleted."
    )
    assert describe_drf_errors({"name": ["bad \x1b[2J name"]}) == "name: bad \\x1b[2J name"
    assert len(describe_drf_errors({"x": ["y" * 5000]})) == 600


async def test_nested_resources_of_an_unknown_document(escriptorium: EscriptoriumServer) -> None:
    async with client(escriptorium) as escr:
        with pytest.raises(RemoteNotFoundError) as caught:
            await escr.parts(987654321)
        assert str(caught.value) == (
            f"document 987654321 does not exist on {escr.host} or you may not see it"
        )
        assert caught.value.status == 403  # what the server really said


async def test_a_server_error_page_is_not_dumped(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    """A part POST without an image crashes the server (500, a Django debug page)."""
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "crash")
    async with client(escriptorium) as escr:
        with pytest.raises(RemoteServerError) as caught:
            await escr.request(
                "POST", f"documents/{doc['pk']}/parts/", action="add an empty page",
                data={"title": "nothing"},
            )  # fmt: skip
    message = str(caught.value)
    assert message == (
        f"{escr.host} had an internal error (500 Internal Server Error) when asked to add an "
        "empty page; the server's log says why"
    )


# ------------------------------------------------------------------------------ metadata


async def test_document_metadata_is_set_once_per_key(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "with metadata")
    async with client(escriptorium) as escr:
        await escr.set_document_metadata(doc["pk"], "Shelfmark", "Cod. 1")
        await escr.set_document_metadata(doc["pk"], "Shelfmark", "Cod. 2")
        await escr.set_document_metadata(doc["pk"], "Date", "1748")
        with escriptorium.http() as http:
            rows = http.get(f"documents/{doc['pk']}/metadata/").json()["results"]
        assert sorted((r["key"]["name"], r["value"]) for r in rows) == [
            ("Date", "1748"), ("Shelfmark", "Cod. 2"),
        ]  # fmt: skip
        date = next(r for r in rows if r["key"]["name"] == "Date")
        await escr.delete_document_metadata(doc["pk"], date["pk"])
        assert [m.key for m in await escr.document_metadata(doc["pk"])] == ["Shelfmark"]


# ------------------------------------------------------------------------------ pages


async def test_pages_upload_order_move(
    escriptorium: EscriptoriumServer, remote_project: dict, tmp_path: Path
) -> None:
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "pages")
    d = doc["pk"]
    async with client(escriptorium) as escr:
        uploaded = [
            await escr.upload_part(d, page_image(tmp_path / f"f{i},{i}.png", 100 + i))
            for i in range(1, 4)
        ]
        assert [p.original_filename for p in uploaded] == ["f1,1.png", "f2,2.png", "f3,3.png"]
        assert uploaded[0].width == 101 and uploaded[0].height == 90
        with escriptorium.http() as http:
            seen = http.get(f"documents/{d}/parts/").json()["results"]
        assert [(p["pk"], p["original_filename"]) for p in sorted(seen, key=lambda p: p["order"])] == [
            (p.pk, p.original_filename) for p in uploaded
        ]  # fmt: skip

        # the same original file name again: the page is updated in place
        again = await escr.upload_part(
            d, page_image(tmp_path / "other.png", 150), filename="f2,2.png"
        )
        assert again.pk == uploaded[1].pk and again.width == 150

        await escr.move_part(d, uploaded[2].pk, 0)
        with escriptorium.http() as http:
            seen = http.get(f"documents/{d}/parts/", params={"ordering": "order"}).json()
        assert [p["pk"] for p in seen["results"]] == [uploaded[i].pk for i in (2, 0, 1)]
        await escr.move_parts(d, [uploaded[2].pk], -1)
        assert [p.pk for p in await escr.parts(d)] == [p.pk for p in uploaded]

        detail = await escr.part(d, uploaded[0].pk)
        assert detail.part.pk == uploaded[0].pk and detail.regions == () and detail.lines == ()
        assert detail.next == uploaded[1].pk
        await escr.delete_part(d, uploaded[0].pk)
        with escriptorium.http() as http:
            assert http.get(f"documents/{d}/parts/{uploaded[0].pk}/").status_code == 404


# ------------------------------------------------------------------------------ layout and text


async def test_types_regions_lines_and_texts(
    escriptorium: EscriptoriumServer, remote_project: dict, tmp_path: Path
) -> None:
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "layout")
    d = doc["pk"]
    margin = escriptorium.unique("marginalia")
    async with client(escriptorium) as escr:
        part = await escr.upload_part(d, page_image(tmp_path / "p.png"))
        p = part.pk
        types = await escr.ensure_types(d, regions=["main", margin], lines=["Main", "Numbering"])
        assert types.created == (margin,)
        with escriptorium.http() as http:
            seen = http.get(f"documents/{d}/").json()
        valid_blocks = {t["name"]: t["pk"] for t in seen["valid_block_types"]}
        valid_lines = {t["name"]: t["pk"] for t in seen["valid_line_types"]}
        assert valid_blocks[margin] == types.region_type(margin)
        assert "Main" in valid_blocks and "Title" in valid_blocks  # the defaults are kept
        assert set(valid_lines) == {"Main", "Numbering"}
        again = await escr.ensure_types(d, regions=[margin.upper()], lines=["main"])
        assert again.created == () and again.region_type(margin) == types.region_type(margin)

        regions = await escr.create_regions(d, p, [
            {"box": [[0, 0], [60, 0], [60, 40], [0, 40]], "typology": types.region_type("Main")},
            {"box": [[60, 0], [120, 0], [120, 40], [60, 40]], "typology": types.region_type(margin),
             "external_id": "r_margin"},
        ])  # fmt: skip
        layer = await escr.create_layer(d, "esctui import")
        assert (await escr.create_layer(d, "esctui import")).pk == layer.pk
        # the server's own POST answers 500 for a name another document also has ("manual")
        assert (await escr.create_layer(d, "manual")).pk == doc["transcriptions"][0]["pk"]
        lines = await escr.create_lines(d, p, [
            {"baseline": [[2, 20], [58, 20]], "mask": [[2, 5], [58, 5], [58, 25], [2, 25]],
             "region": regions[0].pk, "typology": types.line_type("Main"),
             "transcriptions": [{"transcription": layer.pk, "content": "In nomine domini"}]},
            {"baseline": [[62, 20], [118, 20]], "region": regions[1].pk, "external_id": "l_2",
             "transcriptions": [{"transcription": layer.pk, "content": "amen"}]},
        ])  # fmt: skip
        assert [line.region for line in lines] == [regions[0].pk, regions[1].pk]

        with escriptorium.http() as http:
            detail = http.get(f"documents/{d}/parts/{p}/").json()
            texts = http.get(
                f"documents/{d}/parts/{p}/transcriptions/", params={"transcription": layer.pk}
            ).json()["results"]
            layers = http.get(f"documents/{d}/transcriptions/").json()
        assert [r["external_id"] for r in detail["regions"]][1] == "r_margin"
        assert [r["typology"] for r in detail["regions"]] == [
            types.region_type("Main"), types.region_type(margin),
        ]  # fmt: skip
        assert [(line["pk"], line["region"]) for line in detail["lines"]] == [
            (line.pk, line.region) for line in lines
        ]
        assert [t["content"] for t in texts] == ["In nomine domini", "amen"]
        assert [x["name"] for x in layers].count("esctui import") == 1

        read = await escr.line_texts(d, p, layer.pk)
        assert [(t.line, t.content) for t in read] == [(lines[0].pk, "In nomine domini"),
                                                       (lines[1].pk, "amen")]  # fmt: skip
        await escr.update_line_texts(d, p, [{"pk": read[1].pk, "content": "Amen."}])
        await escr.update_lines(d, p, [{"pk": lines[1].pk, "baseline": [[62, 22], [118, 22]]}])
        await escr.delete_regions(d, p, [regions[1].pk])
        with escriptorium.http() as http:
            texts = http.get(
                f"documents/{d}/parts/{p}/transcriptions/", params={"transcription": layer.pk}
            ).json()["results"]
            detail = http.get(f"documents/{d}/parts/{p}/").json()
        assert [t["content"] for t in texts] == ["In nomine domini", "Amen."]
        assert [r["pk"] for r in detail["regions"]] == [regions[0].pk]
        assert detail["lines"][1]["baseline"] == [[62, 22], [118, 22]]

        await escr.delete_lines(d, p, [lines[0].pk])
        assert [line.pk for line in await escr.lines(d, p)] == [lines[1].pk]
    with escriptorium.http() as http:  # leave no private type behind on a shared server
        assert http.delete(f"types/block/{types.region_type(margin)}/").status_code == 204


async def test_bulk_errors_name_the_item(
    escriptorium: EscriptoriumServer, remote_project: dict, tmp_path: Path
) -> None:
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "bulk errors")
    async with client(escriptorium) as escr:
        part = await escr.upload_part(doc["pk"], page_image(tmp_path / "p.png"))
        with pytest.raises(RemoteValidationError) as caught:
            await escr.create_lines(doc["pk"], part.pk, [
                {"baseline": [[0, 1], [5, 1]]},
                {"baseline": [[0, 9], [5, 9]], "typology": 987654321},
            ])  # fmt: skip
    assert str(caught.value).endswith(
        'item 2: typology: Invalid pk "987654321" - object does not exist.'
    )
    with escriptorium.http() as http:  # the bulk request is atomic: nothing was created
        assert http.get(f"documents/{doc['pk']}/parts/{part.pk}/lines/").json()["count"] == 0


# ------------------------------------------------------------------------------ models, tasks


async def test_model_upload_and_a_recognition_task_report(
    escriptorium: EscriptoriumServer, remote_project: dict, tmp_path: Path
) -> None:
    junk = tmp_path / "not-a-model.mlmodel"
    junk.write_bytes(b"not a model")
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "tasks")
    d = doc["pk"]
    name = escriptorium.unique("model")
    async with client(escriptorium) as escr:
        model = await escr.upload_model(junk, name=name, job=ModelJob.RECOGNIZE)
        try:
            with escriptorium.http() as http:
                seen = http.get(f"models/{model.pk}/").json()
            assert (seen["name"], seen["job"], seen["file_size"]) == (name, "Recognize", 11)
            assert model.pk in {m.pk for m in await escr.models(ModelJob.RECOGNIZE)}

            part = await escr.upload_part(d, page_image(tmp_path / "p.png"))
            layer = await escr.create_layer(d, "kraken")
            with pytest.raises(RemoteValidationError, match=r"parts: Invalid pk"):
                await escr.segment(d, [987654321])
            await escr.transcribe(d, [part.pk], model=model.pk, layer=layer.pk)
            deadline = time.monotonic() + 120
            reports = []
            while time.monotonic() < deadline:
                reports = [r for r in await escr.tasks(d) if "transcribe" in r.method]
                if reports and reports[0].state.over:
                    break
                await asyncio.sleep(0.5)
            assert reports, "no task report for the recognition"
            assert reports[0].state in (TaskState.CRASHED, TaskState.FINISHED)
            with escriptorium.http() as http:
                raw = http.get("tasks/", params={"document": d}).json()["results"]
            assert {r["pk"] for r in raw} >= {r.pk for r in reports}
        finally:
            await escr.delete_model(model.pk)
        with escriptorium.http() as http:
            assert http.get(f"models/{model.pk}/").status_code == 404


async def test_a_page_xml_import_runs_on_the_server(
    escriptorium: EscriptoriumServer, remote_project: dict, corpus: Path
) -> None:
    with escriptorium.http() as http:
        doc = new_document(http, remote_project, "import")
    d = doc["pk"]
    async with client(escriptorium) as escr:
        part = await escr.upload_part(d, corpus / "images" / "170025120000003,0074.jpg")
        with pytest.raises(RemoteValidationError, match="upload_file"):
            await escr.import_layout(d, corpus / "images" / "0014.jpg", layer="bad")
        await escr.import_layout(d, corpus / "page" / "170025120000003,0074.xml", layer="PAGE")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            reports = [r for r in await escr.tasks(d) if r.method.endswith("document_import")]
            if reports and reports[0].state.over:
                break
            await asyncio.sleep(0.3)
        assert reports[0].state is TaskState.FINISHED, reports[0].messages
    with escriptorium.http() as http:
        layers = {t["name"]: t["pk"] for t in http.get(f"documents/{d}/transcriptions/").json()}
        lines = http.get(f"documents/{d}/parts/{part.pk}/lines/").json()
        texts = http.get(
            f"documents/{d}/parts/{part.pk}/transcriptions/",
            params={"transcription": layers["PAGE"]},
        ).json()
    assert lines["count"] == 44 and texts["count"] == 44


# ------------------------------------------------------------------------------ display


async def test_names_from_the_server_are_kept_as_they_are_and_escaped_for_display(
    escriptorium: EscriptoriumServer, remote_project: dict
) -> None:
    with escriptorium.http() as http:
        new_document(http, remote_project, "evil\x1b]0;owned\x07\x1b[2J\u202etxt.exe")
    async with client(escriptorium) as escr:
        (doc,) = await escr.documents(remote_project["id"])
    assert doc.name == "evil\x1b]0;owned\x07\x1b[2J\u202etxt.exe"
    assert printable(doc.name) == "evil\\x1b]0;owned\\x07\\x1b[2J\\u202etxt.exe"
