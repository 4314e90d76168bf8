"""`deploy/prometheus/alerts.yaml`: valid rules, each tested firing and not firing by promtool."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.contract.tools import ROOT, promtool

RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"


def alerts() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def readme_anchors() -> set[str]:
    """The anchors GitHub gives the README's headings."""
    headings = re.findall(r"^#+ (.+)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, check=False,
                          cwd=RULES.parent)


def test_promtool_accepts_the_rules() -> None:
    result = run_promtool("check", "rules", RULES.name)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts())} rules found" in result.stdout


def test_every_alert_fires_and_stays_quiet_as_its_unit_tests_expect() -> None:
    result = run_promtool("test", "rules", RULE_TESTS.name)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_rule_that_no_longer_fires_on_its_condition_fails_the_unit_tests(tmp_path: Path) -> None:
    loosened = RULES.read_text(encoding="utf-8").replace(
        "rakuten_outbox_oldest_age_seconds > 300", "rakuten_outbox_oldest_age_seconds > 3000")
    (tmp_path / "alerts.yaml").write_text(loosened)
    (tmp_path / "alerts.test.yaml").write_text(RULE_TESTS.read_text(encoding="utf-8"))

    result = subprocess.run([promtool(), "test", "rules", "alerts.test.yaml"], capture_output=True,
                            text=True, timeout=120, check=False, cwd=tmp_path)

    assert result.returncode != 0
    assert "RakutenOutboxStuck" in result.stdout + result.stderr


def test_every_alert_has_a_duration_a_severity_and_a_runbook_in_the_readme() -> None:
    anchors = readme_anchors()

    for rule in alerts():
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        page, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert page == "README.md" and anchor in anchors, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], rule["alert"]


def test_every_alert_has_unit_tests_that_fire_it_and_tests_where_it_stays_quiet() -> None:
    checks = [check for test in yaml.safe_load(RULE_TESTS.read_text(encoding="utf-8"))["tests"]
              for check in test["alert_rule_test"]]

    for rule in alerts():
        expected = [check["exp_alerts"] for check in checks if check["alertname"] == rule["alert"]]
        assert any(expected), f"no test fires {rule['alert']}"
        assert any(not alerts_ for alerts_ in expected), f"no test where {rule['alert']} stays quiet"


def test_the_readme_alerts_are_all_in_the_rules() -> None:
    expressions = " ".join(rule["expr"] for rule in alerts())

    for metric in ("rakuten_events_dead_lettered_total", "rakuten_outbox_oldest_age_seconds",
                   "rakuten_order_poll_lag_max_seconds", "rakuten_quota_hits_total", "rakuten_integrations",
                   "rakuten_scheduler_last_tick_timestamp_seconds", "dramatiq_message_errors_total"):
        assert metric in expressions
