"""Page segmentation (kraken's default blla model): the segment job against the ``kraken`` CLI.

    .venv/bin/python bench/bench_segment.py [--pages 10] [--workers 1,2] [--rounds 2]

The pages are copies of the corpus page scans (the handwritten 170025120000003,0074.jpg, the
printed input.jpg and its binarised bw.png, in turn; 0014.jpg is a single line, not a page).
The baseline is one ``kraken --threads T -I ... -o .json segment -bl`` process over all of them
(the batch form: kraken and the model are loaded once), run with the torchvision shim (see
KRAKEN_CLI); T is the torch threads one esctui worker gets (the cores shared among workers), so
both use the same cores. The job side is ``esctui segment DOC --workers N`` as a fresh process
on a data folder where the same files were imported beforehand (not timed); its clock, like the
CLI's, includes starting Python, importing kraken (in the workers) and loading the model, and
adds the store: reading the pages, writing their lines and the job's report.

The CLI and the one-worker job run in turn ``--rounds`` times (the cores may be shared with
other work, whose load changes; alternating exposes both to it alike) and the best round of
each is compared; more workers run once. Printed: wall time and processor time (of all child
processes) per side, the ratio job/CLI (target <= 1.1 with one worker), the speed-up with
more workers, and whether every page got the same number of lines from both. The last line is
JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esctui.engine.limits import cpu_count  # noqa: E402
from esctui.jobs.imports.images import DEFAULT_MAX_PIXELS, prepare_image  # noqa: E402
from esctui.store import Store  # noqa: E402

SLOW = True  # kraken: run_all.py runs it with --all only
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "images"
SCANS = ["170025120000003,0074.jpg", "input.jpg", "bw.png"]
TARGET = 1.1
ROOT = Path(__file__).resolve().parents[1]
#: The ``kraken`` command (``kraken.kraken:cli``, what the venv's ``bin/kraken`` runs) with the
#: torchvision shim installed first: without it kraken cannot import torchvision beside this
#: CPU torch (``bin/kraken`` fails with "operator torchvision::nms does not exist").
KRAKEN_CLI = [
    sys.executable,
    "-c",
    "import sys; from esctui.compat import torchvision_shim; torchvision_shim.install(); "
    "from kraken.kraken import cli; sys.argv[0] = 'kraken'; sys.exit(cli())",
]


def run_kraken(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """The kraken CLI as a separate process in its own session (this checkout on its path, for
    the shim)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(
        [*KRAKEN_CLI, *arguments], capture_output=True, text=True, env=env, start_new_session=True
    )


def make_pages(folder: Path, count: int) -> list[Path]:
    """``count`` copies of the corpus scans, page01.jpg, page02.jpg, page03.png, ..."""
    pages = []
    for index in range(count):
        source = CORPUS / SCANS[index % len(SCANS)]
        path = folder / f"page{index + 1:02d}{source.suffix}"
        shutil.copyfile(source, path)
        pages.append(path)
    return pages


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def with_cli(folder: Path, pages: list[Path]) -> dict[str, Any]:
    globs = sorted({f"{folder}/*{page.suffix}" for page in pages})
    command = []
    for pattern in globs:
        command += ["-I", pattern]
    command = ["--threads", str(cpu_count()), *command, "-o", ".json", "segment", "-bl"]
    cpu = children_cpu()
    start = time.perf_counter()
    done = run_kraken(command)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kraken failed: {done.stderr[-2000:]}")
    counts = {}
    for page in pages:
        result = json.loads(page.with_suffix(".json").read_text())
        counts[page.name] = len(result["lines"])
    return {"seconds": seconds, "cpu": children_cpu() - cpu, "lines": counts}


