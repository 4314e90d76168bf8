"""The stock part of the demo: events in, coalesced files out, reports read, quantities checked.

A first burst shows coalescing (many events, one line per SKU); a second, sent right
after the first file, shows the push interval (its file waits, Rakuten's quota).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from workers.demo.console import DemoFailed
from workers.demo.data import newest_quantities, stale_count, stock_burst, stock_followup
from workers.demo.stage import DEMO_INTERVALS, Stage

FILES_TIMEOUT_S = 20.0  #: seconds for the files of one wave (a push interval and change)
REPORT_TIMEOUT_S = 15.0  #: seconds for the import reports to be final
INTERVAL = DEMO_INTERVALS["RAKUTEN_STOCK_PUSH_INTERVAL_S"]  #: seconds between two files, as set for the demo

#: how far the worker got with the stock events: ingested, and SKUs still to send
STOCK_BACKLOG = """
SELECT (SELECT count(*) FROM inbox WHERE event_type = 'stock.changed'),
       (SELECT count(*) FROM stock_pending WHERE integration_id = %(integration_id)s)
"""
#: the stock files of the integration: Rakuten's import id, status, report label, lines, rejected
IMPORTS = """
SELECT m.rakuten_import_id, m.status, m.status_label, m.sku_count, count(l.error_code)
FROM stock_imports m LEFT JOIN stock_import_lines l ON l.import_pk = m.id
WHERE m.integration_id = %(integration_id)s
GROUP BY m.id ORDER BY m.id
"""

File = dict[str, Any]


def push_stock(stage: Stage, conn: psycopg.Connection[Any]) -> None:
    """Send two waves of `stock.changed` and follow them to Rakuten's quantities."""
    stage.console.heading("5. Stock changes reach Rakuten as files")
    listed_before = stage.sandbox.listings(stage.shop.login)
    rng = random.Random()
    burst = stock_burst(rng)
    first = _coalesce(stage, conn, burst)
    more = stock_followup(rng)
    _wait_for_interval(stage, conn, more, after=first[-1], ingested=len(burst) + len(more))
    _show_quantities(stage, listed_before, newest_quantities([*burst, *more]))


def _coalesce(stage: Stage, conn: psycopg.Connection[Any], burst: Sequence[dict[str, Any]]) -> list[File]:
    """Publish the burst and show it reach Rakuten as one line per SKU."""
    console = stage.console
    files_before = _publish(stage, burst)
    console.action(f"Published {len(burst)} stock.changed events for {len(newest_quantities(burst))} SKUs, "
                   "versions shuffled:")
    console.detail(f"{stale_count(burst)} arrive after a newer version of their SKU and must change nothing")
    files = _await_files(stage, conn, files_before, burst, ingested=len(burst), what="the stock file")
    if len(files) == 1:
        console.done(f"Rakuten received 1 stock file for the {len(burst)} events: "
                     f"{len(files[0]['lines'])} lines, one per SKU")
    else:
        sizes = " + ".join(str(len(file["lines"])) for file in files)
        console.done(f"Rakuten received {len(files)} stock files for the {len(burst)} events: {sizes} lines")
        console.detail("(the first went out at once; what came in meanwhile waited for the interval)")
    console.detail("Rakuten accepts about 10 files an hour, so the worker never calls it per event: it",
                   "keeps the newest quantity of each SKU and sends the changed ones together, at most",
                   f"one file per {INTERVAL}s here (RAKUTEN_STOCK_PUSH_INTERVAL_S; 360s by default)")
    _show_reports(stage, conn, files)
    return files


def _wait_for_interval(
    stage: Stage, conn: psycopg.Connection[Any], more: Sequence[dict[str, Any]], *, after: File, ingested: int
) -> None:
    """Publish more changes right after a file and show their file wait for the push interval."""
    files_before = _publish(stage, more)
    stage.console.action(f"Published {len(more)} more events for {len(newest_quantities(more))} SKUs "
                         "right away: their file must wait for the interval")
    files = _await_files(stage, conn, files_before, more, ingested=ingested,
                         what=f"the next stock file (at least {INTERVAL}s after the previous one)")
    gap = _received(files[0]) - _received(after)
    stage.console.done(f"Rakuten received the next file {gap:.1f}s after the previous one: "
                       f"{sum(len(file['lines']) for file in files)} lines for {len(more)} events")
    _show_reports(stage, conn, files)


def _received(file: File) -> float:
    return datetime.fromisoformat(str(file["received_at"])).timestamp()


def _publish(stage: Stage, events: Sequence[dict[str, Any]]) -> int:
    """Publish `events`; return how many files Rakuten had received before."""
    files_before = len(stage.sandbox.files(stage.shop.login))
    stage.publish(events)
    return files_before


def _await_files(
    stage: Stage,
    conn: psycopg.Connection[Any],
    files_before: int,
    events: Sequence[dict[str, Any]],
    *,
    ingested: int,
    what: str,
) -> list[File]:
    """Return the files received since `files_before` once they carry the newest quantity of each SKU.

    Done also means all `ingested` stock events so far are in the inbox and no SKU is
    pending, so no further file is on its way.
    """
    login = stage.shop.login
    expected = newest_quantities(events)

    def delivered() -> list[File] | None:
        files = stage.sandbox.files(login)[files_before:]
        last = {sku: qty for file in files for sku, qty in file["lines"]}
        row = conn.execute(STOCK_BACKLOG, {"integration_id": stage.integration_id}).fetchone()
        done = row is not None and row[0] == ingested and row[1] == 0
        return files if done and all(last.get(sku) == qty for sku, qty in expected.items()) else None

    return stage.wait(what, delivered, timeout=FILES_TIMEOUT_S)


def _show_reports(stage: Stage, conn: psycopg.Connection[Any], files: Sequence[File]) -> None:
    """Wait until the worker has read the final report of each file, and print them."""
    import_ids = {str(file["import_id"]) for file in files}

    def final() -> list[tuple[Any, ...]] | None:
        rows = conn.execute(IMPORTS, {"integration_id": stage.integration_id}).fetchall()
        mine = [row for row in rows if row[0] in import_ids]
        done = len(mine) == len(import_ids) and all(row[1] != "pending" for row in mine)
        return mine if done else None

    rows = stage.wait("the import report", final, timeout=REPORT_TIMEOUT_S)
    for import_id, status, label, sku_count, rejected in rows:
        stage.console.done(f'Import report of file {import_id} read: "{label}", '
                           f"{sku_count - rejected} lines applied, {rejected} rejected")
        if status != "done" or rejected:
            raise DemoFailed(f"import {import_id} ended {status!r} with {rejected} rejected line(s)")


def _show_quantities(stage: Stage, before: dict[str, int], expected: dict[str, int]) -> None:
    """Check and print that Rakuten now shows the newest quantity of every SKU."""
    now = stage.sandbox.listings(stage.shop.login)
    wrong = sorted(sku for sku, qty in expected.items() if now.get(sku) != qty)
    if wrong:
        raise DemoFailed(f"Rakuten's quantities differ from the newest events for {', '.join(wrong)}")
    width = max(len(sku) for sku in expected)
    stage.console.done("Rakuten's quantities equal the newest event of every SKU:")
    stage.console.detail(f"{'SKU':<{width}}  before  newest event  on Rakuten now")
    ok = stage.console.ok
    for sku in sorted(expected):
        numbers = f"{before.get(sku, 0):>6}  {expected[sku]:>12}  {now[sku]:>14}"
        stage.console.detail(f"{sku:<{width}}  {numbers}  {ok}")
