"""Makes importing psycopg fail, as on a machine without it; `make unit` puts this folder on PYTHONPATH.

Python imports ``sitecustomize`` at start-up, so every interpreter of the run (pytest, its xdist
workers, the subprocesses the tests start) has the block. The unit tests passing under it proves they
need neither psycopg nor, since the PostgreSQL fixture imports it, a PostgreSQL server.
"""

import sys
from importlib.abc import MetaPathFinder

BLOCKED = frozenset({"psycopg", "psycopg_binary", "psycopg_c", "psycopg_pool", "psycopg2"})


class BlockPsycopg(MetaPathFinder):
    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked: the unit tests must not need it)", name=name)
        return None


sys.meta_path.insert(0, BlockPsycopg())
