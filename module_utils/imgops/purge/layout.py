"""Where the server puts a training run's files (SERVER_FACTS 5.5), as the purge needs them."""

from __future__ import annotations

from pathlib import Path, PurePosixPath


def training_log_path(run_id: int, output_path: str, lora_dir: Path | None) -> str | None:
    """The server's ``training_log_path``: ``Path(output_path).parent/logs/training_<id>.log`` when
    ``output_path`` is set, else ``<model.cache_dir>/lora/logs/training_<id>.log`` (None: no LoRA root known)."""
    name = f"training_{run_id}.log"
    if output_path:
        return str(PurePosixPath(output_path).parent / "logs" / name)
    return str(lora_dir / "logs" / name) if lora_dir is not None else None
