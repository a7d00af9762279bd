"""A full disk, for real: a small tmpfs mounted as the data folder (root only, as in CI)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from esctui.store import Store
from tests.helpers import make_image, run_esctui
from tests.hostile.cases import store_problems

FULL = "is full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MB tmpfs at tmp_path/disk, unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def noisy_pages(folder: Path, count: int) -> list[Path]:
    """Pages of about 150 KB each (grain, like real scans)."""
    return [make_image(folder / f"p{n:02d}.jpg", size=(400, 400), noise=True, quality=95)
            for n in range(count)]  # fmt: skip


def test_an_import_that_fills_the_disk_stops_in_words_and_keeps_whole_pages(
    small_disk: Path, tmp_path: Path
) -> None:
    data = small_disk / "data"
    assert run_esctui(data, "documents", "create", "D").returncode == 0
    ballast = small_disk / "ballast"  # what the user deletes afterwards to make room
    ballast.write_bytes(b"\0" * 200_000)
    scans = tmp_path / "scans"
    noisy_pages(scans, 40)  # about 6 MB: twice the disk
    result = run_esctui(data, "import", "images", "D", str(scans))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert f"the disk holding {data} {FULL}" in result.stderr
    assert "corrupt or truncated" not in result.stdout  # the images are fine: the disk is full
    ballast.unlink()  # opening the store writes its session marker: it needs a little room
    assert store_problems(data) == []
    store = Store(data)
    parts = store.list_parts(store.get_document("D").id)
    assert 0 < len(parts) < 40
    [job] = store.list_jobs()
    assert job.status == "failed" and FULL in job.error
    assert job.done >= len(parts)  # the record says what was committed


def test_every_command_on_a_full_disk_says_so(small_disk: Path, tmp_path: Path) -> None:
    data = small_disk / "data"
    assert run_esctui(data, "documents", "create", "D").returncode == 0
    filler = small_disk / "filler"
    with open(filler, "wb", buffering=0) as handle:  # fill the disk to the last byte
        try:
            while True:
                handle.write(b"\0" * 65536)
        except OSError:
            pass
    page = make_image(tmp_path / "page.png")
    for command in (
        ["documents", "create", "E"],
        ["import", "images", "D", str(page)],
        ["documents", "rename", "D", "F"],
    ):
        result = run_esctui(data, *command)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert FULL in result.stderr, (command, result.stderr)
    listed = run_esctui(data, "documents", "list")  # reading still works
    assert listed.returncode == 0 and "D" in listed.stdout
    filler.unlink()
    assert run_esctui(data, "documents", "create", "E").returncode == 0  # and writing again
    assert store_problems(data) == []
