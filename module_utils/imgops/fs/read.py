"""Reading input files that may be hostile: regular files only, never blocking, never unbounded.

A FIFO where a sidecar should be would block ``open()`` forever, and a device named as a CSV
(``/dev/zero``) would grow memory until the kernel kills the job. So every input file is opened
with ``O_NONBLOCK`` (a FIFO opens at once), checked with ``fstat`` to be a regular file, and read
up to a size cap for its kind. Symlinks are followed: operators link configuration files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ImgopsError, InputError

MiB = 1024 * 1024
# The largest file of each kind imgops reads; documented in docs/security.md.
SIZE_LIMITS: dict[str, int] = {
    "config": 1 * MiB,
    "set config": 4 * MiB,
    "csv": 64 * MiB,
    "sidecar": 1 * MiB,
    "bug report": 16 * MiB,
    "manifest": 256 * MiB,
    "lora index": 16 * MiB,
}

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind_of(mode: int) -> str:
    return next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")


def read_regular(
    path: str | os.PathLike[str],
    what: str,
    *,
    limit: int | None = None,
    error: type[ImgopsError] = InputError,
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` (default: the cap for ``what``).

    Anything else (missing, a FIFO, a device, a directory, too large, unreadable) raises ``error``
    naming the file and what it should have been; the file's content never appears in the message.
    """
    cap = SIZE_LIMITS.get(what, 16 * MiB) if limit is None else limit
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error(f"{what} {path}: file not found", file=str(path)) from None
    except OSError as exc:
        raise error(f"{what} {path}: cannot open: {exc.strerror}", file=str(path)) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise error(f"{what} {path}: is {_kind_of(mode)}, not a regular file", file=str(path))
        chunks: list[bytes] = []
        size = 0
        while size <= cap:
            chunk = os.read(fd, min(1 * MiB, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:
            raise error(f"{what} {path}: larger than the {cap}-byte limit for a {what}", file=str(path), limit=cap)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"{what} {path}: cannot read: {exc.strerror}", file=str(path)) from None
    finally:
        os.close(fd)


def read_regular_text(
    path: str | os.PathLike[str],
    what: str,
    *,
    limit: int | None = None,
    error: type[ImgopsError] = InputError,
) -> str:
    """``read_regular`` decoded as UTF-8 (a BOM is dropped); undecodable bytes are ``error``."""
    data = read_regular(path, what, limit=limit, error=error)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{what} {Path(path)}: not UTF-8 text (byte {exc.start})", file=str(path)) from None
