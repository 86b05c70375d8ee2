#!/usr/bin/python
"""Ansible module imgops_sets: a thin adapter over imgops.sets."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_sets
short_description: Keep one set-template album per set of the server's sets config
description:
  - Validates C(<sets_dir>/config.yaml) and every set's CSV first; any problem fails the task with every
    problem listed (file, set key, row or column) and nothing is written.
  - Adds the set-template columns to an albums table that predates them (Alembic operations, guarded by
    inspection), then creates or updates one album per set, identified by the set key kept in
    C(generation_config). An album with the set's name and no key is adopted, never duplicated.
  - Sets removed from the config are reported; with C(prune=true) their albums become ordinary albums.
    Albums are never deleted.
  - Runs in one transaction under a lock (an advisory lock on PostgreSQL), so racing runs cannot duplicate
    albums. Check mode computes the same plan and rolls it back; diff mode shows the changed fields.
options:
  prune:
    description: Turn albums of removed sets into ordinary albums. Default from C(sets.prune).
    type: bool
  created_by:
    description: C(created_by) of albums this run creates. Default from C(sets.created_by) (C(imgops)).
    type: str
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Import the sets as set-template albums, once for the shared database
  imgops_sets:
    config: /etc/imgops/imgops.yml
  run_once: true
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: sets
changed:
  description: Whether a column was added or an album created, updated or pruned (or would be, in check mode).
  returned: always
  type: bool
  sample: true
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description: Counts of sets, albums created, updated, adopted, unchanged and pruned, removed set keys and
    the columns added.
  returned: always
  type: dict
  sample: {"sets_dir": "/mnt/speedy/imagineer/sets", "sets": 3, "created": 1, "updated": 1, "adopted": 1,
           "unchanged": 1, "removed": [], "pruned": 0, "columns_added": []}
actions:
  description: Each column added (add_column) and album created, updated or pruned.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "update_album", "target": "Card Deck Template",
            "detail": {"set": "card_deck", "album_id": 4, "adopted": false, "columns": ["csv_data"]}}]
errors:
  description: Validation problems, each with the file, set key and row or column; any fails the task.
  returned: always
  type: list
  elements: dict
  sample: [{"message": "placeholder {suit} in prompt_template is not a CSV column (columns: value)",
            "file": "/mnt/speedy/imagineer/sets/card_deck.csv", "set": "card_deck", "column": "suit"}]
notices:
  description: Sets removed from the config whose albums were kept (also shown as Ansible warnings).
  returned: always
  type: list
  elements: dict
  sample: []
diff:
  description: The changed fields of each album before and after (CSV data summarised).
  returned: when something changes
  type: dict
  sample: {"before": {"card_deck": {"name": "Card Deck"}}, "after": {"card_deck": {"name": "Card Deck Template"}}}
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module
from ansible.module_utils.imgops.sets import run_sets

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(prune={"type": "bool"}, created_by={"type": "str"})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_sets(config, prune=params["prune"], created_by=params["created_by"], dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "sets", run)


if __name__ == "__main__":
    main()
