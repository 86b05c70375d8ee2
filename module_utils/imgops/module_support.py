"""What every Ansible module adapter shares, kept free of Ansible imports.

A module builds its ``AnsibleModule`` from ``job_argument_spec(...)`` (the
common options merged with its own) and hands it to ``run_job_module`` with a
function that calls the job's core. Everything else is here, once: the
configuration from the parameters, check mode as the core's dry run, an
ImgopsError as a failed task that still returns the result envelope, notices
as Ansible warnings, and the result as ``exit_json`` or ``fail_json``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from .config import ENV_DATABASE_URL, Config, load_config
from .errors import ImgopsError, from_os_error
from .result import JobResult

COMMON_ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "config": {"type": "path", "default": "/etc/imgops/imgops.yml"},
    "database_url": {"type": "str", "no_log": True},
}

RunJob = Callable[[Config, dict[str, Any], bool], JobResult]
"""Calls a job's core with the configuration, the module parameters and the check mode flag."""


class ModuleLike(Protocol):
    """The part of ``AnsibleModule`` the adapters use."""

    params: dict[str, Any]
    check_mode: bool

    def warn(self, warning: str) -> None: ...

    def exit_json(self, **kwargs: Any) -> None: ...

    def fail_json(self, msg: str, **kwargs: Any) -> None: ...


def job_argument_spec(**options: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The common options merged with a job's own; a job cannot silently redefine a common one."""
    clash = set(options) & set(COMMON_ARGUMENT_SPEC)
    if clash:
        raise ValueError(f"options {sorted(clash)} are common to every imgops module")
    return {**COMMON_ARGUMENT_SPEC, **options}


def config_from_params(params: dict[str, Any]) -> Config:
    environ = None
    if params.get("database_url"):
        environ = {**os.environ, ENV_DATABASE_URL: params["database_url"]}
    return load_config(params["config"], environ=environ)


def run_job_module(module: ModuleLike, job: str, run: RunJob) -> None:
    """Run ``job`` through ``run`` and end ``module`` with its result; never returns."""
    try:
        result = run(config_from_params(module.params), module.params, module.check_mode)
    except (ImgopsError, OSError) as caught:
        exc = caught if isinstance(caught, ImgopsError) else from_os_error(caught)
        result = JobResult.from_error(job, exc.message, exc.details, dry_run=module.check_mode)
    finish(module, result)


def finish(module: ModuleLike, result: JobResult) -> None:
    """Exit ``module`` with ``result``; a result with errors fails the task with the same envelope."""
    output = result.to_output()
    for notice in output["notices"]:
        module.warn(notice["message"])
    if result.failed:
        module.fail_json(**output)
    module.exit_json(**output)


def deprecated_alias(module: ModuleLike, old: str, new: str) -> None:
    """Warn that the module was called by the name it had before the jobs got one name each."""
    # module.warn, not module.deprecate: Ansible words a deprecation as a feature of ansible-core
    module.warn(f"the module {old} is deprecated: it is renamed {new}, and the old name goes in imgops 0.2.0")
