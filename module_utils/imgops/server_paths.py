"""Where the server puts a row's files when the row does not say, each rule written once.

The rules are the server's (SERVER_FACTS 5.4 for scrapes, 5.5 for training); the purge plans
removals from them and the records report what is still on disk from them, so both must agree.
"""

from __future__ import annotations

import os


def scrape_folder_name(job_id: int) -> str:
    """A scrape job's folder in the scrape root, ``job_<id>`` (5.4)."""
    return f"job_{job_id}"


def training_dataset_folder_name(run_id: int) -> str:
    """A training run's dataset folder in ``dataset.data_dir``, ``training_run_<id>`` (5.5)."""
    return f"training_run_{run_id}"


def training_log_path(run_id: int, output_path: str) -> str:
    """A run's log: ``<folder of output_path>/logs/training_<id>.log`` (5.5).

    With the default ``output_path`` (``<cache_dir>/lora/trained_<id>``) this is the server's
    ``<cache_dir>/lora/logs/training_<id>.log``. For an empty ``output_path`` the server falls back
    to ``<cache_dir>/lora/logs``, which imgops cannot know; the path is then relative and names nothing.
    """
    return os.path.join(os.path.dirname(output_path), "logs", f"training_{run_id}.log")