def esctui(data: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``python -m esctui ARGUMENTS`` on the data folder ``data`` (this checkout)."""
    env = {**os.environ, "ESCTUI_DATA": str(data), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "esctui", *arguments],
        capture_output=True,
        text=True,
        env=env,
        start_new_session=True,  # as the CLI (see the module's docstring)
    )
    if done.returncode != 0:
        raise SystemExit(f"esctui {arguments[0]} failed: {done.stderr[-2000:]}")
    return done


def add_pages(data: Path, pages: list[Path]) -> None:
    """A document "Bench" holding the pages, copies included (an import would skip those)."""
    store = Store(data)
    doc = store.create_document("Bench")
    staged = [
        prepare_image(page, store.new_staging_dir(doc.id), DEFAULT_MAX_PIXELS)[0] for page in pages
    ]
    store.add_parts(doc.id, staged, skip_duplicates=False)
    store.close()


def with_job(pages: list[Path], workers: int) -> dict[str, Any]:
    """``esctui segment`` on a fresh data folder holding the pages (imported before the clock)."""
    data = Path(tempfile.mkdtemp(prefix=f"bench-segment-{workers}-"))
    try:
        add_pages(data, pages)
        cpu = children_cpu()
        start = time.perf_counter()
        esctui(data, "segment", "Bench", "--workers", str(workers))
        seconds = time.perf_counter() - start
        cpu = children_cpu() - cpu  # the job's process and its workers, all reaped
        store = Store(data)
        doc = store.get_document("Bench")
        parts = store.list_parts(doc.id)
        [job] = [j for j in store.list_jobs() if j.kind == "segment"]
        assert job.status == "done" and len(parts) == len(pages), job.error
        lines = {page.name: part.line_count for page, part in zip(pages, parts, strict=True)}
        return {"seconds": seconds, "cpu": cpu, "lines": lines, "peak_memory": 0}
    finally:
        shutil.rmtree(data, ignore_errors=True)


def load() -> str:
    """The load average over the last minute (the cores may be shared with other work)."""
    return f"{os.getloadavg()[0]:.1f}"


def alternate_rounds(
    rounds: int,
    cli_label: str,
    with_cli: Callable[[], dict[str, Any]],
    with_job: Callable[[int], dict[str, Any]],
    runs: Sequence[int],
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """The kraken CLI and the one-worker job in turn, ``rounds`` times (so both meet the same
    load when the cores are shared); more workers in the first round only. Each run printed."""
    clis: list[dict[str, Any]] = []
    jobs: dict[int, list[dict[str, Any]]] = {workers: [] for workers in runs}
    for round_number in range(1, rounds + 1):
        clis.append(with_cli())
        print(
            f"round {round_number}: {cli_label}: {clis[-1]['seconds']:.1f} s, "
            f"processor {clis[-1]['cpu']:.1f} s (load {load()})",
            flush=True,
        )
        for workers in runs:
            if workers == 1 or round_number == 1:
                jobs[workers].append(with_job(workers))
                print(
                    f"round {round_number}: job, {workers} worker(s): "
                    f"{jobs[workers][-1]['seconds']:.1f} s, processor "
                    f"{jobs[workers][-1]['cpu']:.1f} s (load {load()})",
                    flush=True,
                )
    return clis, jobs


def print_speedups(best: dict[int, float], summary: dict[str, Any]) -> None:
    """Each worker count's speed-up over one worker (best rounds), printed and in ``summary``."""
    for workers, seconds in best.items():
        if workers != 1 and 1 in best:
            speedup = best[1] / seconds
            print(f"speed-up with {workers} workers: {speedup:.2f}x")
            summary[f"speedup_{workers}"] = round(speedup, 2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--workers", default="1,2", help="engine runs, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=2, help="CLI / one-worker rounds")
    args = parser.parse_args()
    runs = [int(n) for n in args.workers.split(",")]
    summary: dict[str, Any] = {"pages": args.pages, "rounds": args.rounds, "target": TARGET}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pages(Path(tmp), args.pages)
        print(f"pages: {args.pages} ({', '.join(SCANS)} in turn)")
        # The CLI and the one-worker engine alternate, so both meet the same load when the
        # cores are shared with other work; the best round of each is compared.
        clis, engines = alternate_rounds(
            args.rounds,
            f"kraken CLI (batch, {cpu_count()} threads)",
            lambda: with_cli(Path(tmp), pages),
            lambda workers: with_job(pages, workers),
            runs,
        )
        cli = min(clis, key=lambda run: run["seconds"])
        print(
            f"kraken CLI, best round: {cli['seconds']:.1f} s, processor {cli['cpu']:.1f} s; "
            f"lines: {sum(cli['lines'].values())}"
        )
        summary["cli"] = {"seconds": round(cli["seconds"], 1), "cpu": round(cli["cpu"], 1)}
        best: dict[int, float] = {}
        for workers, done in engines.items():
            run = min(done, key=lambda r: r["seconds"])
            same = all(r["lines"] == c["lines"] for r in done for c in clis)
            ratio = run["seconds"] / cli["seconds"]
            best[workers] = run["seconds"]
            print(
                f"job, {workers} worker(s), best round: {run['seconds']:.1f} s, "
                f"processor {run['cpu']:.1f} s; ratio job/CLI {ratio:.3f}"
                + (f" (target <= {TARGET})" if workers == 1 else "")
                + f"; same line counts: {same}"
            )
            if not same:
                print(f"  CLI {cli['lines']}\n  engine {run['lines']}")
            ok = ok and same and (workers != 1 or ratio <= TARGET)
            if workers == 1:
                summary["ratio"] = round(ratio, 3)
            summary[f"engine_{workers}"] = {
                "seconds": round(run["seconds"], 1),
                "cpu": round(run["cpu"], 1),
                "ratio": round(ratio, 3),
                "same_lines": same,
            }
        print_speedups(best, summary)
    summary["ok"] = ok
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
