"""One exception type per kind of failure, each with the exit code the CLI uses."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75  # EX_TEMPFAIL from sysexits.h: another run holds the lock, try later


class ImgopsError(Exception):
    """Base class: a failure a person can act on, with the message saying how."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class ConfigError(ImgopsError):
    """The configuration file is missing, malformed, or lacks a key a job needs."""

    exit_code = EXIT_USAGE


class InputError(ImgopsError):
    """Input data (YAML, CSV, JSON, a row) is invalid; nothing was written."""


class SafetyError(ImgopsError):
    """A file operation was refused because it would leave the allowed roots."""


class LockHeldError(ImgopsError):
    """Another run of the same job holds its lock."""

    exit_code = EXIT_LOCKED


class DatabaseError(ImgopsError):
    """The database is unreachable or its schema is not what imgops expects."""
