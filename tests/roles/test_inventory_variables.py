"""Every variable an inventory sets is read by a role or a playbook (a variable nothing reads is a silent lie)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
CONSUMERS = [ROOT / "maintenance.yml", *(ROOT / "playbooks").rglob("*.yml"), *(ROOT / "roles").rglob("*")]
CONSUMER_SUFFIXES = {".yml", ".j2", ".py"}


def _host_variables(groups: dict) -> set[str]:
    """Variables set in hosts.yml: each group's ``vars`` and each host's own, through child groups."""
    found: set[str] = set()
    for group in groups.values():
        group = group or {}
        found.update(group.get("vars") or {})
        for host_vars in (group.get("hosts") or {}).values():
            found.update(host_vars or {})
        found.update(_host_variables(group.get("children") or {}))
    return found


def inventory_variables() -> dict[str, set[str]]:
    """Every variable name set by any inventory, with the files that set it."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "inventories").rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for name in _host_variables(data) if path.name == "hosts.yml" else data:
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def reads(name: str, text: str) -> bool:
    """Whether ``text`` uses ``name`` other than by defining it as a YAML key at the start of a line."""
    for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)", text):
        line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
        if not re.match(rf"\s*(- )?{re.escape(name)}\s*:", line):
            return True
    return False


def test_every_inventory_variable_has_a_consumer() -> None:
    texts = [p.read_text(encoding="utf-8") for p in CONSUMERS if p.is_file() and p.suffix in CONSUMER_SUFFIXES]
    variables = inventory_variables()
    assert {"imgops_retention", "imgops_dry_run", "imgops_timer_overrides", "imgops_disk_targets"} <= set(variables)
    unread = {
        name: sorted(files)
        for name, files in variables.items()
        if not name.startswith("ansible_")  # Ansible's own connection variables
        and not any(reads(name, text) for text in texts)
    }
    assert unread == {}, f"inventory variables nothing reads: {unread}"


def test_a_definition_alone_does_not_count_as_reading() -> None:
    assert not reads("imgops_retention", "imgops_retention:\n  scrape_days: 14\n")
    assert reads("imgops_retention", 'imgops_runtime_retention: "{{ imgops_retention | default({}) }}"\n')
    assert not reads("imgops_retention", "my_imgops_retention_days: 3\n")


def test_dry_run_reaches_every_mutating_play() -> None:
    """Every job task but the disk check (which changes nothing on the platform) honours imgops_dry_run."""
    jobs = {}
    for path in sorted((ROOT / "playbooks" / "jobs").glob("*.yml")):
        for play in yaml.safe_load(path.read_text(encoding="utf-8")):
            for task in play["tasks"]:
                module = next((key for key in task if key.startswith("imgops_")), None)
                if module:
                    jobs[path.stem] = str(task.get("check_mode", ""))
    assert set(jobs) >= {"db", "sets", "bugs", "purge", "disk", "legacy", "thumbnails"}
    unread = [job for job, check_mode in jobs.items() if job != "disk" and "imgops_dry_run" not in check_mode]
    assert unread == []
