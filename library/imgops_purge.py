#!/usr/bin/python
"""Ansible module imgops_purge: a thin adapter over imgops.purge."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_purge
short_description: Purge stale scrape outputs and training artifacts inside their configured roots
description:
  - Removes the output folder of every terminal scrape job older than C(retention.scrape_days)
    (C(output_directory), or C(<scraped_dir>/job_<id>) when empty), then sets the row's
    C(output_directory) to an empty string.
  - Removes the dataset folder and the log of every terminal training run older than
    C(retention.training_days), then sets C(dataset_path) to an empty string. Trained weights stay
    unless O(purge_checkpoints) is true.
  - Every path is confined to its root (C(paths.scraped_dir), C(paths.training_dataset_dir), logs and
    weights under C(paths.lora_dir), default C(<model.cache_dir>/lora) of the server's config.yaml; the
    log is where the server writes it, C(<folder of output_path>/logs/training_<id>.log)). A row naming
    C(/), a root itself, a path outside its root or a symlink is refused, reported in RV(notices) (and
    as an Ansible warning), and left untouched; the other rows go on. Symlinks inside a removed folder
    are removed as links.
  - A path is also refused when another row that is not itself expiring (of either table, any status)
    names it, a path inside it or one holding it (C(claimed)); when it is or holds a mount point,
    bind mounts included (C(mount_point)); and when a live process has a file open or its working
    directory in it (C(busy)). Every refusal carries a reason from a closed list, counted in
    RV(summary.refused_by_reason).
  - Each path of a row is decided on its own (a refused log never keeps the dataset), removed first,
    and the row's columns for the paths that went are updated afterwards in a transaction of its own,
    so a run interrupted in between is finished by the next one. Trees of any depth are walked
    without recursion.
  - A scrape folder that C(images) rows point into (their C(file_path) absolute, relative to
    C(paths.outputs_dir) or to the server's folder) is kept and refused as C(referenced), with the counts
    of images, albums and labels; with C(purge.referenced_images=delete) it goes and then, in one
    transaction, those images rows, their labels and album memberships and the scraped albums left empty
    (RV(actions) C(delete_rows)). A run that stopped in between is finished by the next one.
  - Opt-in step-checkpoint retention (C(purge.checkpoints)) lets an aged run keep its newest
    C(keep_last) C(checkpoint-<step>) entries and its final weights; the others go.
  - Opt-in relief of a filling volume (C(purge.pressure)). Above C(high_percent) used, rows younger than
    their retention but older than C(min_age_hours) go too, oldest first, through every check above,
    until the volume is estimated below C(low_percent). Each removal says its C(rule)
    (C(retention) or C(pressure)).
  - A retention of 0 days disables that purge. Check mode lists every path that would go, with its size.
options:
  kind:
    description: What to purge.
    type: str
    choices: [all, scrape, training]
    default: all
  orphans:
    description:
      - Also remove folders directly in C(scraped_dir) and C(training_dataset_dir) that no row names,
        last modified before the retention window.
      - Defaults to C(purge.orphans) of the configuration.
    type: bool
  purge_checkpoints:
    description:
      - Also remove old runs' trained weights (the whole C(output_path) folder and C(final_checkpoint));
        each column becomes an empty string once its path is gone, and the run's entry in
        C(<lora_dir>/index.json) is dropped in one atomic rewrite (other entries, their order and
        indent 2 kept; each entry written carries an C(organized_at)).
      - Defaults to C(purge.purge_checkpoints) of the configuration.
    type: bool
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Purge stale scrape outputs and training artifacts on this host
  imgops_purge:
    config: /etc/imgops/imgops.yml

- name: Show what a scrape purge with orphans would remove
  imgops_purge:
    kind: scrape
    orphans: true
  check_mode: true
  register: plan
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: purge
changed:
  description: Whether any path was removed or row updated (or would be, in check mode).
  returned: always
  type: bool
  sample: true
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description:
    - What was purged. C(kinds), C(disabled) (retention 0), C(retention_days), C(orphans),
      C(purge_checkpoints), C(paths_removed), C(rows_updated), C(refused),
      C(refused_by_reason) (each reason of the closed list C(invalid), C(outside_root), C(is_root),
      C(root_missing), C(symlink), C(swapped), C(mount_point), C(claimed), C(busy), C(referenced), with
      its count), C(missing) (aged rows with a path not on this host, its columns left alone), C(bytes_freed),
      C(filesystems) (per mount point C(bytes_freed), C(free_bytes_before), C(free_bytes_after)),
      C(textfile_dir) (where the C(imgops_purge_*.prom) metrics went, or null), C(pressure) (per volume
      relieved, with C(kind), C(mount), C(used_percent), C(high_percent), C(low_percent), C(needed_bytes),
      C(planned_bytes), C(freed_bytes) by the pressure rule, C(used_percent_after); empty when none was).
  returned: always
  type: dict
  sample: {"kinds": ["scrape", "training"], "disabled": [], "retention_days": {"scrape": 30, "training": 30},
           "orphans": false, "purge_checkpoints": false, "paths_removed": 5, "rows_updated": 3, "refused": 1,
           "refused_by_reason": {"invalid": 0, "outside_root": 1, "is_root": 0, "root_missing": 0, "symlink": 0,
                                 "swapped": 0, "mount_point": 0, "claimed": 0, "busy": 0, "referenced": 0},
           "missing": 0, "bytes_freed": 114688, "filesystems": [{"mount": "/mnt/storage", "bytes_freed": 114688,
           "free_bytes_before": 85089615872, "free_bytes_after": 85089722368}],
           "textfile_dir": "/var/lib/prometheus/node-exporter", "pressure": []}
actions:
  description: Each path removed (C(remove), with row, what, bytes, files, reason and rule), row updated
    (C(update_row), with the columns before and after and the rule), images rows deleted with a scrape
    folder (C(delete_rows), with images, labels, album_images, albums, albums_emptied) and LoRA index
    entries dropped (C(update_index), with the keys removed).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "remove", "target": "/mnt/storage/imagineer/scraped/job_1",
            "detail": {"row": "scrape_jobs/1", "what": "scrape_output", "bytes": 24576, "files": 6,
                       "reason": "completed 90 days ago (retention 30 days)", "rule": "retention"}}]
errors:
  description: Removals that failed (for example a permission error); the row stays as it was.
  returned: always
  type: list
  elements: dict
  sample: []
notices:
  description: Refused paths (with row, what, path and reason, one of the closed list in
    RV(summary.refused_by_reason); C(referenced) adds images, albums and labels) and rows that changed
    during the run.
  returned: always
  type: list
  elements: dict
  sample: [{"message": "refused /srv/elsewhere: outside the allowed root /mnt/storage/imagineer/scraped",
            "row": "scrape_jobs/6", "what": "scrape_output", "path": "/srv/elsewhere", "reason": "outside_root"}]
diff:
  description: Paths and row columns before and after, when anything changed.
  returned: when changed
  type: dict
  sample: {"before": {"paths": ["/mnt/storage/imagineer/scraped/job_1"],
                      "rows": {"scrape_jobs/1": {"output_directory": "/mnt/storage/imagineer/scraped/job_1"}}},
           "after": {"paths": [], "rows": {"scrape_jobs/1": {"output_directory": ""}}}}
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module
from ansible.module_utils.imgops.purge import PURGE_KINDS, run_purge

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(
    kind={"type": "str", "choices": list(PURGE_KINDS), "default": "all"},
    orphans={"type": "bool"},
    purge_checkpoints={"type": "bool"},
)


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_purge(config, params["kind"], orphans=params["orphans"], purge_checkpoints=params["purge_checkpoints"],
                     dry_run=check_mode)  # fmt: skip


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "purge", run)


if __name__ == "__main__":
    main()
