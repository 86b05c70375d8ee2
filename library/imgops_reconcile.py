#!/usr/bin/python
"""Ansible module imgops_reconcile: a thin adapter over imgops.reconcile."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_reconcile
short_description: Find, and with fix repair, what the server's database and its files disagree on
description:
  - Counts, with up to 20 samples each, images rows whose file is missing, orphan thumbnails in
    C(paths.thumbnails_dir) (C(<id>.webp) whose image is gone, old imgops C(legacy-<sha>.jpg) no row
    names), C(thumbnail_path) values naming no file, C(album_images) and C(labels) rows pointing at
    missing images or albums, images rows whose file lies in a purged scrape or training folder, image
    files under C(outputs_dir) and C(legacy_root) that no row references, and imgops' queue jobs for
    vanished images.
  - With O(fix), removes the orphan thumbnails (confined to the thumbnails folder), deletes the dangling
    C(album_images) and C(labels) rows and clears C(thumbnail_path) values naming nothing. Images rows
    whose file is missing are deleted only with C(reconcile.delete_missing_images) in the configuration.
  - Check mode with O(fix) reports the plan and changes nothing. Works on every server schema generation.
options:
  fix:
    description: Repair what can be repaired; without it the module only reports.
    type: bool
    default: false
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Report what the database and the files disagree on
  imgops_reconcile:
    config: /etc/imgops/imgops.yml

- name: Remove orphan thumbnails and dangling rows
  imgops_reconcile:
    config: /etc/imgops/imgops.yml
    fix: true
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: reconcile
changed:
  description: Whether anything was repaired (or would be, in check mode).
  returned: always
  type: bool
  sample: true
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description: >-
    The schema generation, whether fix and delete_missing_images were on, each kind's findings (count,
    fixed, up to 20 samples), and the totals found and fixed.
  returned: always
  type: dict
  sample: {"generation": "current", "fix": true, "delete_missing_images": false,
           "findings": {"orphan_thumbnails": {"count": 1, "fixed": 1,
                                              "samples": [{"path": "/srv/outputs/thumbnails/17.webp"}]}},
           "found": 1, "fixed": 1}
actions:
  description: One entry per kind of repair, with its count.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "remove_orphan_thumbnails", "target": "/srv/outputs/thumbnails", "detail": {"count": 1}}]
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
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module
from ansible.module_utils.imgops.reconcile import run_reconcile

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(fix={"type": "bool", "default": False})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_reconcile(config, fix=params["fix"], dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "reconcile", run)


if __name__ == "__main__":
    main()
