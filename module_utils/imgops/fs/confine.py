"""Confinement: a path is accepted only when it lies strictly inside an allowed root."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import SafetyError


@dataclass(frozen=True)
class ConfinedPath:
    """A path proven to lie strictly inside ``root`` with no symlink on the way.

    ``root`` is the root's real path; ``relative`` has no ``..`` and at least
    one component, so the root itself can never be a target.
    """

    root: Path
    relative: PurePosixPath

    @property
    def path(self) -> Path:
        return self.root / self.relative


def confine(
    candidate: str | os.PathLike[str], root: str | os.PathLike[str], *, allow_missing: bool = False
) -> ConfinedPath:
    """Check ``candidate`` (absolute, or relative to ``root``) against ``root``.

    Refuses, with a SafetyError naming both paths: the root itself, a path
    outside it (also via ``..``), and any symlink on the way, the last
    component included. A missing target is refused unless ``allow_missing``.
    """
    text = os.fspath(candidate)
    if not text or "\x00" in text:
        raise SafetyError(f"refused empty or NUL-containing path {text!r}", path=text, reason="invalid")
    root_given = Path(os.path.abspath(os.fspath(root)))
    try:
        root_real = Path(os.path.realpath(root_given, strict=True))
    except OSError as exc:
        raise SafetyError(
            f"root {root_given} is not usable: {exc.strerror}", path=text, reason="root_missing"
        ) from None
    if not stat.S_ISDIR(os.stat(root_real).st_mode):
        raise SafetyError(f"root {root_given} is not a directory", path=text, reason="root_missing")
    absolute = Path(os.path.normpath(os.path.join(root_given, text)))
    relative = _relative_to_any(absolute, (root_given, root_real))
    if relative is None:
        raise SafetyError(f"refused {text}: outside the allowed root {root_given}", path=text, reason="outside_root")
    if relative == PurePosixPath("."):
        raise SafetyError(f"refused {text}: it is the root {root_given} itself", path=text, reason="is_root")
    _refuse_symlinks(root_real, relative, text, allow_missing)
    return ConfinedPath(root_real, relative)


def _relative_to_any(path: Path, roots: tuple[Path, ...]) -> PurePosixPath | None:
    for root in roots:
        try:
            return PurePosixPath(path.relative_to(root))
        except ValueError:
            continue
    return None


def _refuse_symlinks(root: Path, relative: PurePosixPath, text: str, allow_missing: bool) -> None:
    current = root
    for part in relative.parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            if allow_missing:
                return
            raise SafetyError(f"refused {text}: {current} does not exist", path=text, reason="missing") from None
        if stat.S_ISLNK(mode):
            raise SafetyError(
                f"refused {text}: {current} is a symlink (-> {os.readlink(current)}); symlinks are never followed",
                path=text,
                reason="symlink",
            )
