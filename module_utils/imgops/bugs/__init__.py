"""Bug reports: list, show, change status, and expire the server's reports (``bug_reports`` rows or files)."""

from .job import run_bugs_list, run_bugs_purge, run_bugs_show, run_bugs_status
from .store import STATUSES

__all__ = ["STATUSES", "run_bugs_list", "run_bugs_purge", "run_bugs_show", "run_bugs_status"]
