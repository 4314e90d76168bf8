"""Soak: the tables stay flat over several retention periods while every event is applied once.

`python bench/soak.py [--events N] [--rate R] [--json FILE]` runs the real
`rakuten-worker run` (subprocess) on a scratch database and vhost, against the
sandbox, with every retention set to a fraction of the run: N `stock.changed` at
R per second over four merchants (one in a hundred published twice a moment
later, as a redelivery), sales at the sandbox imported and accepted, one SKU in
ten rejected by Rakuten (so `stock.sync_failed` events fill the outbox). The
row counts of `inbox`, `outbox` and `stock_import_lines` (and `stock_imports`,
reported) are sampled every second; after a warm-up of two retention periods, each must hold
one retention period's worth of the rows inserted into it, within ±10 % of its
median ratio, for three and a half periods. At the end: the ingress inserted
exactly one inbox row per distinct event (PostgreSQL's `n_tup_ins`: redeliveries
dropped, nothing lost), every SKU holds its newest quantity in the database and
at the sandbox, and every sale is one order. Exit 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: import the project and bench from the root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from bench.env import Services, open_services  # noqa: E402
from bench.soak_load import TABLES, Load, Sampler, Shop, flatness  # noqa: E402
from connectors.rakuten.sandbox import Sandbox  # noqa: E402
from events.publisher import publish_events  # noqa: E402

log = logging.getLogger("bench.soak")

WARMUP_PERIODS = 2.0  #: retention periods before the tables are expected flat
MEASURED_PERIODS = 3.5  #: retention periods measured
TOLERANCE = 0.10  #: the largest deviation from the median allowed
#: the tables judged flat; `stock_imports` (a row per file, about a hundred) is reported only
JUDGED = ("inbox", "outbox", "stock_import_lines")
EXCHANGE = "soak.events"
SETTLE_S = 180.0  #: seconds the system may take to catch up once the load stops
#: rows ever inserted into the inbox (an ON CONFLICT that inserts nothing does not count)
INBOX_INSERTS = "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'inbox'"


@dataclass(frozen=True)
class SoakParams:
    """The size of the soak."""

    events: int = 1_000_000
    rate: int = 3000  #: stock events per second
    shops: int = 4
    skus: int = 500  #: SKUs per merchant
    sales_per_s: float = 4.0

    @property
    def seconds(self) -> float:
        """How long the load lasts."""
        return self.events / self.rate

    @property
    def retention_s(self) -> float:
        """Every retention: the run lasts the warm-up and the measured periods."""
        return round(self.seconds / (WARMUP_PERIODS + MEASURED_PERIODS), 1)


def _environment(params: SoakParams, database_url: str, amqp_url: str, sandbox_url: str, port: int
                 ) -> dict[str, str]:
    keep = str(params.retention_s)
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "dramatiq_prom_db")}
    env.update(
        DATABASE_URL=database_url, RABBITMQ_URL=amqp_url, RAKUTEN_BASE_URL=sandbox_url,
        TOKEN_ENCRYPTION_KEY=Fernet.generate_key().decode(), EVENTS_EXCHANGE=EXCHANGE,
        EVENTS_QUEUE="soak.inbox", METRICS_PORT=str(port), LOG_FORMAT="json", LOG_LEVEL="WARNING",
        RAKUTEN_ORDER_POLL_INTERVAL_S="1", RAKUTEN_STOCK_PUSH_INTERVAL_S="2",
        RAKUTEN_REPORT_POLL_INTERVAL_S="0.5", RAKUTEN_CURRENT_SALES_LOOKBACK_DAYS="1",
        INBOX_RETENTION_S=keep, OUTBOX_RETENTION_S=keep, STOCK_IMPORT_RETENTION_S=keep,
        ORDER_CHANGE_RETENTION_S=keep,
    )
    return env


@contextmanager
def _running(env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "workers", "run", "--threads", "8"], env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(60)


def _wait(condition: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _scalar(url: str, query: str) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query.encode()).fetchone()
    return row[0] if row else None


def _install(params: SoakParams, sandbox: Sandbox, amqp_url: str, database_url: str) -> list[Shop]:
    shops = []
    for n in range(params.shops):
        tag = uuid.uuid4().hex[:6]
        shop = Shop(f"acc-soak-{n}", f"int-soak-{n}", f"soak-{tag}", f"tok-{uuid.uuid4().hex}")
        sandbox.add_seller(shop.login, shop.token)
        sandbox.set_listings(shop.login, {f"SKU-{k:04d}": 0 for k in range(params.skus)})
        sandbox.set_reject_skus(shop.login, [f"SKU-{k:04d}" for k in range(0, params.skus, 10)])
        shops.append(shop)
    publish_events(amqp_url, EXCHANGE, [{
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "soak", "type": "integration.installed",
        "time": "2026-01-01T00:00:00Z", "data": {
            "integration_id": s.integration_id, "account_id": s.account_id, "app": "rakuten",
            "seller_id": s.login, "token": s.token, "stock_sync_enabled": True, "auto_accept_orders": True},
    } for s in shops])
    _wait(lambda: _scalar(database_url, "SELECT count(*) FROM integrations WHERE status = 'verified'")
          == len(shops), "the integrations to be verified", 60)
    return shops


def _settled(load: Load, sandbox: Sandbox, database_url: str, params: SoakParams) -> bool:
    quiet = _scalar(database_url, "SELECT (SELECT count(*) FROM stock_pending) + "
                    "(SELECT count(*) FROM stock_imports WHERE status = 'pending')") == 0
    orders = _scalar(database_url, "SELECT count(*) FROM orders")
    inserted = _scalar(database_url, INBOX_INSERTS)
    return bool(quiet and orders == sum(map(len, load.sales.values()))
                and inserted == load.fresh + params.shops)


def _checks(load: Load, sandbox: Sandbox, database_url: str, shops: list[Shop], params: SoakParams
            ) -> dict[str, bool]:
    rejected = {f"SKU-{k:04d}" for k in range(0, params.skus, 10)}
    with psycopg.connect(database_url, autocommit=True) as conn:
        levels = {(r[0], r[1]): (r[2], r[3]) for r in conn.execute(
            "SELECT account_id, sku, version, quantity FROM stock_levels")}
        orders = {(r[0], r[1]) for r in conn.execute("SELECT integration_id, order_id FROM orders")}
        inserted = conn.execute(INBOX_INSERTS.encode()).fetchone()
    listings_ok = all(
        qty == load.newest.get((s.account_id, sku), (0, 0))[1]
        for s in shops for sku, qty in sandbox.listings(s.login).items() if sku not in rejected)
    return {
        "one inbox row per distinct event": inserted is not None and inserted[0] == load.fresh + len(shops),
        "newest quantity of every SKU stored": levels == load.newest,
        "newest quantity of every SKU at Rakuten": listings_ok,
        "every sale one order": orders == {(i, p) for i, ids in load.sales.items() for p in ids},
    }


def soak(params: SoakParams, services: Services, sandbox: Sandbox, workdir: Path) -> dict[str, Any]:
    """Run the soak and return its figures and checks."""
    with services.database() as database_url, services.vhost() as amqp_url:
        env = _environment(params, database_url, amqp_url, sandbox.url, port=_free_port())
        with _running(env, workdir / "run.log") as process:
            _wait(lambda: _scalar(database_url, "SELECT count(*) FROM schema_migrations") is not None
                  and _consumer_ready(env), "run to start", 60)
            shops = _install(params, sandbox, amqp_url, database_url)
            load = Load(amqp_url, EXCHANGE, sandbox, shops, params.skus, params.rate, params.sales_per_s)
            sampler, stop = Sampler(database_url), threading.Event()
            sampling = threading.Thread(target=sampler.run, args=(stop,), daemon=True)
            sampling.start()
            started = time.monotonic()
            load.run(params.seconds, threading.Event())
            loaded_s = time.monotonic() - started
            stop.set()
            sampling.join()
            _wait(lambda: _settled(load, sandbox, database_url, params) or process.poll() is not None,
                  "the system to catch up", SETTLE_S)
            checks = _checks(load, sandbox, database_url, shops, params)
            if process.poll() is not None:
                load.errors.append(f"run exited with {process.returncode} (log: {workdir / 'run.log'})")
    after = WARMUP_PERIODS * params.retention_s
    tables = {t: flatness(sampler.samples, table=t, after_s=after, retention_s=params.retention_s)
              for t in TABLES}
    return {
        "events": load.fresh, "duplicates": load.duplicates, "sales": sum(map(len, load.sales.values())),
        "seconds": round(loaded_s, 1), "rate": round(load.fresh / loaded_s),
        "retention_s": params.retention_s, "tables": tables, "checks": checks, "errors": load.errors,
        "samples": [(round(s.at, 1), s.rows, s.inserted) for s in sampler.samples],
    }


def _consumer_ready(env: dict[str, str]) -> bool:
    import httpx

    try:
        return httpx.get(f"http://127.0.0.1:{env['METRICS_PORT']}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _print(result: dict[str, Any]) -> bool:
    print(f"{result['events']:,} stock events (+{result['duplicates']:,} redeliveries) and "
          f"{result['sales']:,} sales in {result['seconds']}s ({result['rate']:,} ev/s); "
          f"every retention {result['retention_s']}s; after a warm-up of {WARMUP_PERIODS} periods:")
    ok = not result["errors"]
    print(f"  {'table':<19} {'rows min':>9} {'median':>8} {'max':>8}   rows per period inserted: "
          "min  median  max  worst")
    for table, f in result["tables"].items():
        rows, held = f["rows"], f["per_period"]
        flat = held["worst"] <= TOLERANCE
        verdict = ("flat" if flat else "NOT FLAT") if table in JUDGED else "(reported only)"
        ok &= flat or table not in JUDGED
        print(f"  {table:<19} {rows['min']:>9,.0f} {rows['median']:>8,.0f} {rows['max']:>8,.0f}   "
              f"{' ' * 24} {held['min']:.2f}  {held['median']:.2f}  {held['max']:.2f}  "
              f"{held['worst'] * 100:4.1f}%  {verdict}")
    for check, passed in result["checks"].items():
        ok &= passed
        print(f"  {'ok  ' if passed else 'FAIL'} {check}")
    for error in result["errors"]:
        print(f"  FAIL {error}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the soak, print (and write) the figures; 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=SoakParams.events)
    parser.add_argument("--rate", type=int, default=SoakParams.rate)
    parser.add_argument("--json", type=Path, help="write the figures and samples to this file")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    params = SoakParams(events=args.events, rate=args.rate)
    sandbox = Sandbox()
    sandbox.start()
    try:
        with open_services() as services, tempfile.TemporaryDirectory(prefix="soak-") as workdir:
            result = soak(params, services, sandbox, Path(workdir))
    finally:
        sandbox.stop()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0 if _print(result) else 1


if __name__ == "__main__":
    sys.exit(main())
