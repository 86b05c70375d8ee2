#!/usr/bin/python
"""Ansible module imgops_db: a thin adapter over imgops.db_job."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_db
short_description: Report and bring up the platform database schema for imgops
description:
  - Reports the platform tables and imgops' own schema revision.
  - C(action=upgrade) applies imgops' own migrations (tables prefixed C(imgops_), versioned in
    C(imgops_alembic_version)); the server's tables and its Alembic history are never touched.
  - C(action=init) also creates missing platform tables, for demos and tests only.
  - Check mode computes the same actions and writes nothing.
options:
  action:
    description: What to do.
    type: str
    choices: [status, init, upgrade]
    default: upgrade
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Apply imgops migrations to the shared database
  imgops_db:
    config: /etc/imgops/imgops.yml
    action: upgrade
  run_once: true
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: db
changed:
  description: Whether any action was taken (or would be, in check mode).
  returned: always
  type: bool
  sample: false
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description: >-
    The masked database URL, missing platform tables, current and pending imgops revisions; the server
    schema's generation (seed, current, an upgrade variant such as seed+separation, empty or unknown),
    the evidence that decided it, and for each job whether it can run and which tables or columns it lacks.
  returned: always
  type: dict
  sample: {"database": "sqlite:///demo/instance/imagineer.db", "missing_tables": [],
           "imgops_revision": "0001_queue", "pending_revisions": [], "generation": "seed+separation",
           "evidence": [{"name": "scrape_jobs.album_name", "present": true,
                         "detail": "added by the separation script"}],
           "jobs": {"sets": {"runnable": true, "missing": [], "tables": ["batch_templates", "migration_history"]}}}
actions:
  description: Each table created or migration applied.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "apply_migration", "target": "0001_queue", "detail": {}}]
errors:
  description: Problems that failed the job.
  returned: always
  type: list
  elements: dict
  sample: []
notices:
  description: Problems that did not fail the job (also shown as Ansible warnings).
  returned: always
  type: list
  elements: dict
  sample: []
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.db_job import DB_ACTIONS, run_db
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(action={"type": "str", "choices": list(DB_ACTIONS), "default": "upgrade"})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_db(config, params["action"], dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "db", run)


if __name__ == "__main__":
    main()
