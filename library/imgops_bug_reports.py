#!/usr/bin/python
"""Ansible module imgops_bug_reports: the old name of imgops_bugs, kept one release."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_bug_reports
short_description: Old name of imgops_bugs (change bug report statuses, expire old reports)
description:
  - Runs exactly what M(imgops_bugs) runs and warns that the name is deprecated.
deprecated:
  removed_in: "0.2.0"
  why: Every job has one name; the bug report job is C(bugs) everywhere.
  alternative: Use M(imgops_bugs) instead.
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
- name: Expire old resolved reports (write imgops_bugs in new playbooks)
  imgops_bug_reports:
    action: purge
"""

RETURN = r"""
job:
  description: The job name; every returned key is the one M(imgops_bugs) documents.
  returned: always
  type: str
  sample: bugs
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.bugs import STATUSES, run_bugs_purge, run_bugs_status
from ansible.module_utils.imgops.module_support import deprecated_alias, job_argument_spec, run_job_module

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
    deprecated_alias(module, "imgops_bug_reports", "imgops_bugs")
    run_job_module(module, "bugs", run)


if __name__ == "__main__":
    main()
