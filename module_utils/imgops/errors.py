"""One exception type per kind of failure, each with the exit code the CLI uses."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from .masking import mask

_P = ParamSpec("_P")
_R = TypeVar("_R")

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


class UsageError(ImgopsError):
    """An option given to the CLI or to a module is out of range; both faces get it from one check."""

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


def from_os_error(exc: OSError) -> ImgopsError:
    """A failed file operation no job handled itself (a full disk, a read-only filesystem, a folder it
    may not write) as one clear job error naming the path, for the CLI and the modules alike."""
    where = " -> ".join(str(name) for name in (exc.filename, exc.filename2) if name is not None)
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = "; free space there and run again" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    message = f"{reason}: {where}{hint}" if where else f"{reason}{hint}"
    return ImgopsError(message, path=where or None, errno=errno.errorcode.get(exc.errno or 0))


def reports_database_errors(job: Callable[_P, _R]) -> Callable[_P, _R]:
    """A job whose database fails mid-way (a lock timeout, a column the server's schema lacks) raises
    a DatabaseError with the driver's one-line reason, for the CLI and the modules alike; the reason
    is masked, as a driver may quote the connection string with its credentials."""

    @functools.wraps(job)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return job(*args, **kwargs)
        except Exception as exc:
            from sqlalchemy.exc import SQLAlchemyError  # loaded already by any job that reached the database

            if not isinstance(exc, SQLAlchemyError):
                raise
            reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[0]
            raise DatabaseError(f"database error: {mask(reason)}", error=type(exc).__name__) from exc

    return run
