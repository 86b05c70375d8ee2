#!/usr/bin/python
"""Ansible module imgops_bugs: a thin adapter over imgops.bugs."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_bugs
short_description: Change bug report statuses and expire old reports
description:
  - Works on the rows of the server's C(bug_reports) table where a database is configured and has it,
    else on the report files (C(bug_*.json), recursively) under C(paths.bug_reports_dir); the summary's
    C(backend) says which.
  - C(action=status) moves one report to one of the server's statuses. A row gets the note in
    C(resolution_notes), the actor in C(resolution_actor_id), a C(status_changed) event appended to
    C(events) and C(updated_at); a file gets a C(status_history) entry and C(updated_at), rewritten
    atomically with every other field, number and the key order kept. The same status again changes nothing.
  - C(action=purge) deletes reports older than C(retention.bug_reports_days) whose status expires
    (C(bugs.expire_statuses), default resolved only) with their screenshot folders C(<report_id>/),
    archiving them first into a gzip tar (mode 0600) when C(bugs.archive_dir) is set. Corrupt reports
    are reported and never deleted.
  - Check mode computes the same actions and writes nothing; diff mode shows the status before and after.
options:
  action:
    description: What to do.
    type: str
    choices: [status, purge]
    default: purge
  report_id:
    description: The report, e.g. C(bug_20251031_142501_a1b2c3d4). Required with C(action=status).
    type: str
  status:
    description: The new status. Required with C(action=status).
    type: str
    choices: [open, in_progress, resolved]
  note:
    description: A note for the history entry.
    type: str
  actor:
    description: Who made the change, recorded in the history entry.
    type: str
    default: ansible
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Mark a report resolved
  imgops_bugs:
    action: status
    report_id: bug_20251031_142501_a1b2c3d4
    status: resolved
    note: fixed in 2.4.1
    actor: "{{ lookup('env', 'USER') }}"

- name: Expire old resolved reports
  imgops_bugs:
    action: purge
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: bugs
changed:
  description: Whether a report was changed or expired (or would be, in check mode).
  returned: always
  type: bool
  sample: true
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description: The backend (database or files); for status, the report and its status before and
    after; for purge, the counts examined, expired, kept and corrupt, the bytes expired, the screenshot
    folders removed and the archive written.
  returned: always
  type: dict
  sample: {"action": "purge", "backend": "files", "folder": "/mnt/storage/imagineer/bug_reports",
           "retention_days": 30, "expire_statuses": ["resolved"], "examined": 8, "expired": 2,
           "expired_bytes": 41230, "kept": 6, "corrupt": 1, "screenshot_folders_removed": 1,
           "stale_temporaries": 0, "archive": null}
actions:
  description: Each status change (set_status), expired report (expire), archive written (archive) and
    stale temporary file removed (remove_temporary).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "expire", "target": "bug_20250901_101010_a1b2c3d4",
            "detail": {"status": "resolved", "submitted_at": "2025-09-01T10:10:10+00:00", "size": 20311}}]
errors:
  description: Problems that failed the job.
  returned: always
  type: list
  elements: dict
  sample: []
notices:
  description: Problems that did not fail the job, such as corrupt report files (also shown as Ansible warnings).
  returned: always
  type: list
  elements: dict
  sample: [{"message": "corrupt report file bug_x.json: empty file", "file": "/mnt/storage/bug_reports/bug_x.json"}]
diff:
  description: The report's status before and after, with the number of history entries (files) or the
    resolution notes (rows).
  returned: when a status changes
  type: dict
  sample: {"before": {"status": "open", "history_entries": 0}, "after": {"status": "resolved", "history_entries": 1}}
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.bugs import STATUSES, run_bugs_purge, run_bugs_status
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(
    action={"type": "str", "choices": ["status", "purge"], "default": "purge"},
    report_id={"type": "str"},
    status={"type": "str", "choices": list(STATUSES)},
    note={"type": "str"},
    actor={"type": "str", "default": "ansible"},
)
REQUIRED_IF = [("action", "status", ("report_id", "status"))]


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    if params["action"] == "status":
        return run_bugs_status(config, params["report_id"], params["status"], note=params["note"],
                               actor=params["actor"], dry_run=check_mode)  # fmt: skip
    return run_bugs_purge(config, dry_run=check_mode)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    run_job_module(module, "bugs", run)


if __name__ == "__main__":
    main()
