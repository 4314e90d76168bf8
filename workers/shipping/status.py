"""The shipments part of `rakuten-worker status`: items not told to Rakuten yet, oldest first.

An item waiting for Rakuten's acceptance is told within an order poll of it; one
with failed attempts is retried with a growing delay. Both end by the shipment's
hold (`RAKUTEN_SHIPMENT_HOLD_S`), so an old line here is a shipment stuck until then.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg

from db import shipment_reports

LISTED = 20  #: open items listed (the counts cover all of them)


def shipments_report(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """The open shipment items: counts per integration and the oldest ones."""
    counts = shipment_reports.open_counts(conn)
    return {
        "open_by_integration": {
            integration_id: {"waiting_for_acceptance": waiting, "to_tell_rakuten": due}
            for integration_id, (waiting, due) in sorted(counts.items())
        },
        "oldest_open": [dataclasses.asdict(step) for step in shipment_reports.open_steps(conn, limit=LISTED)],
    }


def print_shipments(report: dict[str, Any], *, when: Callable[[datetime | None], str]) -> None:
    """Print the report of `shipments_report` for people; `when` formats a time."""
    counts = report["open_by_integration"]
    waiting = sum(c["waiting_for_acceptance"] for c in counts.values())
    due = sum(c["to_tell_rakuten"] for c in counts.values())
    print(f"shipments: {waiting} item(s) waiting for acceptance on Rakuten, {due} to tell Rakuten")
    for step in report["oldest_open"]:
        state = ("waiting for acceptance" if step["state"] == "waiting"
                 else f"to tell Rakuten ({step['via']})")
        tried = f", {step['attempts']} attempt(s), last: {step['last_error']}" if step["attempts"] else ""
        next_try = f", next try {when(step['next_try_at'])}" if step["next_try_at"] else ""
        print(f"  {step['integration_id']} order {step['order_id']} item {step['item_id']} "
              f"({step['item_status']}): {state} since {when(step['received_at'])}{tried}{next_try}, "
              f"gives up {when(step['hold_until'])}")
