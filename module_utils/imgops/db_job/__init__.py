"""The ``db`` job: the schema's status, platform tables for demos and tests, imgops' migrations."""

from .job import DB_ACTIONS, run_db

__all__ = ["DB_ACTIONS", "run_db"]
