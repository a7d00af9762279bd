"""Models pushed to a real eScriptorium and the server's own tasks, checked with plain HTTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from esctui.jobs.remote.common import RemoteTarget
from esctui.jobs.remote.models import ModelPushJob
from esctui.jobs.remote.pull import PullJob
from esctui.jobs.remote.push import PushJob
from esctui.jobs.remote.tasks import RemoteTaskJob
from esctui.store import Store
from esctui.store.remote_links import RemoteLinks
from tests.jobs.remote.support import SCAN, all_pages, run
from tests.servers.escriptorium import EscriptoriumServer

pytestmark = pytest.mark.remote


@pytest.fixture
def model_file(tmp_path: Path, corpus: Path, escriptorium: EscriptoriumServer) -> Path:
    """The corpus' recognition model under a name no other test uses."""
    path = tmp_path / f"{escriptorium.unique('overfit')}.mlmodel"
    shutil.copyfile(corpus / "models" / "overfit.mlmodel", path)
    return path


@pytest.fixture
def remote_models(http: httpx.Client) -> Iterator[list[int]]:
    """The pks of models a test made (deleted afterwards)."""
    made: list[int] = []
    yield made
    for pk in made:
        http.delete(f"models/{pk}/")


def models_named(http: httpx.Client, name: str) -> list[dict]:
    return [m for m in all_pages(http, "models/") if m["name"] == name]


def test_a_model_is_pushed_once_with_its_kind_from_its_metadata(
    store: Store, target: RemoteTarget, http: httpx.Client, model_file: Path,
    remote_models: list[int],
) -> None:  # fmt: skip
    job = run(store, ModelPushJob(model_file, target))
    assert job.status == "done", job.error
    [model] = models_named(http, model_file.stem)
    remote_models.append(model["pk"])
    assert model["job"] == "Recognize"
    assert model["file_size"] == model_file.stat().st_size
    assert job.report.counts["bytes sent"] == model_file.stat().st_size

    again = run(store, ModelPushJob(model_file, target))
    assert again.status == "done"
    assert "already on dev" in again.report.notes[0]
    assert len(models_named(http, model_file.stem)) == 1


def test_a_safetensors_model_is_refused_before_anything_is_sent(
    store: Store, target: RemoteTarget, http: httpx.Client, corpus: Path, tmp_path: Path
) -> None:
    before = len(all_pages(http, "models/"))
    path = tmp_path / "overfit_bl.safetensors"
    shutil.copyfile(corpus / "models" / "overfit_bl.safetensors", path)
    job = run(store, ModelPushJob(path, target, kind="recognize"))
    assert job.status == "failed"
    assert "safetensors" in job.error and "CoreML models (.mlmodel) only" in job.error
    assert len(all_pages(http, "models/")) == before


def test_the_servers_recognition_runs_on_a_pushed_page_into_a_named_layer(
    store: Store, document: str, target: RemoteTarget, remote_project: dict, http: httpx.Client,
    model_file: Path, remote_models: list[int],
) -> None:  # fmt: skip
    assert (
        run(store, PushJob(store, document, target, project=remote_project["slug"])).status
        == "done"
    )
    remote = RemoteLinks(store, document, target.url).load().document
    assert remote is not None
    pushed = run(store, ModelPushJob(model_file, target))
    assert pushed.status == "done", pushed.error
    [model] = models_named(http, model_file.stem)
    remote_models.append(model["pk"])

    job = run(
        store,
        RemoteTaskJob(
            target, remote, "transcribe", model=model_file.stem, pages=[1], version="htr"
        ),
    )
    assert job.status == "done", job.error
    assert [item.name for item in job.report.imported] == [f"{SCAN}.jpg"]
    assert not job.report.skipped
    assert job.total == job.done == 1

    layers = {t["name"]: t["pk"] for t in http.get(f"documents/{remote}/").json()["transcriptions"]}
    assert "htr" in layers
    [first, *_] = sorted(all_pages(http, f"documents/{remote}/parts/"), key=lambda p: p["order"])
    texts = all_pages(
        http, f"documents/{remote}/parts/{first['pk']}/transcriptions/", transcription=layers["htr"]
    )
    assert len(texts) == 44  # every line of the page got a text from the model
    assert {t["version_source"] for t in texts} == {f"kraken:{model_file.stem}"}


def test_an_unknown_model_is_refused_with_the_choices(
    store: Store, document: str, target: RemoteTarget, remote_project: dict
) -> None:
    run(store, PushJob(store, document, target, project=remote_project["slug"]))
    remote = RemoteLinks(store, document, target.url).load().document
    assert remote is not None
    job = run(store, RemoteTaskJob(target, remote, "transcribe", model="no such model"))
    assert job.status == "failed"
    assert "there is no Recognize model 'no such model' on dev" in job.error
    assert "esctui models push FILE --remote dev" in job.error
    job = run(store, RemoteTaskJob(target, remote, "segment", pages=[9]))
    assert job.status == "failed" and "page 9 does not exist" in job.error


@pytest.mark.slow
def test_the_servers_segmentation_of_one_page_comes_back_with_pull(
    store: Store, target: RemoteTarget, remote_project: dict, http: httpx.Client,
    corpus: Path, tmp_path: Path,
) -> None:  # fmt: skip
    from esctui.jobs.imports.images import LocalImagesImporter

    doc = store.create_document("Unsegmented", main_script="Latin")
    scan = tmp_path / f"{SCAN}.jpg"
    shutil.copyfile(corpus / "images" / f"{SCAN}.jpg", scan)
    run(store, LocalImagesImporter(store, doc.id, [scan]))
    assert (
        run(store, PushJob(store, doc.id, target, project=remote_project["slug"])).status == "done"
    )
    remote = RemoteLinks(store, doc.id, target.url).load().document
    assert remote is not None

    job = run(store, RemoteTaskJob(target, remote, "segment", pages=[1]))
    assert job.status == "done", job.error
    assert not job.report.skipped, job.report.skipped
    [part] = all_pages(http, f"documents/{remote}/parts/")
    lines = http.get(f"documents/{remote}/parts/{part['pk']}/").json()["lines"]
    assert len(lines) > 20  # the register page has some 44 lines

    pulled = run(store, PullJob(store, target, remote, refresh=True))
    assert pulled.status == "done", pulled.error
    [page] = store.list_parts(doc.id)
    assert len(store.read_page_layout(doc.id, page.id).lines) == len(lines)
