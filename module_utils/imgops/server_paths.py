"""Where the server puts a row's files when the row does not say, each rule written once.

The rules are the server's (SERVER_FACTS 5.4 for scrapes, 5.5 for training); the purge plans
removals from them and the records report what is still on disk from them, so both must agree.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def scrape_folder_name(job_id: int) -> str:
    """A scrape job's folder in the scrape root, ``job_<id>`` (5.4)."""
    return f"job_{job_id}"


def training_dataset_folder_name(run_id: int) -> str:
    """A training run's dataset folder in ``dataset.data_dir``, ``training_run_<id>`` (5.5)."""
    return f"training_run_{run_id}"


def training_log_path(run_id: int, output_path: str, lora_dir: Path | None) -> str | None:
    """A run's log, ``training_<id>.log`` in a ``logs`` folder (5.5).

    The server's rule: ``Path(output_path).parent/logs`` when ``output_path`` is set (with the default
    ``<cache_dir>/lora/trained_<id>`` that is ``<cache_dir>/lora/logs``), else ``<cache_dir>/lora/logs``,
    which is ``lora_dir/logs`` here. None: ``output_path`` is empty and no LoRA root is known.
    """
    name = f"training_{run_id}.log"
    if output_path:
        return str(PurePosixPath(output_path).parent / "logs" / name)
    return str(lora_dir / "logs" / name) if lora_dir is not None else None
