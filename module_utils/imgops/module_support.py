"""What every Ansible module adapter shares, kept free of Ansible imports.

``COMMON_ARGUMENT_SPEC`` is merged into each module's argument_spec;
``config_from_params`` turns it into a Config; ``finish`` ends the module
with the job's result (``exit_json``) or its errors (``fail_json``).
"""

from __future__ import annotations

import os
from typing import Any

from .config import ENV_DATABASE_URL, Config, load_config
from .result import JobResult

COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "config": {"type": "path", "default": "/etc/imgops/imgops.yml"},
    "database_url": {"type": "str", "no_log": True},
}


def config_from_params(params: dict[str, Any]) -> Config:
    environ = None
    if params.get("database_url"):
        environ = {**os.environ, ENV_DATABASE_URL: params["database_url"]}
    return load_config(params["config"], environ=environ)


def finish(module: Any, result: JobResult) -> None:
    """Exit the AnsibleModule ``module`` with ``result``; a result with errors fails the task."""
    data = result.to_dict()
    for notice in result.notices:
        module.warn(notice["message"])
    if result.failed:
        module.fail_json(msg="; ".join(e["message"] for e in result.errors), **data)
    module.exit_json(**data)
