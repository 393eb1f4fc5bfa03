"""The engine switch every batch command shares: --engine local|dask and where the cluster is."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer


class Engine(StrEnum):
    local = "local"
    dask = "dask"


EngineOption = Annotated[
    Engine,
    typer.Option(help="local: this process (default); dask: a Dask cluster (see --scheduler)."),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address (tcp://HOST:8786); default $DASK_SCHEDULER_ADDRESS, else "
        "a LocalCluster started for the command.",
    ),
]
WorkersOption = Annotated[
    int, typer.Option(min=1, help="LocalCluster only: worker processes (one thread each).")
]
WorkerMemoryOption = Annotated[
    str,
    typer.Option(
        help="LocalCluster only: memory limit per worker (e.g. 2GiB; auto: RAM / workers); "
        "workers spill to disk from 60-70% of it and pause at 85%.",
    ),
]


def cluster_spec(scheduler: str | None, workers: int, worker_memory: str):
    """The ClusterSpec of the options (imported here: --help stays fast)."""
    from features.engine import ClusterSpec

    return ClusterSpec(scheduler=scheduler, n_workers=workers, memory_limit=worker_memory)
