"""Page segmentation (kraken's default blla model): the engine against the ``kraken`` CLI.

    .venv/bin/python bench/bench_segment.py [--pages 10] [--workers 1,2] [--rounds 2]

The pages are copies of the corpus page scans (the handwritten 170025120000003,0074.jpg, the
printed input.jpg and its binarised bw.png, in turn; 0014.jpg is a single line, not a page).
The baseline is one ``kraken -I ... -o .json segment -bl`` process over all of them (the batch
form: kraken and the model are loaded once), run with the torchvision shim (see KRAKEN_CLI). Each engine run starts a fresh ``KrakenEngine`` and
submits every page at once; its clock, like the CLI's, includes starting Python, importing
kraken and loading the model. The CLI runs torch on one thread (its ``--threads`` default), so
the engine runs one thread per worker too.

The CLI and the one-worker engine run in turn ``--rounds`` times (the cores may be shared with
other work, whose load changes; alternating exposes both to it alike) and the best round of
each is compared; more workers run once. Printed: wall time and processor time (of all child
processes) per side, the ratio engine/CLI (target <= 1.1 with one worker), the speed-up with
more workers, the peak memory of a worker, and whether every page got the same number of lines
from both. The last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esctui.engine import KrakenEngine  # noqa: E402

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
    """The kraken CLI as a separate process (this checkout on its path, for the shim)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run([*KRAKEN_CLI, *arguments], capture_output=True, text=True, env=env)


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
    command += ["-o", ".json", "segment", "-bl"]
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


async def engine_run(pages: list[Path], workers: int) -> dict[str, Any]:
    async with KrakenEngine(workers=workers, threads=1) as engine:
        results = await asyncio.gather(*(engine.segment(page, page=page.name) for page in pages))
    return {
        "lines": {page.name: len(r.lines) for page, r in zip(pages, results, strict=True)},
        "peak_memory": max(r.peak_memory for r in results),
        "workers": len({r.worker_pid for r in results}),
        "page_seconds": [r.seconds for r in results],
    }


def with_engine(pages: list[Path], workers: int) -> dict[str, Any]:
    cpu = children_cpu()
    start = time.perf_counter()
    run = asyncio.run(engine_run(pages, workers))
    run["seconds"] = time.perf_counter() - start
    run["cpu"] = children_cpu() - cpu  # the workers are reaped: their whole life is counted
    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--workers", default="1,2", help="engine runs, e.g. 1,2")
    parser.add_argument("--rounds", type=int, default=2, help="CLI / one-worker rounds")
    args = parser.parse_args()
    runs = [int(n) for n in args.workers.split(",")]
    summary: dict[str, Any] = {"pages": args.pages, "rounds": args.rounds}
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        pages = make_pages(Path(tmp), args.pages)
        print(f"pages: {args.pages} ({', '.join(SCANS)} in turn)")
        # The CLI and the one-worker engine alternate, so both meet the same load when the
        # cores are shared with other work; the best round of each is compared.
        clis: list[dict[str, Any]] = []
        engines: dict[int, list[dict[str, Any]]] = {workers: [] for workers in runs}
        for round_number in range(1, args.rounds + 1):
            clis.append(with_cli(Path(tmp), pages))
            print(
                f"round {round_number}: kraken CLI (batch, 1 thread): {clis[-1]['seconds']:.1f} s, "
                f"processor {clis[-1]['cpu']:.1f} s",
                flush=True,
            )
            for workers in runs:
                if workers == 1 or round_number == 1:
                    engines[workers].append(with_engine(pages, workers))
                    print(
                        f"round {round_number}: engine, {workers} worker(s) x 1 thread: "
                        f"{engines[workers][-1]['seconds']:.1f} s, processor "
                        f"{engines[workers][-1]['cpu']:.1f} s",
                        flush=True,
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
                f"engine, {workers} worker(s) x 1 thread, best round: {run['seconds']:.1f} s, "
                f"processor {run['cpu']:.1f} s; ratio engine/CLI {ratio:.3f}"
                + (f" (target <= {TARGET})" if workers == 1 else "")
                + f"; same line counts: {same}; peak memory per worker "
                f"{run['peak_memory'] / 2**20:.0f} MB"
            )
            if not same:
                print(f"  CLI {cli['lines']}\n  engine {run['lines']}")
            ok = ok and same and (workers != 1 or ratio <= TARGET)
            summary[f"engine_{workers}"] = {
                "seconds": round(run["seconds"], 1),
                "cpu": round(run["cpu"], 1),
                "ratio": round(ratio, 3),
                "same_lines": same,
                "peak_memory_mb": round(run["peak_memory"] / 2**20),
            }
        for workers, seconds in best.items():
            if workers != 1 and 1 in best:
                speedup = best[1] / seconds
                print(f"speed-up with {workers} workers: {speedup:.2f}x")
                summary[f"speedup_{workers}"] = round(speedup, 2)
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
