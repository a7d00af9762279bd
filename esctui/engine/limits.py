"""Resource limits and measurements for worker processes (Linux; degrade quietly elsewhere).

Memory a worker needs, measured with kraken 7.1.1 on this project's corpus (peak resident
memory of one worker, ``VmHWM``; address space ``VmPeak`` in brackets):

* kraken and torch imported, nothing loaded: 0.42 GB (1.0 GB);
* segmenting a portrait page with blla (2743x3965 scan; kraken scales pages to 1,800 px
  high): 1.3 GB (2.1 GB);
* segmenting a wide image (0014.jpg, 228x109 px, scaled to 3,765x1,800): 2.9 GB (3.5 GB);
* recognition and masks on those pages: well under the segmentation peak.

So :data:`DEFAULT_MEMORY_LIMIT` (address space per worker) leaves room for wide pages, and
:func:`default_worker_count` counts :data:`MEMORY_PER_WORKER` of available memory per worker.
"""

from __future__ import annotations

import os

from esctui.formats.kraken_model.worker import looks_out_of_memory

GB = 2**30

#: The address-space limit (RLIMIT_AS) of one worker.
DEFAULT_MEMORY_LIMIT = 6 * GB
#: Resident memory to count per worker when choosing how many to run.
MEMORY_PER_WORKER = 3 * GB

_PR_SET_PDEATHSIG = 1
#: Signs of exhausted memory that esctui's model check does not list yet (OpenBLAS's words).
_MORE_MEMORY_SIGNS = ("memory allocation still failed", "memory allocation failed")


def out_of_memory(text: str) -> bool:
    """Whether an error text or a worker's log says memory ran out."""
    lowered = text.lower()
    return looks_out_of_memory(text) or any(sign in lowered for sign in _MORE_MEMORY_SIGNS)


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def available_memory() -> int | None:
    """Bytes of memory available to new processes (``MemAvailable``), None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_worker_count(memory_per_worker: int = MEMORY_PER_WORKER) -> int:
    """One worker per core, but no more than the available memory holds (at least one)."""
    workers = cpu_count()
    memory = available_memory()
    if memory is not None:
        workers = min(workers, memory // memory_per_worker)
    return max(1, workers)


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent ends; exit now if it already has."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(0)


def process_running(pid: int) -> bool:
    """Whether a process exists and has not ended (a zombie has ended); True if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return not os.path.isdir("/proc/self")  # no /proc: cannot tell
    except (OSError, IndexError):
        return True


def peak_memory() -> int:
    """This process's peak resident memory in bytes (``VmHWM``), 0 if unknown."""
    return _status_field("VmHWM:")


def _status_field(name: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0
