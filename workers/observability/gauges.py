"""Gauges read from the database at scrape time: integrations by status, outbox backlog, poll lag."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg

log = logging.getLogger(__name__)


class DatabaseGauges:
    """A Prometheus collector of gauges read from the database at scrape time."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def collect(self) -> Iterator[Any]:
        """Yield integrations by status, the outbox backlog and each integration's poll lag."""
        from prometheus_client.core import GaugeMetricFamily

        from db import integrations, outbox, schedule

        try:
            with psycopg.connect(self.database_url, connect_timeout=3) as conn:
                statuses = integrations.count_by_status(conn)
                backlog, oldest = outbox.backlog(conn)
                lag = schedule.order_poll_lag(conn)
        except psycopg.Error as exc:
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            return
        by_status = GaugeMetricFamily("rakuten_integrations", "Integrations by status.", labels=["status"])
        for status, count in sorted(statuses.items()):
            by_status.add_metric([status], count)
        yield by_status
        yield GaugeMetricFamily("rakuten_outbox_backlog", "Events not yet published.", value=backlog)
        yield GaugeMetricFamily(
            "rakuten_outbox_oldest_age_seconds", "Age of the oldest unpublished event.", value=oldest or 0.0
        )
        poll_lag = GaugeMetricFamily(
            "rakuten_order_poll_lag_seconds",
            "Seconds since each verified integration's last successful order poll.",
            labels=["integration_id"],
        )
        for integration_id, seconds in sorted(lag.items()):
            poll_lag.add_metric([integration_id], seconds)
        yield poll_lag
