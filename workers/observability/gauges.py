"""Gauges read from the database at scrape time: integrations by status, outbox backlog, poll lag.

The series are a fixed set whatever the number of merchants: the poll lag is the
largest lag and a count of late integrations, not a series per integration (which
would grow without bound and cost the scrape a row per merchant).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import psycopg

from workers.observability.probes import ProbeDatabase

log = logging.getLogger(__name__)

#: an integration is late once its lag passes this many order-poll intervals
LATE_AFTER_POLLS = 3


class DatabaseGauges:
    """A Prometheus collector of gauges read from the database at scrape time."""

    def __init__(self, database: ProbeDatabase, *, poll_interval_s: float) -> None:
        self.database = database
        self.late_after_s = LATE_AFTER_POLLS * poll_interval_s

    def collect(self) -> Iterator[Any]:
        """Yield integrations by status, the outbox backlog and the order-poll lag summary."""
        from prometheus_client.core import GaugeMetricFamily

        try:
            statuses, (backlog, oldest), (lag, late, verified) = self.database.run(self._read)
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
        yield GaugeMetricFamily(
            "rakuten_order_poll_lag_max_seconds",
            "The largest time since a verified integration's last successful order poll.",
            value=lag,
        )
        yield GaugeMetricFamily(
            "rakuten_order_polls_late",
            f"Verified integrations not polled successfully for {LATE_AFTER_POLLS} poll intervals.",
            value=late,
        )
        yield GaugeMetricFamily("rakuten_integrations_verified", "Verified integrations.", value=verified)

    def _read(self, conn: psycopg.Connection[Any]) -> tuple[Any, ...]:
        from db import integrations, outbox, schedule

        return (
            integrations.count_by_status(conn),
            outbox.backlog(conn),
            schedule.order_poll_lag_summary(conn, late_after_s=self.late_after_s),
        )
