"""Engines run work items and hand their results back to the driver as they finish.

  LocalEngine   processes on this machine (`workers` of them; 1 runs in this process)
  RayEngine     one Ray task per item on a Ray cluster: `address` of a running one, or a local
                cluster started for the run (loopback only, no dashboard) and stopped after it

Either way a worker process loads the model once (masklet.autolabel.workbench) and keeps it for
every item it runs, torch runs on the task's fixed number of threads, and the results are the
same bytes. Inputs must be readable by the workers under the same paths (a shared file system
on a multi-machine cluster); outputs are written by the driver only.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed

import torch

from masklet.autolabel.inputs import WorkItem
from masklet.autolabel.task import ItemResult, Task, run_item
from masklet.errors import MaskletError

ENGINES = ("local", "ray")
LOCAL_CLUSTER_OBJECT_STORE_BYTES = 128 * 1024**2


class EngineError(MaskletError, RuntimeError):
    """An engine that cannot run here (Ray missing, cluster unreachable)."""


class LocalEngine:
    """`workers` processes on this machine (1: this process). The processes stay up between
    runs of the same engine, keeping their models, until `close()` (or the end of a `with`)."""

    def __init__(self, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def run(self, task: Task, items: Sequence[WorkItem]) -> Iterator[tuple[WorkItem, ItemResult]]:
        if self.workers == 1:
            yield from self._in_process(task, items)
            return
        if self._pool is None:
            # spawn: forked children of a process that has run torch can hang in its thread pools.
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        futures = {self._pool.submit(run_item, task, item): item for item in items}
        finished = False
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
            finished = True
        finally:
            if not finished:  # stopped early (error, Ctrl-C, the caller let go): drop the workers
                self.close()

    @staticmethod
    def _in_process(task: Task, items: Sequence[WorkItem]) -> Iterator[tuple[WorkItem, ItemResult]]:
        threads = torch.get_num_threads()
        try:
            for item in items:
                yield item, run_item(task, item)
        finally:
            torch.set_num_threads(threads)


def import_ray():
    try:
        import ray
    except ImportError:
        raise EngineError("--engine ray needs Ray: pip install 'masklet[ray]' (or use --engine local)") from None
    return ray


class RayEngine:
    """Ray tasks of `task.threads` CPUs each. Without `address`, a local cluster of `workers` CPUs (default:
    all) is started unless Ray is already initialised in this process."""

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self.workers = workers

    def _connect(self, ray) -> bool:
        """Initialise Ray if needed; True when this engine started it (and so stops it)."""
        if ray.is_initialized():
            return False
        try:
            if self.address:
                ray.init(address=self.address, log_to_driver=False, logging_level=logging.ERROR)
            else:
                ray.init(num_cpus=self.workers, include_dashboard=False, _node_ip_address="127.0.0.1",
                         object_store_memory=LOCAL_CLUSTER_OBJECT_STORE_BYTES, log_to_driver=False,
                         logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as e:
            where = self.address or "a local cluster"
            raise EngineError(f"cannot start or reach Ray at {where}: {str(e).splitlines()[0]}") from None
        return True

    def run(self, task: Task, items: Sequence[WorkItem]) -> Iterator[tuple[WorkItem, ItemResult]]:
        ray = import_ray()
        started = self._connect(ray)
        pending = {}
        try:
            remote_item = ray.remote(num_cpus=task.threads)(run_item)
            task_ref = ray.put(task)
            pending = {remote_item.remote(task_ref, item): item for item in items}
            while pending:
                (ready,), _ = ray.wait(list(pending), num_returns=1)
                item = pending.pop(ready)
                try:
                    result = ray.get(ready)
                except ray.exceptions.RayTaskError as e:
                    raise e.cause from None  # what failed in the worker (e.g. the model would not load)
                yield item, result
        finally:
            for ref in pending:  # the run stopped early: drop what is still queued
                ray.cancel(ref)
            if started:
                ray.shutdown()


def make_engine(name: str, workers: int = 1, ray_address: str | None = None) -> LocalEngine | RayEngine:
    if name == "local":
        return LocalEngine(workers)
    if name == "ray":
        import_ray()
        return RayEngine(ray_address, workers)
    raise ValueError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
