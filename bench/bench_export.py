"""Benchmark: exporting a 1,000-page x 50-line document as a PAGE ZIP, against lxml only
serialising the same trees.

    .venv/bin/python bench/bench_export.py [--pages 1000] [--lines 50] [--rounds 3]

The document is made through the store once, untimed. esctui: the export job as ``esctui
export --format page --out FILE.zip`` runs it (``run_job(ExportJob)``: read each page, build
its PAGE tree, check it against the schema, write it into the ZIP), in this process; the
command's own start-up is timed apart, once, for information. Baseline: the trees of the files
esctui wrote, parsed beforehand, serialised with ``etree.tostring`` and nothing else. Medians of
``--rounds`` alternating runs; target: esctui at most 2x.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from documents import make_transcribed_document  # noqa: E402
from harness import ROOT, Timed, medians, report, run_esctui  # noqa: E402

sys.path.insert(0, str(ROOT))
TARGET = 2.0


def export_job(data: Path, document_id: str, out: Path) -> float:
    """Seconds for the PAGE export job into ``out`` (a fresh ZIP)."""
    from esctui.jobs.export import ExportJob
    from esctui.jobs.runner import run_job
    from esctui.store import Store

    out.unlink(missing_ok=True)
    store = Store(data)
    start = time.perf_counter()
    job = asyncio.run(run_job(store, ExportJob(store, document_id, out, format="page")))
    elapsed = time.perf_counter() - start
    store.close()
    if job.status != "done":
        raise SystemExit(f"the export failed: {job.error}")
    return elapsed


def serialise_only(trees: list[object]) -> float:
    from lxml import etree

    start = time.perf_counter()
    for tree in trees:
        etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict[str, object]:
    from lxml import etree

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        data = Path(tmp) / "data"
        document_id = make_transcribed_document(data, "Register", args.pages, args.lines)
        out = Path(tmp) / "register_page.zip"
        export_job(data, document_id, out)  # warm: lxml, the schema, the page cache
        with zipfile.ZipFile(out) as archive:
            trees = [etree.fromstring(archive.read(n)) for n in archive.namelist()]
        if len(trees) != args.pages:
            raise SystemExit(f"the ZIP holds {len(trees)} files, not {args.pages}")
        best = medians(
            args.rounds,
            {
                "esctui": lambda: export_job(data, document_id, out),
                "lxml": lambda: serialise_only(trees),
            },
        )
        command = ["export", "Register", "--format", "page", "--out", str(out)]
        out.unlink()
        whole: Timed = run_esctui(command, data)
    print(f"whole command (esctui export ... --out FILE.zip): {whole.seconds:.2f} s, "
          f"peak RSS {whole.rss_mb:.0f} MB")  # fmt: skip
    best["esctui"].rss_mb = whole.rss_mb
    return report(
        "export",
        f"export --format page ZIP ({args.pages} pages x {args.lines} lines, job)",
        best["esctui"],
        "lxml tostring of the trees",
        best["lxml"],
        TARGET,
        command_s=round(whole.seconds, 3),
    )


if __name__ == "__main__":
    main()
