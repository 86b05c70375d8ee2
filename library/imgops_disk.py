#!/usr/bin/python
"""Ansible module imgops_disk: a thin adapter over imgops.disk."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_disk
short_description: Check disk space and inodes against thresholds, export metrics, forecast fill-up
description:
  - Checks every C(disk.targets) entry of the configuration and, once each, the filesystems holding
    the configured roots (C(paths.*)) that no target covers.
  - Severity per target from C(warn_percent) / C(crit_percent) (space), C(inode_warn_percent) /
    C(inode_crit_percent) (default to the space thresholds) and C(min_free_bytes) (critical below);
    each may be overridden per target.
  - Logs one JSON line per target (with a syslog priority prefix under systemd), writes
    C(imgops_disk.prom) into C(disk.textfile_dir) for node_exporter's textfile collector, and keeps a
    small history in C(state_dir) to forecast the days until each filesystem is full.
  - It never changes the host, so it always returns C(changed=false); the metrics file and the history
    are monitoring output. Check mode writes neither.
  - A target that cannot be read (missing path) fails the task.
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Check disks and refresh the node_exporter metrics
  imgops_disk:
    config: /etc/imgops/imgops.yml
  register: disk

- name: Stop when a disk is critical
  ansible.builtin.assert:
    that: disk.summary.severity != 'critical'
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: disk
changed:
  description: Always false; the job only reads the platform.
  returned: always
  type: bool
  sample: false
dry_run:
  description: True in check mode (no metrics file, no history written).
  returned: always
  type: bool
  sample: false
summary:
  description:
    - C(severity) the worst of all targets (ok, warning, critical, unknown), the count of targets per
      severity (C(ok), C(warning), C(critical), C(unknown)), C(alerts) (targets not ok), C(textfile)
      and C(history) (paths written or null), and C(targets).
    - Each target has C(target) (label), C(path), C(mount), C(severity), C(reasons), C(thresholds),
      C(size_bytes), C(used_bytes), C(free_bytes), C(used_percent), C(inodes_total), C(inodes_free),
      C(inode_used_percent), C(growth_bytes_per_day) and C(days_until_full) (null without enough history
      or growth).
  returned: always
  type: dict
  sample: {"severity": "warning", "ok": 1, "warning": 1, "critical": 0, "unknown": 0, "alerts": 1,
           "textfile": "/var/lib/prometheus/node-exporter/imgops_disk.prom",
           "history": "/var/lib/imgops/state/disk_history.json",
           "targets": [{"target": "nvme-speedy", "path": "/mnt/speedy", "mount": "/mnt/speedy",
                        "severity": "warning", "reasons": ["space 88.0% used >= warning 85%"],
                        "thresholds": {"warn_percent": 85, "crit_percent": 95, "inode_warn_percent": 85,
                                       "inode_crit_percent": 95, "min_free_bytes": null},
                        "size_bytes": 1000000000000, "used_bytes": 880000000000, "free_bytes": 120000000000,
                        "used_percent": 88.0, "inodes_total": 61054976, "inodes_free": 60000000,
                        "inode_used_percent": 1.73, "growth_bytes_per_day": 20000000000.0,
                        "days_until_full": 6.0}]}
actions:
  description: Always empty.
  returned: always
  type: list
  elements: dict
  sample: []
errors:
  description: Targets that could not be read.
  returned: always
  type: list
  elements: dict
  sample: []
notices:
  description: Non-fatal problems, such as an unreadable history file that was started afresh.
  returned: always
  type: list
  elements: dict
  sample: []
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.disk import run_disk_check
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec()


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_disk_check(config, dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "disk", run)


if __name__ == "__main__":
    main()
