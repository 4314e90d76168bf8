"""Reading `deploy/grafana/rakuten-worker.json`: its PromQL expressions and the metrics they name."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.contract.tools import ROOT

DASHBOARD = ROOT / "deploy" / "grafana" / "rakuten-worker.json"
#: PromQL words that are not metric names (functions are told apart by their "(").
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool",
            "and", "or", "unless", "inf", "nan"}


def load() -> dict[str, Any]:
    """Return the dashboard's JSON model."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def expressions(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression: the panels' targets and the template variables' queries."""
    found = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            found.append(query["query"])
    return found


def metric_names(expression: str) -> set[str]:
    """The metric names an expression reads (a Grafana `label_values(metric, label)` names one too)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression)  # label values, legend text
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        name, is_call = match.group(1), match.group(2)
        if not is_call and name.lower() not in KEYWORDS:
            names.add(name)
    return names
