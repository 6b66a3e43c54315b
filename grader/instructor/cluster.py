"""Where grading tasks run: a Dask ``distributed`` cluster.

By default a local cluster on this machine, one single-threaded worker process per job;
with an address, an existing cluster whose workers were started elsewhere with
``dask worker ADDRESS --nthreads 1`` on machines that have the grading environment
installed (``make install``). Dask schedules the tasks, and runs a task again on another
worker when the one running it dies.

Dask's messages are not authenticated: keep a remote cluster on a network only the
course's machines reach (or give Dask TLS settings of its own).
"""

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from distributed import Client, LocalCluster


def local_workers(jobs: int | None) -> int:
    """Workers of a local cluster: ``jobs``, or one per core this process may use."""
    if jobs:
        return max(1, jobs)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@contextmanager
def grading_client(scheduler: str | None = None, jobs: int | None = None) -> Iterator[Client]:
    """A Dask client: of the cluster at ``scheduler``, or of a local cluster started here
    (and stopped on leaving, its workers' kernels with it)."""
    if scheduler:
        with Client(scheduler, timeout="60s") as client:
            yield client
        return
    with LocalCluster(n_workers=local_workers(jobs), threads_per_worker=1, processes=True,
                      # any free port: never the fixed default another cluster may hold
                      dashboard_address=":0", silence_logs=logging.ERROR,
                      # kernels are limited by the sandbox; the worker itself is small
                      memory_limit=0) as cluster, Client(cluster) as client:
        yield client
