"""The ``reconcile`` job: what the database and the files disagree on, counted, sampled and (with fix) repaired."""

from .job import run_reconcile

__all__ = ["run_reconcile"]
