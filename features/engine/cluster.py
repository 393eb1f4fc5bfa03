"""Where the distributed work runs: a scheduler address or a LocalCluster, with memory limits."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# Worker memory thresholds (fractions of each worker's memory_limit; distributed's own keys):
# spill the least recently used results to disk at `target`/`spill`, pause new tasks at `pause`,
# restart the worker at `terminate` rather than let the machine swap or the kernel kill it.
MEMORY_THRESHOLDS = {
    "distributed.worker.memory.target": 0.6,
    "distributed.worker.memory.spill": 0.7,
    "distributed.worker.memory.pause": 0.85,
    "distributed.worker.memory.terminate": 0.95,
}


@dataclass(frozen=True)
class ClusterSpec:
    """Where the work runs: an existing scheduler, or a LocalCluster started for the command.

    Attributes:
        scheduler: a scheduler address (tcp://host:8786); None reads DASK_SCHEDULER_ADDRESS,
            and without it a LocalCluster is started.
        n_workers, threads_per_worker, memory_limit, processes: the LocalCluster's workers
            (ignored for an existing scheduler, whose workers were started with their own).
            ``memory_limit`` per worker, e.g. "2GiB"; "auto" splits the machine's memory.
        local_directory: where a LocalCluster's workers spill (default: the system temp dir).
    """

    scheduler: str | None = None
    n_workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"
    processes: bool = True
    local_directory: str | None = None


@contextlib.contextmanager
def open_client(spec: ClusterSpec) -> Iterator[Any]:
    """A distributed Client for the command's duration (the LocalCluster closes with it)."""
    import dask
    from distributed import Client, LocalCluster

    address = spec.scheduler or os.environ.get(SCHEDULER_ENV) or None
    with dask.config.set(MEMORY_THRESHOLDS):
        if address:
            with Client(address) as client:
                yield client
            return
        with (
            LocalCluster(
                n_workers=spec.n_workers,
                threads_per_worker=spec.threads_per_worker,
                memory_limit=spec.memory_limit,
                processes=spec.processes,
                local_directory=spec.local_directory,
                dashboard_address=None,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
