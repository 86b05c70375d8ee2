"""Purge stale scrape outputs and training artifacts, confined to their configured roots."""

from .job import PURGE_KINDS, run_purge

__all__ = ["PURGE_KINDS", "run_purge"]
