"""Settings of the Python process that esctui's front ends make once, at start."""

from __future__ import annotations

import gc

# Python's cycle collector runs after every 700 new containers and each run walks the young
# objects, every tenth the older ones too. A page read from the store makes ~3,000 containers
# (its decoded JSON) while the pages held stay alive: reading 300 pages of 50 lines took
# 2.06 ms a page at 700, 1.09 ms at 50,000 and 0.91 ms with no collection at all.
GC_FIRST_GENERATION_THRESHOLD = 50_000


def collect_cycles_less_often() -> None:
    """Collect reference cycles in fewer, larger runs (they are still collected)."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, older, oldest)
