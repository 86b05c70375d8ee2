"""The alert rules and the dashboard: promtool checks and unit tests, valid dashboard JSON, known metrics only.

Every PromQL query in ``monitoring/`` may name only the metrics imgops writes (``monitoring/metrics.txt``)
and node_exporter's ``node_filesystem_*`` metrics, so a renamed metric cannot leave an alert silent.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RULES = MONITORING / "prometheus" / "imgops.rules.yml"
DASHBOARD = MONITORING / "grafana" / "imgops.json"
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}


def catalogue() -> dict[str, set[str]]:
    """The metrics imgops writes, each with its labels."""
    metrics = {}
    for line in (MONITORING / "metrics.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, labels = line.partition("{")
            metrics[name] = set(filter(None, labels.rstrip("}").split(",")))
    return metrics


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords and label names left out)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)  # strings
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)  # label matchers, ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"\$\w+", " ", text)  # Grafana variables
    names = set()
    for match in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        if not match.group(2) and match.group(1) not in KEYWORDS:
            names.add(match.group(1))
    return names


def rule_exprs() -> list[str]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_exprs(dashboard: dict) -> list[str]:
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if variable["type"] == "query":
            exprs.append(re.sub(r"^label_values\(([^,]+),.*\)$", r"\1", query["query"]))
    return exprs


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["promtool", *args], cwd=MONITORING, capture_output=True, text=True, check=False)


def test_the_rules_pass_promtool_check_and_their_unit_tests() -> None:
    check = promtool("check", "rules", str(RULES))
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    tests = sorted(str(p) for p in (MONITORING / "prometheus" / "tests").glob("*.yml"))
    assert tests
    run = promtool("test", "rules", *tests)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_alert_has_a_summary_a_severity_and_a_runbook_section() -> None:
    operations = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in re.findall(r"^#+ (.+)$", operations, re.M)
    }
    alerts = [rule for group in yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"] for rule in group["rules"]]
    assert {"ImgopsVolumeCritical", "ImgopsVolumeFillingUp", "ImgopsJobNotSucceeded", "ImgopsJobFailing",
            "ImgopsDiskCheckStale", "ImgopsThumbnailQueueStuck", "ImgopsReconcileFindingsGrowing"} <= {
        rule["alert"] for rule in alerts}  # fmt: skip
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "docs/operations.md" and anchor in anchors, rule["alert"]


def test_queries_name_only_metrics_imgops_or_node_exporter_write() -> None:
    known = set(catalogue())
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used: set[str] = set()
    for expr in rule_exprs() + dashboard_exprs(dashboard):
        names = metric_names(expr)
        assert names, expr
        unknown = {name for name in names if name not in known and not name.startswith("node_filesystem_")}
        assert not unknown, f"{expr}: {unknown}"
        used |= names
    # The dashboard shows every metric imgops writes except the job-specific ones the rules cover.
    assert known - used == set(), known - used


def test_the_metric_name_reader_finds_names_and_nothing_else() -> None:
    expr = 'sum by (job) (rate(foo_bytes{a="b or c"}[5m])) / on (x) group_left bar_seconds offset 1h > 2 * 86400'
    assert metric_names(expr) == {"foo_bytes", "bar_seconds"}
    assert metric_names('time() - imgops_job_failed{instance=~"$instance"}') == {"imgops_job_failed"}


def test_every_dashboard_query_parses_as_promql(tmp_path: Path) -> None:
    exprs = dashboard_exprs(json.loads(DASHBOARD.read_text(encoding="utf-8")))
    rules = [{"record": f"dashboard:query_{i}", "expr": e.replace("$instance", ".*")} for i, e in enumerate(exprs)]
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]}))
    run = promtool("check", "rules", str(tmp_path / "dashboard.rules.yml"))
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_catalogue_passes_promtool_check_metrics() -> None:
    lines = []
    for name, labels in catalogue().items():
        lines += [f"# HELP {name} {name}.", f"# TYPE {name} gauge"]
        label_text = ",".join(f'{label}="x"' for label in sorted(labels))
        lines.append(f"{name}{{{label_text}}} 1" if labels else f"{name} 1")
    run = subprocess.run(
        ["promtool", "check", "metrics"], input="\n".join(lines) + "\n", capture_output=True, text=True
    )
    assert run.returncode == 0 and run.stdout + run.stderr == "", run.stdout + run.stderr


def test_the_dashboard_is_grafana_dashboard_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] and dashboard["title"] and dashboard["time"] == {"from": "now-7d", "to": "now"}
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in "hwxy") and grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["type"] in {"row", "timeseries", "stat", "table"}, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
    titles = " ".join(panel["title"] for panel in dashboard["panels"]).lower()
    for subject in ("threshold", "forecast", "since last success", "duration", "thumbnail queue", "bytes freed"):
        assert subject in titles, subject


@pytest.mark.parametrize("alert", ["ImgopsVolumeCritical", "ImgopsJobFailing"])
def test_a_broken_rule_fails_its_unit_test(alert: str, tmp_path: Path) -> None:
    """The unit tests can fail: with an alert's condition never true, promtool test rules reports it."""
    rules = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            if rule.get("alert") == alert:
                rule["expr"] = f"({rule['expr']}) and on () vector(0) > 1"
    (tmp_path / "prometheus" / "tests").mkdir(parents=True)
    (tmp_path / "prometheus" / "imgops.rules.yml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    test = tmp_path / "prometheus" / "tests" / "imgops.rules.test.yml"
    test.write_text((MONITORING / "prometheus" / "tests" / "imgops.rules.test.yml").read_text(encoding="utf-8"))
    run = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True, text=True, check=False)
    assert run.returncode != 0 and alert in run.stdout + run.stderr
