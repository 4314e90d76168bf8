"""The operator commands: `status`, `reverify`, `poll`, `resync-stock`, `replay-dead-letters`.

The commands that make work due only move a due time in PostgreSQL: a running
scheduler claims it on its next tick, so they need no broker and never race a
worker. Each returns the process exit code: 0 done, 1 refused or failed (with a
message on stderr saying why).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg

from db import integrations, outbox
from db import runbook as queries
from db.integrations import Integration
from events.dead_letters import queue_depths, replay_dead_letters
from events.errors import PublishFailed
from events.ingress import CONNECTION_ERRORS
from workers.boot import open_database
from workers.settings import Settings
from workers.shipping.status import print_shipments, shipments_report
from workers.tasks import QUEUES

Command = Callable[[Settings, argparse.Namespace], int]
#: suffix of the queue where Dramatiq keeps messages whose retries ran out
DRAMATIQ_DEAD_SUFFIX = ".XQ"


@contextmanager
def _database(settings: Settings) -> Iterator[psycopg.Connection[Any]]:
    pool = open_database(settings, max_size=1, name="rakuten-runbook")
    try:
        with pool.connection() as conn:
            yield conn
    finally:
        pool.close()


def _fail(message: str) -> int:
    print(f"rakuten-worker: {message}", file=sys.stderr)
    return 1


def status(settings: Settings, args: argparse.Namespace) -> int:
    """Print the integrations, open shipments, the outbox backlog and the queue depths (`--json`)."""
    with _database(settings) as conn:
        rows = queries.integration_statuses(conn)
        by_status = integrations.count_by_status(conn)
        backlog, oldest = outbox.backlog(conn)
        shipping = shipments_report(conn)
    broker = settings.broker
    names = [broker.events_queue, broker.dead_letter_queue]
    names += [name + suffix for name in QUEUES for suffix in ("", DRAMATIQ_DEAD_SUFFIX)]
    depths: dict[str, int | None] = {}
    broker_error = None
    try:
        depths = queue_depths(str(broker.rabbitmq_url), names)
    except CONNECTION_ERRORS as exc:
        broker_error = f"RabbitMQ unreachable ({type(exc).__name__})"
    report = {
        "integrations": [dataclasses.asdict(row) for row in rows],
        "integrations_by_status": dict(sorted(by_status.items())),
        "outbox": {"backlog": backlog, "oldest_age_s": oldest},
        "shipments": shipping,
        "dead_letter_queue": broker.dead_letter_queue,
        "dead_letters": depths.get(broker.dead_letter_queue),
        "queues": depths,
        "broker_error": broker_error,
    }
    if args.json:
        print(json.dumps(report, default=_json_value, indent=2))
    else:
        _print_status(rows, report)
    return 1 if broker_error else 0


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _print_status(rows: list[queries.IntegrationStatus], report: dict[str, Any]) -> None:
    counts = ", ".join(f"{n} {s}" for s, n in report["integrations_by_status"].items()) or "none"
    print(f"integrations: {counts}")
    table = [("INTEGRATION", "ACCOUNT", "SELLER", "STATUS", "STOCK SYNC", "LAST POLL", "POLL LAG",
              "PENDING SKUS", "PENDING IMPORTS")]
    for row in rows:
        table.append((
            row.integration_id, row.account_id, row.seller_id, row.status,
            "on" if row.stock_sync_enabled else "off", _time(row.last_orders_poll_at),
            _duration(row.poll_lag_s), str(row.pending_skus), str(row.pending_imports),
        ))
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())
    for row in rows:
        if row.status_detail and row.status != "verified":
            print(f"  {row.integration_id}: {row.status_detail}")
        if row.orders_failures:
            print(f"  {row.integration_id}: {row.orders_failures} failed order poll(s) in a row")
        if row.stock_not_before:
            until = _time(row.stock_not_before)
            print(f"  {row.integration_id}: stock files held back (quota) until {until}")
    print_shipments(report["shipments"], when=_time)
    box = report["outbox"]
    print(f"outbox: {box['backlog']} event(s) not yet published"
          + (f", oldest {_duration(box['oldest_age_s'])}" if box["oldest_age_s"] is not None else ""))
    if report["broker_error"]:
        print(f"queues: {report['broker_error']}")
        return
    print(f"dead letters: {report['dead_letters'] or 0} in {report['dead_letter_queue']}")
    print("queues: " + ", ".join(
        f"{name} {'absent' if depth is None else depth}" for name, depth in report["queues"].items()
    ))


def _time(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _make_due(
    settings: Settings,
    integration_id: str,
    *,
    refusal: Callable[[Integration], str | None],
    apply: Callable[[psycopg.Connection[Any], str], bool],
    done: str,
) -> int:
    """Lock the integration, check that the work applies to it, then make the work due now."""
    with _database(settings) as conn, conn.transaction():
        current = integrations.get(conn, integration_id, lock=True)
        problem = f"no integration {integration_id!r}" if current is None else refusal(current)
        if problem is None and not apply(conn, integration_id):
            problem = f"integration {integration_id!r} changed meanwhile; run the command again"
    if problem is not None:
        return _fail(problem)
    assert current is not None
    print(f"integration {integration_id!r} ({current.status}): {done}")
    return 0


def _reverify_refusal(current: Integration) -> str | None:
    if current.status == "deleted":
        return f"integration {current.integration_id!r} is deleted: there is nothing to verify"
    if current.token_encrypted is None:
        return f"integration {current.integration_id!r} has no token: it needs new credentials"
    return None


def _poll_refusal(current: Integration) -> str | None:
    if current.status != "verified":
        return (f"integration {current.integration_id!r} is {current.status}: orders are polled "
                "for verified integrations only (see `reverify`)")
    return None


def _resync_refusal(current: Integration) -> str | None:
    if current.status != "verified":
        return (f"integration {current.integration_id!r} is {current.status}: stock is pushed "
                "for verified integrations only (see `reverify`)")
    if not current.stock_sync_enabled:
        return (f"integration {current.integration_id!r} has stock sync off: nothing is pushed "
                "for it until the merchant turns it on")
    return None


def reverify(settings: Settings, args: argparse.Namespace) -> int:
    """Make a verification of the integration's stored credentials due now."""
    return _make_due(
        settings, args.integration_id, refusal=_reverify_refusal, apply=queries.verify_now,
        done="verification due now; nothing is polled or pushed for it until its outcome",
    )


