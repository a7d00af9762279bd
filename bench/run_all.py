"""Run every benchmark in bench/ (each prints its ratio against a same-run baseline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench_startup.py",
    "bench_images.py",
    "bench_pdf.py",
    "bench_iiif.py",
    "bench_masks.py",
    "bench_xml.py",
    "bench_archive.py",
]


def main() -> int:
    here = Path(__file__).parent
    failed = 0
    for name in BENCHES:
        print(f"=== {name}", flush=True)
        failed += subprocess.call([sys.executable, str(here / name)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
