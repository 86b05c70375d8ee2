"""The result envelope every job returns: the CLI prints it, the modules exit_json it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .contracts.types import ResultEnvelope
from .masking import mask, mask_known

if TYPE_CHECKING:
    from .metrics.textfile import Metric


@dataclass(frozen=True)
class Action:
    """One change a job made (or, in a dry run, would make)."""

    kind: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "detail": dict(self.detail)}


@dataclass
class JobResult:
    """Outcome of one job run. ``changed`` is derived from ``actions``, never set by hand."""

    job: str
    dry_run: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    actions: list[Action] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, Any]] = field(default_factory=list)
    diff: dict[str, Any] | None = None
    data: dict[str, Any] = field(default_factory=dict)
    """Job-specific top-level keys beside the envelope (e.g. ``reports`` for ``bugs list``)."""
    metrics: dict[str, list[Metric]] = field(default_factory=dict, repr=False)
    """The job's own figures for Prometheus, by textfile name; written after a real run, not in the envelope."""

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    @property
    def message(self) -> str:
        """The errors in one line, the ``msg`` of a failure."""
        return "; ".join(e["message"] for e in self.errors)

    @classmethod
    def from_error(cls, job: str, message: str, details: dict[str, Any], dry_run: bool = False) -> JobResult:
        """The result of a job that stopped on an error before it could report anything else."""
        result = cls(job=job, dry_run=dry_run)
        result.errors.append({**json.loads(json.dumps(details, default=str)), "message": message})
        return result

    def act(self, kind: str, target: str, **detail: Any) -> Action:
        action = Action(kind, target, detail)
        self.actions.append(action)
        return action

    def error(self, message: str, **context: Any) -> None:
        self.errors.append({"message": message, **context})

    def notice(self, message: str, **context: Any) -> None:
        self.notices.append({"message": message, **context})

    def to_dict(self) -> ResultEnvelope:
        """The envelope (``shared/schema/result_envelope.json``) plus the job's own top-level data."""
        out: ResultEnvelope = {
            "job": self.job,
            "changed": self.changed,
            "dry_run": self.dry_run,
            "summary": dict(self.summary),
            "actions": [a.to_dict() for a in self.actions],
            "errors": list(self.errors),
            "notices": list(self.notices),
        }
        if self.diff is not None:
            out["diff"] = self.diff
        clash = set(self.data) & set(out)
        if clash:
            raise ValueError(f"job data keys {sorted(clash)} collide with the result envelope")
        out.update(self.data)
        return out

    def to_output(self) -> dict[str, Any]:
        """What both faces print or return: the envelope, plus ``failed`` and ``msg`` when the job failed
        (the keys Ansible's ``fail_json`` sets, so ``imgops --json`` and the module agree), with every
        credential masked (``masking``)."""
        out: dict[str, Any] = dict(self.to_dict())
        out["errors"] = [_masked_problem(e) for e in self.errors]
        out["notices"] = [_masked_problem(n) for n in self.notices]
        if self.failed:
            out.update(failed=True, msg=mask(self.message))
        return mask_known(out)


def _masked_problem(problem: dict[str, Any]) -> dict[str, Any]:
    """An error or notice with anything shaped like a credential masked (a driver may quote its DSN)."""
    return {key: mask(value) if isinstance(value, str) else value for key, value in problem.items()}
