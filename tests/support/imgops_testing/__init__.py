"""Fixtures shared by the tests, the benchmarks and `make demo`; installed editable, never shipped.

- ``imgops_testing.platform``: builds a small, faithful copy of the platform (``build_platform``);
  ``python -m imgops_testing.platform demo`` (re)builds the demo.
- ``imgops_testing.pg_server``: a throwaway PostgreSQL server (imports psycopg: load it only where
  PostgreSQL is used, so unit tests run without it).
- ``imgops_testing.fleet``: several inventory hosts on this machine and helpers to read playbook output.
- ``imgops_testing.systemd_host``: real systemd hosts (systemd-nspawn) for the role tests and the fleet test;
  ``python -m imgops_testing.systemd_host up|down`` is molecule's create and destroy step.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
"""The checkout this package is installed from (editable), where the playbooks and ansible.cfg are."""
