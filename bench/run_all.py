"""Run the benchmarks in bench/ and print one table: job, baseline, ratio, target, met, peak RSS.

    .venv/bin/python bench/run_all.py [--all] [--only NAME ...]

Every ``bench/bench_*.py`` is found by its file name (a new one needs no list entry). The quick
set runs by default; a module with the line ``SLOW = True`` (kraken model loads: masks, segment,
transcribe) runs only with ``--all``. Each bench runs in its own process; its peak RSS is that
process tree's (``os.wait4``: the largest of the bench and the commands it ran). The last JSON
line each bench prints is kept, one per line, in ``bench/results/run-<UTC time>.jsonl`` and
``bench/results/latest.jsonl``; ``harness.report`` writes that line for the whole-job benches,
older-style lines (``ok``, ``target_ratio``, ...) are read too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SLOW_MARK = re.compile(r"^SLOW\s*=\s*True\b", re.MULTILINE)
BENCH_TIMEOUT = 3600.0


def discover(include_slow: bool) -> list[Path]:
    """The bench modules in bench/, quick ones only unless ``include_slow``."""
    found = sorted(HERE.glob("bench_*.py"))
    return [p for p in found if include_slow or not SLOW_MARK.search(p.read_text("utf-8"))]


def run_one(path: Path) -> tuple[dict[str, object] | None, float, int, float]:
    """Run one bench (its output goes to the terminal as it comes); its last JSON line, its peak
    RSS in MB, its exit status and its seconds."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, str(path)], stdout=subprocess.PIPE, text=True, cwd=HERE.parent
    )
    assert proc.stdout is not None
    last: dict[str, object] | None = None
    for line in proc.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        text = line.strip()
        if text.startswith("{") and text.endswith("}"):
            with contextlib.suppress(json.JSONDecodeError):
                last = json.loads(text)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return last, usage.ru_maxrss / 1024, proc.returncode, time.perf_counter() - start


def row(name: str, result: dict[str, object] | None, rss_mb: float, code: int) -> list[str]:
    """One table row from a bench's JSON line (new or older style)."""
    if result is None:
        return [name, "-", "-", "-", f"exit {code}, no result", f"{rss_mb:.0f}"]
    job = str(result.get("job") or result.get("bench") or name)
    baseline_s = result.get("baseline_s")
    baseline = str(result.get("baseline") or ("baseline" if baseline_s is not None else "-"))
    if baseline_s is None:  # older lines name their baseline's seconds in their own way
        for key in ("pdfimages_s", "sequential_s", "kraken_s", "hello_ms"):
            if key in result:
                baseline, baseline_s = key.rsplit("_", 1)[0], result[key]
                break
    if isinstance(baseline_s, (int, float)):
        unit = "ms" if baseline == "hello" else "s"
        baseline = f"{baseline} {baseline_s:.3f} {unit}" if unit == "s" else f"{baseline} {unit}"
    ratio = result.get("ratio")
    target = result.get("target", result.get("target_ratio"))
    higher = bool(result.get("higher_is_better", result.get("bench") == "iiif"))
    met = result.get("met", result.get("ok"))
    peak = result.get("esctui_rss_mb") or rss_mb
    return [
        job,
        baseline,
        f"{ratio:.2f}x" if isinstance(ratio, (int, float)) else "-",
        (f"{'>=' if higher else '<='} {target:g}x" if isinstance(target, (int, float)) else "-"),
        "-" if met is None else ("yes" if met else "NO") + ("" if code == 0 else f" (exit {code})"),
        f"{float(peak):.0f}",  # type: ignore[arg-type]
    ]


def print_table(rows: list[list[str]]) -> None:
    header = ["job", "baseline", "ratio", "target", "met", "peak RSS MB"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for line in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all", action="store_true", help="also the slow (kraken) benches")
    parser.add_argument("--only", nargs="*", default=[], help="bench names, e.g. bench_pdf")
    args = parser.parse_args()
    benches = discover(args.all or bool(args.only))
    if args.only:
        benches = [p for p in benches if p.stem in args.only or p.stem[6:] in args.only]
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    rows: list[list[str]] = []
    failed = 0
    lines: list[str] = []
    for path in benches:
        print(f"=== {path.name}", flush=True)
        result, rss_mb, code, seconds = run_one(path)
        failed += code != 0
        rows.append(row(path.stem, result, rss_mb, code))
        record = {**(result or {"bench": path.stem}), "exit": code, "bench_rss_mb": round(rss_mb)}
        record["bench_seconds"] = round(seconds, 1)
        lines.append(json.dumps(record))
    text = "".join(line + "\n" for line in lines)
    (RESULTS / f"run-{stamp}.jsonl").write_text(text, encoding="utf-8")
    (RESULTS / "latest.jsonl").write_text(text, encoding="utf-8")
    print()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print_table(rows)
    print(f"(JSON lines: {RESULTS / f'run-{stamp}.jsonl'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
