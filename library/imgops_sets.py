#!/usr/bin/python
"""Ansible module imgops_sets: a thin adapter over imgops.sets."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_sets
short_description: Keep one server set template per set of the server's sets config
description:
  - Validates C(<sets_dir>/config.yaml) and every set's CSV first; any problem fails the task with every
    problem listed (file, set key, row or column) and nothing is written. Templates may use plain
    C({column}) placeholders only; a C(csv_path) outside the sets folder is refused unread unless
    C(sets.allow_csv_outside) is set.
  - Where the database has C(batch_templates) (current server code, or the server's separation script), each
    set becomes a batch template, identified by its set key in imgops' table C(imgops_batch_templates); a
    template with the set's name is adopted, and a second template of one name is never made. Albums are
    never touched there.
  - Otherwise (the seed generation) each set becomes a set-template album, identified by the set key kept in
    C(generation_config), which is merged, never replaced; the set-template columns are added to an albums
    table that predates them. An album with the set's name (such as one of the server's C(sets_to_albums_v1)
    migration) is adopted, never duplicated.
  - Sets removed from the config are reported; with C(prune=true) their albums become ordinary albums and
    their batch templates are deleted unless generation runs refer to them.
  - Runs in one transaction under a lock (an advisory lock on PostgreSQL), so racing runs cannot duplicate
    templates. Check mode computes the same plan and rolls it back; diff mode shows the changed fields.
options:
  prune:
    description: Retire the templates of removed sets (albums become ordinary albums, batch templates are deleted
      unless generation runs refer to them). Default from C(sets.prune).
    type: bool
  created_by:
    description: C(created_by) of templates this run creates, unless a set gives its own. Default from
      C(sets.created_by) (C(imgops)).
    type: str
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Import the sets as the server's set templates, once for the shared database
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
  description: Whether a column was added or a template created, updated or pruned (or would be, in check mode).
  returned: always
  type: bool
  sample: true
dry_run:
  description: True in check mode.
  returned: always
  type: bool
  sample: false
summary:
  description: Where the templates live (target) on this generation, counts of sets, templates created, updated,
    adopted, unchanged and pruned, removed set keys, the columns added, and whether the server's own sets
    migration had run.
  returned: always
  type: dict
  sample: {"sets_dir": "/mnt/speedy/imagineer/sets", "target": "batch_templates", "generation": "current",
           "sets": 3, "created": 1, "updated": 1, "adopted": 1, "unchanged": 1, "removed": [], "pruned": 0,
           "columns_added": [], "server_migration": false}
actions:
  description: Each column added (add_column) and album or batch template created, updated or pruned
    (create_album, update_album, prune_album, create_template, update_template, prune_template).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "update_template", "target": "Card Deck Template",
            "detail": {"set": "card_deck", "template_id": 4, "adopted": false, "columns": ["csv_data"]}}]
errors:
  description: Validation problems and name conflicts, each with the file, set key and row or column; any fails
    the task.
  returned: always
  type: list
  elements: dict
  sample: [{"message": "placeholder {suit} in prompt_template is not a CSV column (columns: value)",
            "file": "/mnt/speedy/imagineer/sets/card_deck.csv", "set": "card_deck", "column": "suit"}]
notices:
  description: Sets removed from the config whose templates were kept (also shown as Ansible warnings).
  returned: always
  type: list
  elements: dict
  sample: []
diff:
  description: The changed fields of each template before and after (CSV data summarised).
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
