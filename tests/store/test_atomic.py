"""Crash-safe files (esctui.store.atomic): atomic writes and the flush-only TinyDB storage."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from esctui.store.atomic import (
    AtomicJSONStorage,
    atomic_write_bytes,
    fsync_all,
    write_files_durably,
)

SUBPROCESS_TIMEOUT = 120


def run_python(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        env=env,
    )


# ---------------------------------------------------------------------- atomic writes


def test_atomic_write_replaces_the_content(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["file.json"]


def test_atomic_write_failing_midway_leaves_the_old_content(tmp_path: Path) -> None:
    """A real write error after part of the data is written: the file-size limit (EFBIG)."""
    target = tmp_path / "catalog.json"
    target.write_bytes(b"old content")
    result = run_python(
        """
        import resource, signal, sys
        from pathlib import Path
        from esctui.store.atomic import atomic_write_bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            atomic_write_bytes(Path(sys.argv[1]), b"x" * 100_000)
        except OSError as error:
            print("failed", error.errno)
        else:
            print("written")
        """,
        str(target),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["failed", "27"]  # EFBIG, after 4096 bytes went to disk
    assert target.read_bytes() == b"old content"
    assert [p.name for p in tmp_path.iterdir()] == ["catalog.json"]  # temp file removed


def test_grouped_write_failing_on_one_file_leaves_every_file_old(tmp_path: Path) -> None:
    """write_files_durably: the second file hits the size limit before any rename happened."""
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_bytes(b"old a")
    second.write_bytes(b"old b")
    result = run_python(
        """
        import resource, signal, sys
        from pathlib import Path
        from esctui.store.atomic import write_files_durably
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_files_durably([(Path(sys.argv[1]), b"new a"), (Path(sys.argv[2]), b"x" * 100_000)])
        except OSError as error:
            print("failed", error.errno)
        else:
            print("written")
        """,
        str(first),
        str(second),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["failed", "27"]
    assert (first.read_bytes(), second.read_bytes()) == (b"old a", b"old b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json"]


def test_grouped_write_replaces_every_file(tmp_path: Path) -> None:
    files = [(tmp_path / f"{i}.json", f"content {i}".encode()) for i in range(5)]
    files[0][0].write_bytes(b"old")
    write_files_durably(files)
    assert [path.read_bytes() for path, _ in files] == [data for _, data in files]
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i}.json" for i in range(5)]


def test_syncing_many_files_at_once_reports_a_failed_sync(tmp_path: Path) -> None:
    good = [os.open(tmp_path / f"{i}", os.O_WRONLY | os.O_CREAT) for i in range(40)]
    closed = os.open(tmp_path / "closed", os.O_WRONLY | os.O_CREAT)
    os.close(closed)  # fsync of a closed descriptor fails (EBADF), as a failing disk would
    try:
        fsync_all(good)  # every one syncs
        with pytest.raises(OSError):
            fsync_all([*good[:20], closed, *good[20:]])
    finally:
        for fd in good:
            os.close(fd)


def test_storage_writes_only_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "db.json"
    storage = AtomicJSONStorage(path)
    storage.write({"t": {"1": {"name": "Ørsted"}}})
    storage.close()
    assert not path.exists()  # closing never writes: an unflushed transaction is rolled back
    storage.flush()
    assert path.read_bytes() == '{"t":{"1":{"name":"Ørsted"}}}'.encode()
    assert not storage.changed_on_disk()
    atomic_write_bytes(path, b"{}")
    assert storage.changed_on_disk()
