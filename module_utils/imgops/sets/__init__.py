"""Sets -> albums: the server's CSV + YAML generation templates as set-template albums."""

from .job import run_sets

__all__ = ["run_sets"]
