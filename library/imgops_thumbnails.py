#!/usr/bin/python
"""Ansible module imgops_thumbnails: a thin adapter over imgops.thumbnails."""

from __future__ import annotations

DOCUMENTATION = r"""
module: imgops_thumbnails
short_description: Render queued thumbnails of imported images
description:
  - Works the C(thumbnail) jobs of C(imgops_queue) with Pillow in worker processes and writes the server's
    own thumbnail, C(<outputs_dir>/thumbnails/<image id>.webp) fitted into 300x300 (WEBP quality 85),
    atomically, then sets C(images.thumbnail_path) to the server's relative C(thumbnails/<id>.webp).
  - A thumbnail file that exists (the server's or an earlier run's) is never replaced; the row is pointed at it.
  - A failed job keeps its error in C(last_error) and is retried up to C(thumbnails.max_attempts).
  - Check mode counts the pending jobs and writes nothing.
options:
  limit:
    description: Render at most this many thumbnails (at least 1, as the CLI requires); all pending ones when omitted.
    type: int
extends_documentation_fragment: [imgops_common]
author: imgops developers
"""

EXAMPLES = r"""
- name: Render the thumbnails the legacy import queued
  imgops_thumbnails:
    config: /etc/imgops/imgops.yml
    limit: 500
"""

RETURN = r"""
job:
  description: The job name.
  returned: always
  type: str
  sample: thumbnails
changed:
  description: Whether any thumbnail was written or failure recorded (or would be, in check mode).
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
    The thumbnails folder and size (the server's, 300), thumbnails written, thumbnails that already existed,
    jobs failed for good, jobs to retry, jobs still pending.
  returned: always
  type: dict
  sample: {"thumbnails_dir": "/srv/outputs/thumbnails", "size": 300, "written": 48, "existing": 0, "failed": 0,
           "retrying": 0, "pending": 0}
actions:
  description: Thumbnails written (count) and failures recorded.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "write_thumbnails", "target": "/srv/outputs/thumbnails", "detail": {"count": 48}}]
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
from ansible.module_utils.imgops.thumbnails import run_thumbnails

if TYPE_CHECKING:
    from ansible.module_utils.imgops.config import Config
    from ansible.module_utils.imgops.result import JobResult

ARGUMENT_SPEC = job_argument_spec(limit={"type": "int"})


def run(config: Config, params: dict[str, Any], check_mode: bool) -> JobResult:
    return run_thumbnails(config, limit=params["limit"], dry_run=check_mode)


def main() -> None:
    run_job_module(AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True), "thumbnails", run)


if __name__ == "__main__":
    main()
