#!/usr/bin/python
"""Ansible module imgops_legacy: a thin adapter over imgops.legacy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_legacy
short_description: Import the platform's legacy images into the database
description:
  - Collects images from C(outputs_dir) (root singles, card/tarot deck, zodiac and LoRA test batches) and
    C(reference_packs_dir), with their JSON sidecars.
  - Stages them under C(legacy_root) (hardlink by default, copy or symlink), writes a C(manifest.yaml) per
    staged folder, finds or creates albums by the server importer's taxonomy (C(legacy_slug), then name and
    type) and ingests C(images), C(album_images) and C(labels) rows; thumbnails are queued in C(imgops_queue).
  - Rows the server's own importers wrote (C(import_legacy_media.py), C(index_images.py)) are adopted. Found
    by C(filename) or normalised C(file_path), they are linked and labelled, NULL columns filled, never doubled.
  - The same bytes in two folders become one image linked to both albums. Unchanged files are not
    re-hashed (size, mtime and inode quick check against C(imgops_assets)).
  - Check mode computes the full plan and writes nothing.
options:
  mode:
    description: How files are staged; defaults to C(legacy.stage_mode) of the configuration.
    type: str
    choices: [hardlink, copy, symlink]
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Import legacy images on every host
  imgops_legacy:
    config: /etc/imgops/imgops.yml

- name: Stage by copy where hardlinks are not wanted
  imgops_legacy:
    config: /etc/imgops/imgops.yml
    mode: copy
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: legacy
changed:
  description: Whether any action was taken (or would be, in check mode).
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
    Counts: discovered, unchanged, staged, ingested, duplicates, adopted, orphans, skipped (with skipped_reasons),
    sidecar_problems, albums_created (names in new_albums), labels_added, thumbnails_queued, manifests_written,
    temporaries_removed; and the host, legacy_root and mode.
  returned: always
  type: dict
  sample: {"host": "gpu-01", "legacy_root": "/srv/imagineer/data/legacy", "mode": "hardlink", "discovered": 49,
           "unchanged": 0, "staged": 49, "ingested": 48, "duplicates": 1, "adopted": 0, "orphans": 3,
           "skipped": 0, "skipped_reasons": {}, "sidecar_problems": 1, "albums_created": 13,
           "new_albums": ["Card Deck 20251013 204136"], "labels_added": 145, "thumbnails_queued": 48,
           "manifests_written": 15, "temporaries_removed": 0}
actions:
  description: >-
    Albums created, folders staged, images ingested and adopted per album, labels, thumbnails queued, manifests
    written, temporaries of a killed run removed.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "create_album", "target": "Zodiac 20251101 090000", "detail": {}}]
errors:
  description: Problems that failed the job (a staged file that exists with other content).
  returned: always
  type: list
  elements: dict
  sample: []
notices:
  description: Orphan sidecars, skipped files and sidecar problems (also shown as Ansible warnings).
  returned: always
  type: list
  elements: dict
  sample: [{"message": "orphan sidecar /outputs/tarot_deck_20251021_111111/card_00.json: no image beside it"}]
"""

from typing import TYPE_CHECKING, Any

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.imgops.fs import PLACE_MODES
from ansible.module_utils.imgops.legacy import run_legacy_import
from ansible.module_utils.imgops.module_support import job_argument_spec, run_job_module

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(mode={"type": "str", "choices": list(PLACE_MODES)})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_legacy_import(config, mode=params["mode"], dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "legacy", run)


if __name__ == "__main__":
    main()
