"""What the whole-job benchmarks share: run the ``esctui`` command in a fresh process (timed,
with its peak memory), take medians, and print the one JSON line ``run_all.py`` tabulates.

The result line has these keys (others may follow): ``bench``, ``job`` (what was run, as a
user runs it), ``esctui_s``, ``baseline`` (what it is compared with), ``baseline_s``, ``ratio``,
``target`` with ``higher_is_better`` (True when the ratio is "times faster than"), ``met``,
``esctui_rss_mb`` (the peak RSS of the esctui process, when it ran as one), the CPU seconds of
both (``esctui_cpu_s``, ``baseline_cpu_s``; for what ran in the bench's own process, its CPU
time over the call; they move less than wall time on a shared machine) and the load average.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
COMMAND_TIMEOUT = 600.0

sys.path.insert(0, str(ROOT))
from esctui.runtime import collect_cycles_less_often  # noqa: E402

# What runs in the bench's own process (a job through run_job, and its baseline) runs as the
# esctui command runs it.
collect_cycles_less_often()


@dataclass
class Timed:
    """One run of a command: wall seconds and the process's peak resident memory."""

    seconds: float
    rss_mb: float
    stdout: str
    cpu_s: float = 0.0  # user + system CPU seconds of the process (load-independent, mostly)


def own_session() -> None:
    """Put this process in a session of its own, so that work it does in-process meets other
    work with the same share of the processor as the engine's workers (each in its own session;
    with autogrouping, Linux shares the processor among sessions first). Quiet if not allowed."""
    with contextlib.suppress(OSError):
        os.setsid()


def esctui_env(data: Path) -> dict[str, str]:
    """The environment for an ``esctui`` command on the data folder ``data`` (this checkout)."""
    env = dict(os.environ)
    env["ESCTUI_DATA"] = str(data)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_command(command: Sequence[str], env: dict[str, str] | None = None) -> Timed:
    """Run ``command`` to its end in a fresh process; its seconds and peak RSS (os.wait4: this
    includes the copy of the calling process that the fork made, so it is at least this
    process's size; ``run_esctui`` measures esctui's own).

    Raises SystemExit with its output when it does not exit 0 (a bench measures success)."""
    import tempfile
    import threading

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(command), env=env, stdout=out, stderr=err, text=True)
        timer = threading.Timer(COMMAND_TIMEOUT, proc.kill)
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} exited {proc.returncode}:\n{stdout[-2000:]}\n{stderr[-2000:]}"
        )
    return Timed(elapsed, usage.ru_maxrss / 1024, stdout, usage.ru_utime + usage.ru_stime)


PEAK_WRAPPER = """
import atexit, os, runpy, sys

def write_peak():  # VmHWM: this program's own peak, not the forking parent's copy
    with open("/proc/self/status", encoding="ascii") as status:
        peak = next((line.split()[1] for line in status if line.startswith("VmHWM")), "0")
    with open(os.environ["BENCH_PEAK_FILE"], "w", encoding="ascii") as out:
        out.write(peak)

atexit.register(write_peak)
sys.argv[0] = "esctui"
runpy.run_module("esctui", run_name="__main__", alter_sys=True)
"""


_compiled = False


def compile_checkout() -> None:
    """Write the checkout's .pyc files once, as an install does: with PYTHONDONTWRITEBYTECODE
    set (as on this machine) every timed command compiled ~50 modules again (0.3 CPU-s)."""
    global _compiled
    if not _compiled:
        import compileall

        compileall.compile_dir(ROOT / "esctui", quiet=2)
        _compiled = True


def run_esctui(args: Sequence[str], data: Path) -> Timed:
    """``esctui ARGS`` on the data folder ``data``, as a user runs it (``python -m esctui``).

    Its peak RSS is the esctui program's own (VmHWM, written at exit): wait4's maximum would
    also count the copy of this (larger) bench process the fork made before the exec."""
    import tempfile

    compile_checkout()
    with tempfile.TemporaryDirectory(prefix="bench-peak-") as tmp:
        peak_file = Path(tmp) / "peak"
        env = {**esctui_env(data), "BENCH_PEAK_FILE": str(peak_file)}
        run = run_command([sys.executable, "-c", PEAK_WRAPPER, *args], env=env)
        if peak_file.exists():
            run.rss_mb = int(peak_file.read_text(encoding="ascii") or 0) / 1024
    return run


def run_python(code: str, *args: str) -> Timed:
    """A fresh ``python -c CODE ARGS`` (for a baseline that starts a process too)."""
    return run_command([sys.executable, "-c", code, *args])


def medians(rounds: int, contenders: dict[str, Callable[[], Timed | float]]) -> dict[str, Timed]:
    """Run the contenders alternately ``rounds`` times; each one's median run."""
    runs: dict[str, list[Timed]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, function in contenders.items():
            cpu_before = time.process_time()  # for what runs in this process
            value = function()
            cpu = time.process_time() - cpu_before
            runs[name].append(value if isinstance(value, Timed) else Timed(value, 0.0, "", cpu))
    chosen = {}
    for name, values in runs.items():
        middle = statistics.median(v.seconds for v in values)
        chosen[name] = min(values, key=lambda v: abs(v.seconds - middle))
        cpu = statistics.median(v.cpu_s for v in values)
        chosen[name] = Timed(middle, max(v.rss_mb for v in values), chosen[name].stdout, cpu)
    return chosen


def report(
    bench: str,
    job: str,
    esctui: Timed,
    baseline: str,
    baseline_run: Timed,
    target: float,
    *,
    higher_is_better: bool = False,
    **extra: object,
) -> dict[str, object]:
    """Print the human lines and the JSON line; returns the result."""
    if higher_is_better:
        ratio = baseline_run.seconds / esctui.seconds
        met = ratio >= target
        wanted = f">= {target:g}x faster"
    else:
        ratio = esctui.seconds / baseline_run.seconds
        met = ratio <= target
        wanted = f"<= {target:g}x"
    print(
        f"{job}: {esctui.seconds:.3f} s, {esctui.cpu_s:.2f} CPU-s (peak RSS {esctui.rss_mb:.0f} MB)"
    )
    print(f"{baseline}: {baseline_run.seconds:.3f} s, {baseline_run.cpu_s:.2f} CPU-s")
    print(f"ratio {ratio:.2f}x (target {wanted}) {'met' if met else 'NOT met'}")
    result: dict[str, object] = {
        "bench": bench,
        "job": job,
        "esctui_s": round(esctui.seconds, 4),
        "baseline": baseline,
        "baseline_s": round(baseline_run.seconds, 4),
        "ratio": round(ratio, 3),
        "target": target,
        "higher_is_better": higher_is_better,
        "met": met,
        "esctui_rss_mb": round(esctui.rss_mb, 1),
        "esctui_cpu_s": round(esctui.cpu_s, 3),
        "baseline_cpu_s": round(baseline_run.cpu_s, 3),
        "load": [round(x, 2) for x in os.getloadavg()],
        **extra,
    }
    print(json.dumps(result), flush=True)
    return result
