"""The only place imgops deletes, moves or writes files: confinement, atomic writes, locks."""

from .atomic import (
    PRIVATE_MODE,
    atomic_create_bytes,
    atomic_write_bytes,
    atomic_write_text,
    fsync_dir,
)
from .confine import ConfinedPath, confine
from .lock import job_lock
from .place import PLACE_MODES, partial_name, place_file
from .remove import TreeUsage, remove_confined, tree_usage

__all__ = [
    "PLACE_MODES",
    "PRIVATE_MODE",
    "ConfinedPath",
    "TreeUsage",
    "atomic_create_bytes",
    "atomic_write_bytes",
    "atomic_write_text",
    "confine",
    "fsync_dir",
    "job_lock",
    "partial_name",
    "place_file",
    "remove_confined",
    "tree_usage",
]
