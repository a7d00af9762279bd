"""The client when the server dies mid-upload and comes back (only on a server this session
started: ``escriptorium.require_own_server()`` skips these on a borrowed one)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from esctui.net.escriptorium import EscriptoriumClient
from esctui.net.http import NetError, RequestLimits
from tests.servers.escriptorium import EscriptoriumServer

pytestmark = pytest.mark.remote


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.timeout(900)
async def test_killing_daphne_mid_upload_then_restarting(
    escriptorium: EscriptoriumServer, tmp_path: Path
) -> None:
    escriptorium.require_own_server()
    pages = []
    for i in range(12):
        path = tmp_path / f"page{i:02d}.png"
        Image.effect_noise((600, 800), 60).convert("RGB").save(path)  # ~1 MB each
        pages.append(path)
    with escriptorium.http() as http:
        project = http.post("projects/", json={"name": escriptorium.unique("faults")}).json()
        doc = http.post("documents/", json={"name": "faults", "project": project["slug"],
                                            "main_script": "Latin"}).json()  # fmt: skip
    d = doc["pk"]
    limits = RequestLimits(retries=2, backoff=0.2, deadline=60)
    old_pid = escriptorium.daphne_pid
    async with EscriptoriumClient(escriptorium.url, escriptorium.token, limits=limits) as escr:

        async def push() -> int:
            done = 0
            for page in pages:
                await escr.upload_part(d, page)
                done += 1
            return done

        task = asyncio.create_task(push())
        with escriptorium.http() as http:
            while http.get(f"documents/{d}/parts/").json()["count"] < 2 and not task.done():
                await asyncio.sleep(0.05)
        await asyncio.to_thread(escriptorium.kill_daphne)
        assert not _alive(old_pid)
        with pytest.raises(NetError) as caught:
            await task
        message = str(caught.value)
        host = escr.host
        assert host in message and escriptorium.token not in message
        assert "could not connect" in message or "connection" in message, message

        seconds = await asyncio.to_thread(escriptorium.restart)
        print(f"restart took {seconds:.1f} s")
        assert escriptorium.daphne_pid != old_pid and escriptorium.answers()
        assert escriptorium.url == f"http://{host}"  # the same address and token again
        # the same client goes on: pages sent again replace themselves (same file name)
        for page in pages:
            await escr.upload_part(d, page)
    with escriptorium.http() as http:
        parts = http.get(f"documents/{d}/parts/", params={"paginate_by": 50}).json()
        http.delete(f"projects/{project['id']}/")
    assert sorted(p["original_filename"] for p in parts["results"]) == [p.name for p in pages]


@pytest.mark.timeout(60)
def test_the_fixture_knows_its_processes(escriptorium: EscriptoriumServer) -> None:
    escriptorium.require_own_server()
    assert escriptorium.home is not None and _alive(escriptorium.daphne_pid)
    started = time.monotonic()
    assert escriptorium.answers()
    assert time.monotonic() - started < 10