def poll(settings: Settings, args: argparse.Namespace) -> int:
    """Make the integration's order poll due now."""
    return _make_due(
        settings, args.integration_id, refusal=_poll_refusal, apply=queries.poll_now,
        done="order poll due now",
    )


def resync_stock(settings: Settings, args: argparse.Namespace) -> int:
    """Make a full re-send of the integration's stock due now (in its next file)."""
    return _make_due(
        settings, args.integration_id, refusal=_resync_refusal, apply=queries.reconcile_now,
        done="full stock re-send due now; it goes out in the next file the push interval allows",
    )


def replay(settings: Settings, args: argparse.Namespace) -> int:
    """Move dead-lettered events back to the exchange with their original routing keys."""
    if args.limit < 0:
        return _fail("--limit must be 0 (all) or more")
    broker = settings.broker
    try:
        result = replay_dead_letters(
            str(broker.rabbitmq_url), broker.events_exchange, broker.events_queue,
            limit=args.limit or None,
        )
    except CONNECTION_ERRORS as exc:
        return _fail(f"RabbitMQ unreachable ({type(exc).__name__})")
    except PublishFailed as exc:
        return _fail(f"replay stopped: {exc}")
    print(f"moved {result.moved} dead letter(s) from {broker.dead_letter_queue!r} "
          f"back to {broker.events_exchange!r}")
    if result.skipped:
        print(f"left {result.skipped} in place: no original routing key, or no queue bound for it")
    return 0


COMMANDS: dict[str, Command] = {
    "status": status,
    "reverify": reverify,
    "poll": poll,
    "resync-stock": resync_stock,
    "replay-dead-letters": replay,
}
