"""One renderer: the CLI and the playbook's summary filter show a result with the same words."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from imgops.presentation import fleet, headline, render_result, summary_line
from imgops.result import JobResult

ROOT = Path(__file__).resolve().parents[2]


def filters() -> dict:
    spec = importlib.util.spec_from_file_location("imgops_summary", ROOT / "playbooks/filter_plugins/imgops_summary.py")
    assert spec and spec.loader
    plugin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(plugin)
    return plugin.FilterModule().filters()


def purge_result(dry_run: bool = False) -> JobResult:
    result = JobResult(job="purge", dry_run=dry_run, summary={"bytes_freed": 4096, "kinds": ["scrape"], "fs": [{}]})
    result.act("remove", "/srv/scraped/job_1", bytes=4096)
    return result


def test_the_filter_plugin_is_the_presentation_layer() -> None:
    assert filters() == {"imgops_summary_lines": fleet.summary_lines, "imgops_fleet_report": fleet.fleet_report,
                         "imgops_fleet_lines": fleet.fleet_lines}  # fmt: skip


def test_the_terminal_and_the_playbook_share_the_headline() -> None:
    output = purge_result(dry_run=True).to_output()
    assert render_result(output).splitlines()[0] == "imgops purge: changed (dry run: nothing written)"
    assert summary_line("purge", output) == (
        "purge: changed (dry run: nothing written), 1 action(s); bytes_freed=4096 kinds=scrape"
    )
    assert "  would remove /srv/scraped/job_1 bytes=4096" in render_result(output)
    assert "  fs: [{}]" in render_result(output)  # nested figures in full on the terminal only


def test_a_failure_reads_the_same_from_the_cli_and_from_a_module() -> None:
    failed = JobResult.from_error("db", "cannot connect", {"error": "OperationalError"}).to_output()
    assert headline(failed) == "FAILED: cannot connect"
    assert summary_line("db", failed) == "db: FAILED: cannot connect"
    assert render_result(failed).splitlines() == ["imgops db: FAILED: cannot connect",
                                                  "error: cannot connect (error=OperationalError)"]  # fmt: skip
    assert fleet.summary_lines({"db": failed, "sets": {"skipped": True}}) == ["db: FAILED: cannot connect"]


FORGED = "job_1\x1b[2J\x1b[32m\r\nimgops purge: ok\u202e\x9b"


def test_control_characters_cannot_forge_lines_in_any_text_view() -> None:
    result = JobResult(job="purge", summary={"note": FORGED, "paths": [FORGED]})
    result.act("remove", f"/srv/scraped/{FORGED}", reason=FORGED)
    result.notice(f"skipped {FORGED}", path=FORGED)
    result.error(f"cannot remove {FORGED}", row=FORGED)
    output = result.to_output()
    views = [render_result(output), summary_line("purge", output), headline(output)]
    views.append("\n".join(fleet.fleet_lines(fleet.fleet_report({FORGED: {}}, [FORGED], [FORGED], "now"))))
    for view in views:
        assert not any(c in view for c in "\x1b\r\x9b\u202e"), view
        assert "imgops purge: ok" not in view.splitlines()
    rendered = render_result(output)
    assert len(rendered.splitlines()) == 1 + 1 + 1 + 2 + 2  # headline, action, summary:, 2 figures, notice, error
    assert "job_1\\x1b[2J\\x1b[32m\\r\\nimgops purge: ok\\u202e\\x9b" in rendered
    assert output["actions"][0]["target"] == f"/srv/scraped/{FORGED}"  # JSON keeps the value as it is
