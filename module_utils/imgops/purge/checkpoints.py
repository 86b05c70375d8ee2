"""Trained weights of old runs: which step checkpoints go, and the LoRA ``index.json`` entries of removed outputs.

A *step checkpoint* is an entry of the run's ``output_path`` named
``checkpoint-<step>`` (the diffusers training scripts' layout,
``accelerator.save_state`` every ``checkpointing_steps``; SERVER_FACTS 5.5 names
no other): the newest ``keep_last`` by step stay, with anything holding the file
``final_checkpoint`` names. The final weights themselves (``final_checkpoint``,
the first ``*.safetensors`` of the output folder, or its integrated copy
``<lora_dir>/<safe_name>_<id>.safetensors``) are never step checkpoints.

``index.json`` (``<lora_dir>/index.json``, keyed by folder name, SERVER_FACTS 5.5)
loses the entries of output folders removed, in one atomic rewrite that keeps
every other entry, their key order and indent 2. Every entry written carries an
``organized_at`` string (the server's ``GET /api/loras`` sorts on it and fails
on an entry without one, defect D5): an entry lacking it gets its own
``created_at``, else the time of the rewrite.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from ..errors import InputError, SafetyError
from ..fs import atomic_write_text, confine
from ..fs.read import read_regular_text
from ..parsing import load_json

STEP_CHECKPOINT = re.compile(r"checkpoint-(\d{1,18})")
INDEX_NAME = "index.json"


def _holds(folder: str, path: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def stale_step_checkpoints(output_path: str, lora_dir: Path, keep_last: int, keep: list[str]) -> list[str]:
    """The step checkpoints of ``output_path`` past the newest ``keep_last``, none holding a ``keep`` path.

    Nothing when the output folder is missing or not confined to ``lora_dir``
    (the other paths of the row report that).
    """
    try:
        folder = confine(output_path, lora_dir, allow_missing=True).path
        with os.scandir(folder) as entries:
            steps = [(int(m.group(1)), e.name) for e in entries if (m := STEP_CHECKPOINT.fullmatch(e.name))]
    except (SafetyError, FileNotFoundError, NotADirectoryError):
        return []
    steps.sort(reverse=True)
    base = os.path.normpath(os.path.join(lora_dir, output_path))
    kept = [os.path.normpath(os.path.join(lora_dir, path)) for path in keep if path]
    stale = [os.path.join(base, name) for _, name in steps[keep_last:]]
    return [path for path in stale if not any(_holds(path, k) for k in kept)]


def index_path(lora_dir: Path) -> Path:
    return lora_dir / INDEX_NAME


def drop_index_entries(lora_dir: Path, folders: set[str], *, dry_run: bool) -> list[str]:
    """Remove the entries keyed by ``folders`` from ``<lora_dir>/index.json``: the keys removed (would be).

    A missing index has nothing to drop; one that is a symlink (SafetyError), not
    a regular file or not a JSON object (InputError) is left as it is, and the
    run reports an error naming it: the folders are gone already, so its stale
    entries are for a person to remove.
    """
    target = confine(INDEX_NAME, lora_dir, allow_missing=True).path
    if not os.path.lexists(target):
        return []
    text = read_regular_text(target, "lora index")  # a regular file only, size-capped
    index = load_json(text, str(target))
    if not isinstance(index, dict):
        message = f"lora index {target}: not a JSON object; its entries of removed folders stay"
        raise InputError(message, file=str(target))
    removed = [key for key in index if key in folders]
    if not removed or dry_run:
        return removed
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    kept = {key: _organized(entry, now) for key, entry in index.items() if key not in folders}
    atomic_write_text(target, json.dumps(kept, indent=2) + ("\n" if text.endswith("\n") else ""))
    return removed


def _organized(entry: object, now: str) -> object:
    if not isinstance(entry, dict) or isinstance(entry.get("organized_at"), str):
        return entry
    created = entry.get("created_at")
    return {**entry, "organized_at": created if isinstance(created, str) else now}
