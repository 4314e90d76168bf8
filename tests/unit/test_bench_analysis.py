"""The benchmarks' readers of query plans, py-spy profiles and `run` logs (pure functions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench import profile
from bench.e2e import timeline
from bench.plans import summarise

PLAN = {
    "Plan": {
        "Node Type": "ModifyTable", "Relation Name": "integrations", "Actual Rows": 0,
        "Shared Hit Blocks": 40, "Shared Read Blocks": 2,
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "integrations", "Actual Rows": 3},
            {"Node Type": "Index Only Scan", "Relation Name": "stock_pending",
             "Index Name": "stock_pending_pkey", "Actual Rows": 3},
            {"Node Type": "Seq Scan", "Relation Name": "outbox", "Actual Rows": 0},
        ],
    },
    "Execution Time": 1.5,
}


def test_plan_summary_flags_sequential_scans_of_merchant_tables_only() -> None:
    summary = summarise("stock_flushes", PLAN)

    assert summary.seq_scans == ["Seq Scan integrations"]
    assert summary.shared_buffers == 42
    assert "SEQ SCAN INTEGRATIONS" in summary.describe()
    assert "Index Only Scan stock_pending (stock_pending_pkey)" in summary.describe()


def test_profile_phases_split_rakuten_calls_into_download_and_parse() -> None:
    raw = [
        "run (dramatiq/worker.py:1);verify_integration (workers/verification.py:50);"
        "_fetch (connectors/rakuten/client.py:222);read (httpcore/_sync.py:9) 7",
        "run (dramatiq/worker.py:1);verify_integration (workers/verification.py:50);"
        "parse_xml (connectors/rakuten/xml.py:44) 5",
        "run (x.py:1);import_orders (workers/orders.py:53);_new_sales (workers/orders.py:72);"
        "sales_from_root (connectors/rakuten/parse_sales.py:166) 11",
        "run (x.py:1);import_orders (workers/orders.py:53);store_sales (workers/orders.py:90);"
        "execute (psycopg/cursor.py:1) 4",
        "run (x.py:1);relay_pending (events/relay.py:92) 2",
        "Thread.run (threading.py:1);Condition.wait (threading.py:2) 9",
        "not a sample line",
    ]

    phases = profile.phases(profile.parse_raw(raw))

    assert phases == {"poll parse": 11, "idle": 9, "verification download": 7, "verification parse": 5,
                      "store database": 4, "relay": 2}


def test_timeline_finds_each_milestone_in_order_after_the_install() -> None:
    published = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()

    def line(seconds: float, message: str) -> str:
        at = datetime.fromtimestamp(published + seconds, UTC).isoformat()
        return json.dumps({"time": at, "message": message})

    lines = [
        line(-1.0, "rakuten 'getnewsales' for 'x': HTTP 200, 10 bytes in 0.1s"),  # before the install
        line(0.1, "integration installed (stock sync off)"),
        "a line that is not JSON",
        line(0.3, "rakuten 'getnewsales' for 'x': HTTP 200, 10 bytes in 0.1s"),
        line(0.5, "integration verified (Rakuten seller id '1')"),
        line(0.8, "rakuten 'getnewsales' for 'x': HTTP 200, 10 bytes in 0.1s"),
    ]

    found = timeline(lines, published)

    assert [(label, round(at, 3)) for label, at in found] == [
        ("install applied", 0.1), ("verification answer downloaded", 0.3), ("verified", 0.5),
        ("poll getnewsales downloaded", 0.8),
    ]
