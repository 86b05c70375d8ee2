#!/usr/bin/python
"""Ansible module imgops_legacy_import: the old name of imgops_legacy, kept one release."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_legacy_import
short_description: Old name of imgops_legacy (import the platform's legacy images)
description:
  - Runs exactly what M(imgops_legacy) runs and warns that the name is deprecated.
deprecated:
  removed_in: "0.2.0"
  why: Every job has one name; the legacy import job is C(legacy) everywhere.
  alternative: Use M(imgops_legacy) instead.
options:
  mode:
    description: How files are staged; defaults to C(legacy.stage_mode) of the configuration.
    type: str
    choices: [hardlink, copy, symlink]
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Import legacy images (write imgops_legacy in new playbooks)
  imgops_legacy_import:
    config: /etc/imgops/imgops.yml
"""

RETURN = r"""
job:
  description: The job name; every returned key is the one M(imgops_legacy) documents.
  returned: always
  type: str
  sample: legacy
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.fs import PLACE_MODES
from ansible.module_utils.imgops.legacy import run_legacy_import
from ansible.module_utils.imgops.module_support import deprecated_alias, job_argument_spec, run_job_module

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(mode={"type": "str", "choices": list(PLACE_MODES)})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_legacy_import(config, mode=params["mode"], dry_run=check_mode)


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    deprecated_alias(module, "imgops_legacy_import", "imgops_legacy")
    run_job_module(module, "legacy", run)


if __name__ == "__main__":
    main()
