"""Only the row's own folder: a path goes only when no other row that is not itself expiring names it.

Every row of both tables, of any status, names paths (scrape output folders,
training datasets, outputs, checkpoints and logs). A planned path that is the
same as, inside, or contains a path of such a row is refused as ``claimed``.
Paths are compared lexically (``..`` resolved, no symlink followed: confinement
has refused symlinks already); a root's real path counts as the root itself.
A row naming a root, or a folder above one, claims nothing. One query per
table, and an index instead of a comparison per pair.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db.server_schema import ServerSchema
from ..errors import SafetyError
from ..fs.pathindex import PathIndex
from ..server_paths import scrape_folder_name, training_dataset_folder_name, training_log_path
from .plan import PurgePlan


@dataclass(frozen=True)
class Claim:
    """A path a row names: the row, its status and the column (or default) that names it."""

    row: str
    status: str | None
    column: str
    path: str


@dataclass(frozen=True)
class ClaimRoots:
    """The roots relative paths resolve against and default folders lie in (None: not configured here)."""

    scraped_dir: Path | None
    dataset_dir: Path | None
    lora_dir: Path | None

    def canonical(self, path: str, base: Path | None) -> str | None:
        """``path`` absolute and normalised, a root's real path written as the root; None when it cannot be placed."""
        if not os.path.isabs(path) and base is None:
            return None
        absolute = os.path.normpath(os.path.join(base or "/", path))
        for real, given in self._moved_roots:
            if absolute == real or absolute.startswith(real + "/"):
                return given + absolute[len(real) :]
        return absolute

    @cached_property
    def _moved_roots(self) -> list[tuple[str, str]]:
        """(real path, path as configured) of each root reached through a symlink; resolved once per run."""
        roots = [root for root in (self.scraped_dir, self.dataset_dir, self.lora_dir) if root is not None]
        pairs = [(os.path.realpath(root), os.path.normpath(root)) for root in roots]
        return [(real, given) for real, given in pairs if real != given]


def _scrape_claims(session: Session, schema: ServerSchema, roots: ClaimRoots) -> list[tuple[str | None, Claim]]:
    found: list[tuple[str | None, Claim]] = []
    jobs = schema.table("scrape_jobs")
    for job_id, status, output_directory in session.execute(select(jobs.c.id, jobs.c.status, jobs.c.output_directory)):
        row = f"scrape_jobs/{job_id}"
        if output_directory:
            found.append(
                (
                    roots.canonical(output_directory, roots.scraped_dir),
                    Claim(row, status, "output_directory", output_directory),
                )
            )
        if roots.scraped_dir is not None:
            default = str(roots.scraped_dir / scrape_folder_name(job_id))
            found.append((roots.canonical(default, None), Claim(row, status, "default output folder", default)))
    return found


def _training_claims(session: Session, schema: ServerSchema, roots: ClaimRoots) -> list[tuple[str | None, Claim]]:
    found: list[tuple[str | None, Claim]] = []
    runs = schema.table("training_runs")
    query = select(runs.c.id, runs.c.status, runs.c.dataset_path, runs.c.output_path, runs.c.final_checkpoint)
    for run_id, status, dataset_path, output_path, final_checkpoint in session.execute(query):
        row = f"training_runs/{run_id}"
        named = [
            ("dataset_path", dataset_path, roots.dataset_dir),
            ("output_path", output_path, roots.lora_dir),
            ("final_checkpoint", final_checkpoint, roots.lora_dir),
            ("log", training_log_path(run_id, output_path, roots.lora_dir), roots.lora_dir),
        ]
        if roots.dataset_dir is not None:
            named.append(
                ("default dataset folder", str(roots.dataset_dir / training_dataset_folder_name(run_id)), None)
            )
        for column, path, base in named:
            if path:
                found.append((roots.canonical(path, base), Claim(row, status, column, path)))
    return found


def collect_claims(session: Session, schema: ServerSchema, roots: ClaimRoots, expiring: set[str]) -> PathIndex[Claim]:
    """Every path a row names, of both tables, except the rows that are expiring in this run.

    A row naming a root itself or a folder above one (``/``) owns no folder in it:
    such a claim is left out, or one stale row would stop every purge.
    """
    tops = [os.path.normpath(root) for root in (roots.scraped_dir, roots.dataset_dir, roots.lora_dir) if root]
    named = _scrape_claims(session, schema, roots) + _training_claims(session, schema, roots)
    return PathIndex(
        (path, claim)
        for path, claim in named
        if path is not None and claim.row not in expiring and not any(_holds(path, top) for top in tops)
    )


def _holds(folder: str, path: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def refuse_claimed(plan: PurgePlan, claims: PathIndex[Claim], roots: ClaimRoots) -> None:
    """Refuse every planned path another (not expiring) row names, names a path inside, or lies inside."""
    for item in plan.items:
        for path in list(item.paths):
            where = roots.canonical(path.named, path.root)
            others = [claim for claim in claims.overlapping(where or str(path.target.path)) if claim.row != item.row]
            if others:
                claim = others[0]
                more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
                message = (
                    f"refused {path.named}: claimed by {claim.row} ({claim.status}), "
                    f"whose {claim.column} is {claim.path}{more}"
                )
                plan.refuse(item, path, SafetyError(message, path=path.named, reason="claimed"))
    plan.prune()
