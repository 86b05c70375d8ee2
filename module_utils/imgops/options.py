"""Checks of job options that both faces share, so the CLI and the modules accept the same values.

argparse and AnsibleModule check types and choices; what they cannot say (a range) is checked here,
by the job's core, and the CLI calls the same check while it parses so a bad value is a usage error
before any configuration is read.
"""

from __future__ import annotations

from .errors import UsageError


def at_least(option: str, value: int | None, minimum: int) -> int | None:
    """``value`` unchanged when it is absent or at least ``minimum``."""
    if value is not None and value < minimum:
        raise UsageError(f"option {option} must be at least {minimum}, got {value}", option=option)
    return value
