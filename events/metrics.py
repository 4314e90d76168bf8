"""Prometheus metrics of the event traffic (registered in the default registry)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS_CONSUMED = Counter(
    "rakuten_events_consumed", "Valid inbound events handed to the handler, by type.", ["type"]
)
EVENTS_DEAD_LETTERED = Counter(
    "rakuten_events_dead_lettered",
    "Inbound messages moved to the dead-letter queue, by reason kind.",
    ["reason"],
)
EVENTS_IGNORED = Counter(
    "rakuten_events_ignored", "Inbound events of another app, acknowledged and ignored.", ["type"]
)
EVENTS_PUBLISHED = Counter(
    "rakuten_events_published", "Outbound events confirmed by the broker, by type.", ["type"]
)
INGRESS_BATCHES = Counter("rakuten_ingress_batches", "Batches of messages the ingress processed.")
INGRESS_LAST_BATCH_SIZE = Gauge(
    "rakuten_ingress_last_batch_size",
    "Number of messages in the last ingress batch.",
    multiprocess_mode="livemostrecent",
)
HANDLER_RETRIES = Counter(
    "rakuten_ingress_handler_retries",
    "Handler calls that failed with a transient error and were retried.",
)
