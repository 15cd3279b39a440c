"""Where a flow's submitted tasks run: the flow's own threads, or Dask workers (`task_runner`).

Only download, extract and summarize are submitted; fetching, selecting, storing to DuckDB and
rendering run in the flow's process whatever the runner, so DuckDB keeps one writer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import TYPE_CHECKING, Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from config.loading import get_settings
from config.settings import Settings

if TYPE_CHECKING:  # imported on first use at run time (`_dask_runner`)
    from prefect_dask import DaskTaskRunner

# The scheduler of a local cluster that runs started inside `one_cluster` share.
_shared_address: ContextVar[str] = ContextVar("shared_dask_address", default="")


class SettingsTaskRunner(TaskRunner[Any]):
    """The runner that the settings name when a run starts, for flows defined at import.

    Settings are read when called, never at import, and a deployment imports its flow from the
    entrypoint with no call site to pass a runner at. Prefect asks the flow's runner for a fresh
    copy at the start of every run (`duplicate`), so that is where the settings decide.
    """

    def duplicate(self) -> TaskRunner[Any]:  # type: ignore[override]  # a runner, not this
        return build(get_settings())

    def submit(self, task: Any, parameters: Any, wait_for: Any = None, dependencies: Any = None):
        raise RuntimeError("SettingsTaskRunner only chooses a runner; the flow run enters that")


def build(settings: Settings) -> TaskRunner[Any]:
    """Return the task runner `settings` ask for."""
    if settings.task_runner == "threads":
        return ThreadPoolTaskRunner(max_workers=settings.max_workers)
    runner = _dask_runner()
    address = settings.dask_address or _shared_address.get()
    if address:
        return runner(address=address)
    return runner(cluster_class=local_cluster, cluster_kwargs=cluster_options(settings))


@cache
def _dask_runner() -> type[DaskTaskRunner]:
    """Return a DaskTaskRunner that checks its workers before the first task.

    Built on first use: importing prefect_dask imports distributed, a second and more that
    runs on threads need not pay.
    """
    from prefect_dask import DaskTaskRunner

    class CheckedDaskTaskRunner(DaskTaskRunner):
        _checked = False

        def submit(
            self, task: Any, parameters: Any, wait_for: Any = None, dependencies: Any = None
        ):
            if not self._checked:  # here, not on entering: a failure is then the run's failure
                check_workers(self.client)
                self._checked = True
            return super().submit(task, parameters, wait_for, dependencies)

    return CheckedDaskTaskRunner


def check_workers(client: Any) -> None:
    """Raise ConfigError unless every worker of a Dask `client` may start child processes.

    Dask workers are daemonic processes by default, and a daemonic process may not have
    children: every extraction would fail, paper after paper, day after day.
    """
    from tasks.errors import ConfigError

    def is_daemonic() -> bool:  # nested, so it travels by value: workers import nothing
        import multiprocessing

        return multiprocessing.current_process().daemon

    daemonic = sorted(w for w, is_daemon in client.run(is_daemonic).items() if is_daemon)
    if daemonic:
        raise ConfigError(
            f"the Dask workers {', '.join(daemonic)} cannot start the child process that reads "
            "each PDF; restart them with DASK_DISTRIBUTED__WORKER__DAEMON=False"
        )


def cluster_options(settings: Settings) -> dict[str, Any]:
    """Return the local cluster's size: `dask_workers` processes sharing `max_workers` threads."""
    return {
        "n_workers": settings.dask_workers,
        "threads_per_worker": math.ceil(settings.max_workers / settings.dask_workers),
        "processes": True,
        # Any free port, on this machine only: two runs at once must not contend for 8787.
        "dashboard_address": "127.0.0.1:0",
    }


def local_cluster(**options: Any) -> Any:
    """Start a Dask cluster on this machine whose workers may start child processes.

    Extraction reads each PDF in a child process (tasks/pdf/guard.py), and a daemonic process may
    not have children. The nanny reads `worker.daemon` whenever it (re)starts a worker, so the
    setting stays for the life of this process, not only for the cluster's start.
    """
    import dask
    import distributed

    dask.config.set({"distributed.worker.daemon": False})
    return distributed.LocalCluster(**options)


@contextmanager
def one_cluster(settings: Settings) -> Iterator[None]:
    """Let the flow runs started inside share one local Dask cluster (a backfill's days).

    Without it each run starts a cluster of its own: seconds per run, and workers whose
    imports and caches start cold every day.
    """
    if settings.task_runner != "dask" or settings.dask_address or _shared_address.get():
        yield
        return
    with local_cluster(**cluster_options(settings)) as cluster:
        token = _shared_address.set(cluster.scheduler_address)
        try:
            yield
        finally:
            _shared_address.reset(token)
