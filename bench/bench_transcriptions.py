"""Benchmark: ``esctui transcriptions list`` on a 1,000-page x 50-line document, against a
fresh Python process that only ``json.load``s the document's files.

    .venv/bin/python bench/bench_transcriptions.py [--pages 1000] [--lines 50] [--rounds 3]

The document (pages, regions, lines with baselines and masks, one text per line in one
version) is made through the store once per run, untimed. Both contenders are whole processes:
``python -m esctui transcriptions list DOC`` (what a user runs; the Versions screen reads the
same counts) and ``python -c`` loading ``document.json`` and every ``pages/*.json`` with
``json.load``. Medians of ``--rounds`` alternating runs; target: esctui at most 1.5x.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from documents import make_transcribed_document  # noqa: E402
from harness import medians, report, run_esctui, run_python  # noqa: E402

TARGET = 1.5
LOAD_ALL = """
import json, sys
from pathlib import Path
folder = Path(sys.argv[1])
for path in [folder / "document.json", *sorted((folder / "pages").glob("*.json"))]:
    with open(path, encoding="utf-8") as handle:
        json.load(handle)
"""


def main(argv: list[str] | None = None) -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-transcriptions-") as tmp:
        data = Path(tmp) / "data"
        document_id = make_transcribed_document(data, "Register", args.pages, args.lines)
        folder = data / "documents" / document_id
        megabytes = sum(p.stat().st_size for p in folder.rglob("*.json")) / 1e6
        listing = ["transcriptions", "list", "Register"]
        best = medians(
            args.rounds,
            {
                "esctui": lambda: run_esctui(listing, data),
                "json.load": lambda: run_python(LOAD_ALL, str(folder)),
            },
        )
        expected = f"{args.pages * args.lines}"
        if expected not in best["esctui"].stdout:
            raise SystemExit(
                f"the listing does not show {expected} lines:\n{best['esctui'].stdout}"
            )
    print(f"{args.pages} pages x {args.lines} lines, {megabytes:.0f} MB of JSON")
    return report(
        "transcriptions",
        f"transcriptions list ({args.pages} pages x {args.lines} lines)",
        best["esctui"],
        "json.load of the files",
        best["json.load"],
        TARGET,
        json_mb=round(megabytes, 1),
    )


if __name__ == "__main__":
    main()
