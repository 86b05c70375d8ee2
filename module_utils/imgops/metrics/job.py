"""Every job's run metrics, written after each real run by one wrapper the CLI, the modules and timers share.

``imgops_job_<job>.prom`` holds the last run (its time, duration, whether it failed) and the job's own
figures (``JobResult.metrics``); ``imgops_job_<job>_success.prom`` is written only by a run that
succeeded, so the last success survives a failed run. Metrics are about the run, never the run
itself: a folder that cannot be written is a notice in the result, and a dry run writes nothing. A run
that finds another holding its lock did not run, and writes nothing either.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..config import Config
from ..errors import LockHeldError
from ..jsonlog import log_event
from ..result import JobResult
from .textfile import Metric, write_textfile

Run = TypeVar("Run", bound=Callable[..., JobResult])


def textfile_dir(config: Config) -> Path | None:
    """``metrics.textfile_dir``, else its older name ``disk.textfile_dir``; None: metrics are off."""
    folder = config.metrics.textfile_dir or config.disk.textfile_dir
    return Path(folder) if folder else None


def run_metrics(job: str, started: float, finished: float, *, failed: bool) -> list[Metric]:
    """The last run's families, labelled ``imgops_job`` (a label ``job`` would clash with the scrape's own)."""
    families = [
        ("imgops_job_last_run_timestamp_seconds", "When the job last ran (its start), unix time.", started),
        ("imgops_job_duration_seconds", "How long the job's last run took.", finished - started),
        ("imgops_job_failed", "1 if the job's last run failed, else 0.", int(failed)),
    ]
    return [_one(name, help_text, value, imgops_job=job) for name, help_text, value in families]


def success_metrics(job: str, finished: float) -> list[Metric]:
    help_text = "When the job last succeeded (its end), unix time."
    return [_one("imgops_job_last_success_timestamp_seconds", help_text, finished, imgops_job=job)]


def write_job_metrics(
    folder: Path, job: str, started: float, finished: float, *, failed: bool, figures: dict[str, list[Metric]]
) -> str | None:
    """Write the job's files; the reason they could not be written, else None."""
    try:
        for name, families in figures.items():
            write_textfile(folder, name, families)
        write_textfile(folder, f"imgops_job_{job}", run_metrics(job, started, finished, failed=failed))
        if not failed:
            write_textfile(folder, f"imgops_job_{job}_success", success_metrics(job, finished))
    except OSError as exc:
        return f"metrics not written to {folder}: {exc.strerror or exc}"
    return None


def records_metrics(job: str) -> Callable[[Run], Run]:
    """Decorate a job's entry point (``run_<job>(config, ...)``) to write its metrics after each real run."""

    def decorate(run: Run) -> Run:
        signature = inspect.signature(run)

        @functools.wraps(run)
        def wrapper(config: Config, *args: object, **kwargs: object) -> JobResult:
            folder = textfile_dir(config)
            dry_run = signature.bind(config, *args, **kwargs).arguments.get("dry_run", False)
            if folder is None or dry_run:
                return run(config, *args, **kwargs)
            started = time.time()
            try:
                result = run(config, *args, **kwargs)
            except LockHeldError:
                raise  # not a run: the run holding the lock writes the metrics
            except Exception:
                problem = write_job_metrics(folder, job, started, time.time(), failed=True, figures={})
                if problem:
                    log_event("metrics_not_written", logging.WARNING, job=job, reason=problem)
                raise
            problem = write_job_metrics(folder, job, started, time.time(), failed=result.failed, figures=result.metrics)
            if problem:
                result.notice(problem, path=str(folder))
            return result

        return wrapper  # type: ignore[return-value]

    return decorate


def _one(name: str, help_text: str, value: float, **labels: str) -> Metric:
    metric = Metric(name, help_text)
    metric.add(value, **labels)
    return metric
