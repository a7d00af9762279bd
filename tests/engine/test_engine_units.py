"""The engine's pure parts, without kraken: frames, mask helpers, line checks, the bounded log."""

from __future__ import annotations

import io
import os
import sys

import pytest

from esctui.domain import Line
from esctui.engine import limits, pool, protocol
from esctui.engine.data import LineShape, PageMasks, Progress, text_direction_for
from esctui.engine.errors import LinesUnsuitableError
from esctui.engine.masks import kraken_baseline, mask_from_kraken, plan_page_masks


def test_frames_round_trip_and_refuse_oversized_or_garbage() -> None:
    stream = io.BytesIO()
    protocol.write_frame(stream, {"type": "result", "text": "ſchrift ✓"})
    protocol.write_frame(stream, {"id": 2})
    stream.seek(0)
    assert protocol.read_frame(stream) == {"type": "result", "text": "ſchrift ✓"}
    assert protocol.read_frame(stream) == {"id": 2}
    assert protocol.read_frame(stream) is None  # end of stream

    with pytest.raises(protocol.FrameError, match="over the limit"):
        protocol.frame_length((protocol.MAX_FRAME_BYTES + 1).to_bytes(4, "big"))
    with pytest.raises(protocol.FrameError, match="not a JSON object"):
        protocol.decode(b"[1, 2]")
    with pytest.raises(protocol.FrameError, match="unreadable"):
        protocol.decode(b"\xff{")
    cut = io.BytesIO(protocol.encode({"id": 1})[:-2])
    with pytest.raises(protocol.FrameError, match="cut short"):
        protocol.read_frame(cut)


def test_mask_helpers() -> None:
    assert kraken_baseline([(-3.4, 5.6), (10.2, 5.5), (10.4, 5.4), (20, 99)], 15, 50) == [
        (0, 6),
        (10, 6),
        (10, 5),
        (14, 49),
    ]
    assert kraken_baseline([(1.2, 1.0), (0.9, 1.1)], 10, 10) is None
    assert mask_from_kraken([[0, 0], [0, 5], [5, 5], [0, 0]]) == [(0, 0), (0, 5), (5, 5)]
    assert mask_from_kraken([[0, 0], [0, 5], [0, 0]]) is None
    assert mask_from_kraken(None) is None


def test_plan_page_masks_sorts_the_lines_of_a_page() -> None:
    with_mask = Line("p", [(0, 10), (50, 10)], [(0, 0), (50, 0), (50, 10)], order=0)
    without = Line("p", [(0, 30), (50, 30)], order=1)
    dot = Line("p", [(5.1, 40), (5.2, 40)], order=2)
    no_baseline = Line("p", None, [(0, 0), (1, 0), (1, 1)], order=3)
    lines = [with_mask, without, dot, no_baseline]

    plan = plan_page_masks(lines, 100, 100, only_missing=True)
    assert plan.todo == [without] and plan.baselines == [[(0, 30), (50, 30)]]
    assert plan.boundaries == [[(0, 10), (50, 10)]] and plan.unusable == [dot]
    everything = plan_page_masks(lines, 100, 100, only_missing=False)
    assert everything.todo == [with_mask, without] and not everything.boundaries


def test_line_shapes_from_stored_lines() -> None:
    line = Line("p", [(10.4, 20.6), (10.2, 20.7), (90, 21)], [(9, 5), (91, 5), (91.6, 25)])
    shape = LineShape.from_line(line)
    assert shape.kind == "baselines"
    assert shape.baseline == [(10, 21), (90, 21)]  # whole pixels, repeats removed
    assert shape.boundary == [(9, 5), (91, 5), (92, 25)]
    boxed = LineShape.from_line(Line("p", None, [(3.2, 4), (40, 4), (40, 17.6), (3.2, 17.6)]))
    assert boxed.kind == "bbox" and boxed.bbox == (3, 4, 40, 18)
    assert boxed.to_wire() == {"bbox": [3, 4, 40, 18]}


@pytest.mark.parametrize(
    ("lines", "words"),
    [
        (
            [LineShape(bbox=(0, 0, 5, 5)), LineShape([(0, 0), (5, 0)], [(0, 0), (5, 0), (5, 5)])],
            "mixes",
        ),
        ([LineShape([(0, 0), (5, 0)])], "no mask"),
        ([LineShape([(0, 0)], [(0, 0), (5, 0), (5, 5)])], "fewer than 2"),
        ([LineShape(bbox=(5, 0, 5, 5))], "empty box"),
        ([LineShape()], "neither a baseline nor a box"),
    ],
)
def test_unsuitable_lines_are_refused_with_a_sentence(lines: list[LineShape], words: str) -> None:
    with pytest.raises(LinesUnsuitableError, match=words) as refused:
        pool._check_lines(lines, "f. 12r")
    assert "page f. 12r" in str(refused.value).lower() and str(refused.value).endswith(".")


