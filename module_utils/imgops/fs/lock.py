"""One flock lock file per job under ``state_dir/locks`` so a timer and a manual run never overlap."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import LockHeldError

POLL_SECONDS = 0.1


@contextmanager
def job_lock(state_dir: Path, job: str, timeout: float) -> Iterator[Path]:
    """Hold the lock for ``job``, waiting at most ``timeout`` seconds for another holder."""
    lock_dir = state_dir / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock_path = lock_dir / f"{job}.lock"
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
                    raise LockHeldError(
                        f"job '{job}' is already running (lock {lock_path} held by pid {holder}); "
                        f"gave up after {timeout:g}s",
                        lock=str(lock_path),
                    ) from None
                time.sleep(POLL_SECONDS)
        with contextlib.suppress(
            OSError
        ):  # the pid only helps a waiting run's message; a full disk must not stop the job
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield lock_path
    finally:
        os.close(fd)  # closing the descriptor releases the flock
