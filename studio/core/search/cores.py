"""How many cores other programs leave free for a search, and this process's library threads kept to them.

The search's worker processes fit on one core each; the winner's final fit runs in this process, where the
libraries' threads (OpenMP's, BLAS's, a forest's) spread over the cores. The count decides both how many threads
that fit may use and how long it is foreseen to take.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# How long the processor's idle time is watched: ten of the kernel's 100 Hz ticks per core, short enough to go
# unnoticed before a search.
SAMPLE_S = 0.1
PROC_STAT = Path("/proc/stat")


def free_cores(sample_s: float = SAMPLE_S) -> int:
    """The cores other programs leave free now. Linux's idle time over ``sample_s`` says it as it is now; the load
    average, which macOS has too, trails by a minute (right after one search a 2-core machine read as half busy,
    and the next search kept twice the time its final fit took). Every core where neither is known (Windows)."""
    cores = os.cpu_count() or 1
    if cores == 1:
        return 1
    idle = _idle_share(sample_s, cores)
    if idle is not None:
        return max(1, min(cores, round(idle * cores)))
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average (Windows): nothing to go by
        load = 0.0
    return max(1, min(cores, round(cores - load)))


def _idle_share(sample_s: float, cores: int) -> float | None:
    """The share of the processor's time spent idle over ``sample_s``, from /proc/stat; None where it cannot be
    read or counts other cores than this process sees (a container given part of a larger machine)."""
    first = _cpu_times(cores)
    if first is None:
        return None
    time.sleep(sample_s)
    second = _cpu_times(cores)
    if second is None:
        return None
    total = sum(second) - sum(first)
    if total <= 0:
        return None
    # idle and iowait: a core waiting for the disk is free to compute.
    idle = (second[3] + second[4]) - (first[3] + first[4])
    return min(1.0, max(0.0, idle / total))


def _cpu_times(cores: int) -> list[int] | None:
    try:
        lines = PROC_STAT.read_text().splitlines()
    except OSError:
        return None
    if sum(line.startswith("cpu") and line[3:4].isdigit() for line in lines) != cores:
        return None
    fields = lines[0].split()
    if not fields or fields[0] != "cpu" or len(fields) < 6:
        return None
    try:
        # user, nice, system, idle, iowait, irq, softirq, steal (guest time is counted in user already)
        return [int(value) for value in fields[1:9]]
    except ValueError:
        return None


@contextmanager
def threads_for_free_cores(free: int) -> Iterator[None]:
    """This process's library threads (OpenMP's, BLAS's) limited to the ``free`` cores other programs leave, while
    the search runs and trains the winner. Spread over cores that are busy, their spin-waiting threads made a fit
    crawl: ten rounds of boosting took 1.7 s on two threads against 0.2 s on one, with other programs keeping a
    2-core machine busy, and a 30 s search overran by half. An idle machine keeps every core."""
    if free >= (os.cpu_count() or 1):
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=free):
        yield
