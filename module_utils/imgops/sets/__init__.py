"""Sets: the server's CSV + YAML generation templates as batch templates (current) or set-template albums (seed)."""

from .job import run_sets

__all__ = ["run_sets"]
