"""Where sweep cells run: this process, a local process pool, or a Dask distributed cluster.

Every runner evaluates the same pure `run_cell` on the same jobs, so the results are identical
whichever runs them; only the wall time differs. Outcomes are yielded as cells finish (any
order) so the caller can store each one at once: an interrupted sweep keeps what finished.

The local pool uses the `forkserver` start method (`spawn` where unavailable), never `fork`:
a forked child inherits OpenMP's (XGBoost) and numba's thread pools in whatever state the parent
left them, which can deadlock. Each worker receives the datasets once, at start-up.
"""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from cvntrade.errors import DependencyError, UserInputError
from cvntrade.features import Dataset
from cvntrade.gate.worker import (
    CellJob,
    CellOutcome,
    install_datasets,
    run_cell,
    run_installed_cell,
)

DASK_CONNECT_TIMEOUT_S = 10.0


class CellRunner(Protocol):
    """Evaluates sweep cells somewhere and yields their outcomes as they complete."""

    @property
    def description(self) -> str:
        """Where the cells run, for reports (e.g. `local: 2 processes`)."""
        ...

    def run(
        self, jobs: Sequence[CellJob], datasets: Mapping[str, Dataset]
    ) -> Iterator[CellOutcome]:
        """Evaluate every job on `datasets[job.symbol]`; yield each outcome when it is done."""
        ...


class InlineRunner:
    """Cells one after the other in this process (what `--workers 1` means)."""

    description = "local: in-process, 1 worker"

    def run(
        self, jobs: Sequence[CellJob], datasets: Mapping[str, Dataset]
    ) -> Iterator[CellOutcome]:
        """Evaluate the jobs in order."""
        for job in jobs:
            yield run_cell(job, datasets[job.symbol])


class ProcessPoolRunner:
    """Cells on a local pool of `workers` processes (forkserver start method)."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise UserInputError(f"--workers must be >= 1 (got {workers})")
        self.workers = workers

    @property
    def description(self) -> str:
        """`local: N processes`."""
        return f"local: {self.workers} processes"

    def run(
        self, jobs: Sequence[CellJob], datasets: Mapping[str, Dataset]
    ) -> Iterator[CellOutcome]:
        """Submit every job, yield outcomes as they complete; cancel the rest on error."""
        if not jobs:
            return
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        needed = {job.symbol: datasets[job.symbol] for job in jobs}
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(jobs)),
            mp_context=context,
            initializer=install_datasets,
            initargs=(needed,),
        )
        futures: list[Future[CellOutcome]] = []
        try:
            futures = [pool.submit(run_installed_cell, job) for job in jobs]
            for future in as_completed(futures):
                yield future.result()
        except BrokenProcessPool as exc:
            raise DependencyError(
                f"a sweep worker process died ({exc}); finished cells are stored: re-run the "
                "same command to resume"
            ) from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


class DaskRunner:
    """Cells on a Dask distributed cluster (`--scheduler tcp://host:8786`).

    The workers need CVNTrade installed (same version); they never touch the database or MLflow.
    Each symbol's dataset is scattered to the cluster once.
    """

    def __init__(
        self, scheduler: str, *, connect_timeout_s: float = DASK_CONNECT_TIMEOUT_S
    ) -> None:
        if "://" not in scheduler:
            raise UserInputError(
                f"invalid --scheduler {scheduler!r}: expected an address such as tcp://host:8786"
            )
        self.scheduler = scheduler
        self.connect_timeout_s = connect_timeout_s

    @property
    def description(self) -> str:
        """`dask: <scheduler address>`."""
        return f"dask: {self.scheduler}"

    def run(
        self, jobs: Sequence[CellJob], datasets: Mapping[str, Dataset]
    ) -> Iterator[CellOutcome]:
        """Scatter the datasets, submit every job, yield outcomes as they complete."""
        if not jobs:
            return
        from distributed import Client
        from distributed import as_completed as dask_completed

        client = self._connect(Client)
        futures: list[Any] = []
        try:
            symbols = sorted({job.symbol for job in jobs})
            scattered = {s: client.scatter(datasets[s], hash=False) for s in symbols}
            futures = [
                client.submit(
                    run_cell,
                    job,
                    scattered[job.symbol],
                    pure=False,
                    key=f"cvntrade-sweep-{job.symbol}-{job.cell.name}-{uuid.uuid4().hex[:8]}",
                )
                for job in jobs
            ]
            with client.as_current():  # as_completed finds its client through this
                completed = dask_completed(futures)  # type: ignore[no-untyped-call]
            for future in completed:
                outcome: CellOutcome = future.result()
                yield outcome
        except (OSError, TimeoutError) as exc:
            raise DependencyError(
                f"Dask cluster {self.scheduler} failed: {exc}; finished cells are stored: re-run "
                "the same command to resume"
            ) from None
        finally:
            for future in futures:
                future.cancel()
            client.close()

    def _connect(self, client_class: Any) -> Any:
        try:
            return client_class(
                self.scheduler, timeout=self.connect_timeout_s, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise DependencyError(f"Dask scheduler {self.scheduler} unreachable: {exc}") from None
        except ValueError as exc:
            raise UserInputError(f"invalid --scheduler {self.scheduler!r}: {exc}") from None


def make_runner(workers: int | None, scheduler: str | None) -> CellRunner:
    """Dask when `scheduler` is given, else a local pool of `workers` (1 = in-process)."""
    if scheduler is not None:
        if workers is not None:
            raise UserInputError("--workers and --scheduler exclude each other: give one")
        return DaskRunner(scheduler)
    count = workers if workers is not None else default_workers()
    if count < 1:
        raise UserInputError(f"--workers must be >= 1 (got {count})")
    return InlineRunner() if count == 1 else ProcessPoolRunner(count)


def default_workers() -> int:
    """One worker per CPU this process may use."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
