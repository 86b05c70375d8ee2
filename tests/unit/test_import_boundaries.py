"""Who may import whom in the core, read from the source with ``ast`` (docs/architecture.md has the map).

A job package imports shared parts only, never another job; a shared part imports no job; nothing in
the core imports the CLI or Ansible. Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "module_utils" / "imgops"
JOBS = frozenset({"sets", "legacy", "thumbnails", "purge", "reconcile", "bugs", "disk", "db_job"})
ADAPTERS = frozenset({"cli"})


# An arrow the typed-configuration work (issue 13 point 1) removes; delete the entry with the import.
def _module_name(path: Path) -> list[str]:
    parts = ["imgops", *path.relative_to(PACKAGE).with_suffix("").parts]
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every module ``path`` imports, absolute, with its line."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                found.append((node.module or "", node.lineno))
                continue
            base = package[: len(package) - node.level + 1]
            if node.module:
                found.append((".".join([*base, node.module]), node.lineno))
            else:  # ``from . import x``: x may be a submodule
                found += [(".".join([*base, alias.name]), node.lineno) for alias in node.names]
    return found


def _owner(module: str) -> str | None:
    """The core's top-level part a module belongs to (``purge``, ``db``, ``config`` ...), None outside it."""
    parts = module.split(".")
    if parts[0] != "imgops":
        return None
    return parts[1] if len(parts) > 1 else "imgops"


def _edges() -> list[tuple[str, str, str]]:
    """(importing part, imported part, where) for every import between two parts of the core."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _owner(".".join(_module_name(path)))
        for target, line in _imports(path):
            owner = _owner(target)
            if owner is not None and source is not None and owner != source:
                edges.append((source, owner, f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"))
    return edges


def test_the_parser_sees_the_known_arrows() -> None:
    """The checks below mean something only if the parser resolves relative imports as Python does."""
    edges = {(source, target) for source, target, _ in _edges()}
    assert {("purge", "fs"), ("thumbnails", "host"), ("cli", "disk"), ("db_job", "db")} <= edges
    assert ("disk", "fs") in edges and ("legacy", "db") in edges


def test_no_job_imports_another_job() -> None:
    wrong = [where for source, target, where in _edges() if source in JOBS and target in JOBS]
    assert not wrong, "a job imports another job; move the shared part out of the job:\n" + "\n".join(wrong)


def test_shared_parts_import_no_job_and_nothing_imports_the_cli() -> None:
    wrong = [
        where
        for source, target, where in _edges()
        if (source not in JOBS | ADAPTERS and target in JOBS) or (target in ADAPTERS and source not in ADAPTERS)
    ]
    assert not wrong, "a shared part imports a job (or the CLI):\n" + "\n".join(wrong)


def test_the_core_never_imports_ansible() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for target, line in _imports(path)
        if target.split(".")[0] == "ansible"
    ]
    assert not wrong, "\n".join(wrong)
