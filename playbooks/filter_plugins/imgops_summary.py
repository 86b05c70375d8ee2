"""Filters that turn imgops job results into the run summary, rendered by imgops' own presentation layer.

The controller imports the ``imgops`` package installed in its Python (``make venv`` installs it), so
the playbook and the ``imgops`` command show a result through one renderer.
"""

from __future__ import annotations

from typing import Any

from imgops.presentation.fleet import fleet_lines, fleet_report, summary_lines


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "imgops_summary_lines": summary_lines,
            "imgops_fleet_report": fleet_report,
            "imgops_fleet_lines": fleet_lines,
        }
