"""Atomic file writes: temp file in the same folder, fsync, rename, fsync the folder.

A crash at any point leaves either the old file or the new one, never a mix; any failure
(a full disk included) removes the temporary file. A new file takes the process umask, as
any other program's would (the roles set the umask a host needs); files holding personal
data are written with an explicit ``mode`` (0600).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

TEMP_SUFFIX = ".tmp"
NEW_FILE_MODE = 0o666
"""What a new file is created with before the kernel applies the umask, as ``open()`` does."""
PRIVATE_MODE = 0o600
"""For files holding personal data (submitters' e-mail addresses): the owner only, whatever the umask."""
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def temporary_name(target: Path) -> Path:
    """The temporary a write of ``target`` goes through: ``.<name>.<random>.tmp`` in its folder
    (a leading dot and ``.tmp``: ignored by node_exporter and recognisable as imgops' own leftover)."""
    return target.parent / f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}"


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` with ``data`` atomically.

    ``mode`` given: the file gets exactly that mode. Otherwise an existing file keeps its mode and a
    new one takes the umask (created 0666, the kernel clears the umask's bits; no chmod).
    """
    target = Path(path)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(os.stat(target).st_mode)
    tmp_name = temporary_name(target)
    fd = os.open(tmp_name, _TEMP_FLAGS, NEW_FILE_MODE if mode is None else mode & 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and exc.filename is None:  # write()/fsync() name no file: name the target
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        raise
    fsync_dir(target.parent)


def atomic_create_bytes(path: str | os.PathLike[str], data: bytes, mode: int = 0o644) -> bool:
    """Create ``path`` with ``data`` atomically unless it exists; False (nothing written) when it does.

    The temp file is linked to the name, which fails when another writer (the server, another host)
    created it meanwhile, so an existing file is never replaced. A kill leaves at most a temp file
    named ``.<name>.<random>.tmp``, which ``fs.stale.remove_stale_temporaries`` takes away.
    """
    target = Path(path)
    if os.path.lexists(target):
        return False
    tmp_name = temporary_name(target)
    fd = os.open(tmp_name, _TEMP_FLAGS, mode & 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), mode)
            os.fsync(handle.fileno())
        try:
            os.link(tmp_name, target)
        except FileExistsError:
            return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
    fsync_dir(target.parent)
    return True


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode)


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename or unlink in ``folder`` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