def test_page_masks_from_shares_keep_the_line_order() -> None:
    first = PageMasks([[(0, 0), (1, 0), (1, 1)], None], ["a"], (11,), 2.0, 1.5, 100)
    second = PageMasks([[(5, 5), (6, 5), (6, 6)]], ["a", "b"], (12,), 3.0, 2.5, 300)
    combined = PageMasks.combine(3, [([0, 2], first), ([1], second)])
    assert combined.polygons == [[(0, 0), (1, 0), (1, 1)], [(5, 5), (6, 5), (6, 6)], None]
    assert combined.masks == [[(0, 0), (1, 0), (1, 1)], [(5, 5), (6, 5), (6, 6)], None]
    assert combined.notes == ["a", "b"] and combined.worker_pids == (11, 12)
    assert combined.seconds == 3.0 and combined.cpu_seconds == 4.0
    assert combined.peak_memory == 300


def test_a_page_is_shared_among_the_free_workers() -> None:
    assert pool.count_shares(40, workers=2, demand=0) == 2
    assert pool.count_shares(40, workers=2, demand=2) == 1  # another page holds both workers
    assert pool.count_shares(40, workers=4, demand=1) == 3
    assert pool.count_shares(12, workers=4, demand=0) == 1  # 8 lines at least per share
    assert pool.count_shares(0, workers=2, demand=0) == 1
    assert pool.count_shares(3, workers=4, demand=0, shares=8) == 3  # one line each at most
    assert pool.count_shares(40, workers=2, demand=2, shares=2) == 2


def test_worker_count_is_bounded_by_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "cpu_count", lambda: 8)
    monkeypatch.setattr(limits, "available_memory", lambda: 7 * limits.GB)
    assert limits.default_worker_count(3 * limits.GB) == 2
    monkeypatch.setattr(limits, "available_memory", lambda: limits.GB)
    assert limits.default_worker_count(3 * limits.GB) == 1  # at least one
    monkeypatch.setattr(limits, "available_memory", lambda: None)
    assert limits.default_worker_count(3 * limits.GB) == 8


def test_threads_are_shared_among_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "cpu_count", lambda: 8)
    assert pool.KrakenEngine(workers=2).settings.threads == 4
    assert pool.KrakenEngine(workers=16).settings.threads == 1
    assert pool.KrakenEngine(workers=2, threads=3).settings.threads == 3


def test_the_log_keeps_its_tail_when_it_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "STDERR_LIMIT", 1000)
    monkeypatch.setattr(pool, "STDERR_KEEP", 100)
    log = pool._BoundedLog()
    try:
        os.write(log.file.fileno(), b"x" * 5000 + b"\nthe last words")
        log.trim()
        assert os.fstat(log.file.fileno()).st_size < 200
        assert log.tail().endswith("the last words")
        assert "[earlier output removed]" in log.tail()
        os.write(log.file.fileno(), b"\nafter")  # appends after the cut
        assert log.tail().endswith("the last words\nafter")
    finally:
        log.close()


def test_small_helpers() -> None:
    assert text_direction_for("rtl") == "horizontal-rl"
    assert text_direction_for("ltr") == "horizontal-lr"
    assert (
        Progress("p. 3", "recognizing lines", 12, 40).describe() == "p. 3: recognizing lines 12/40"
    )
    assert pool._size(6 * 2**30) == "6 GB" and pool._size(3 * 2**29) == "1.5 GB"
    assert pool._size(900 * 2**20) == "900 MB"


def test_importing_the_engine_loads_neither_kraken_nor_torch() -> None:
    import subprocess

    code = (
        "import sys, esctui.engine; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kraken', 'torch', 'PIL', 'numpy')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


NOISY_WORKER = """
import os, sys
import esctui.engine.worker as worker

def noisy_import(threads):
    print("a library printing on stdout")
    sys.stdout.flush()
    os.write(1, b"and C code writing to file descriptor 1\\n")
    return "0.test"

worker._import_kraken = noisy_import
sys.exit(worker.main([]))
"""


def test_library_prints_go_to_the_log_not_to_the_replies() -> None:
    """The worker keeps fd 1 for replies before anything runs; prints land on stderr."""
    import subprocess

    process = subprocess.run(
        [sys.executable, "-c", NOISY_WORKER],
        input=protocol.encode({"op": "stop"}),
        capture_output=True,
        timeout=60,
    )
    assert process.returncode == 0, process.stderr
    replies = io.BytesIO(process.stdout)
    ready = protocol.read_frame(replies)
    assert ready is not None and ready["type"] == "ready" and ready["kraken_version"] == "0.test"
    assert protocol.read_frame(replies) is None  # nothing else on the reply stream
    assert b"a library printing on stdout" in process.stderr
    assert b"and C code writing to file descriptor 1" in process.stderr
