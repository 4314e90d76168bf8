"""Business metrics of the use cases (Prometheus counters, multiprocess-safe).

The event metrics live in `events.metrics`; gauges read from the database
(integrations by status, outbox backlog, poll lag) are collected at scrape time
by `workers.observability.gauges`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge


class _Metrics:
    def __init__(self) -> None:
        self.verifications = Counter(
            "rakuten_verifications", "Verification outcomes, by outcome.", ["outcome"]
        )
        self.order_polls = Counter("rakuten_order_polls", "Order polls, by outcome.", ["outcome"])
        self.sales_unreadable = Counter(
            "rakuten_sales_unreadable", "Sales of Rakuten answers that could not be read (skipped)."
        )
        self.orders_imported = Counter("rakuten_orders_imported", "Orders imported (new purchases).")
        self.order_changes = Counter("rakuten_order_changes", "Items added to, or changed on, known orders.")
        self.sales_accepted = Counter("rakuten_sales_accepted", "Sale items accepted on Rakuten.")
        self.cancellations = Counter(
            "rakuten_item_cancellations",
            "Refusal or cancellation steps ended, by outcome (done, failed).",
            ["outcome"],
        )
        self.attention_changes = Counter(
            "rakuten_attention_changes", "Changes of an item's causes on Rakuten's to-do list."
        )
        self.accept_failures = Counter(
            "rakuten_sale_accept_failures", "Failed attempts to accept a sale item, by error.", ["error"]
        )
        self.stock_files = Counter("rakuten_stock_files_sent", "Stock files Rakuten accepted.")
        self.stock_skus_sent = Counter("rakuten_stock_skus_sent", "SKU lines sent in stock files.")
        self.stock_skus_rejected = Counter(
            "rakuten_stock_skus_rejected", "SKU lines Rakuten rejected in import reports."
        )
        self.stock_files_failed = Counter(
            "rakuten_stock_files_failed", "Stock files Rakuten refused as a whole."
        )
        self.shipment_items = Counter(
            "rakuten_shipment_items",
            "Shipped items reported: confirmed, or the failure reason.",
            ["outcome"],
        )
        self.stock_skus_given_up = Counter(
            "rakuten_stock_skus_given_up",
            "SKU changes not sent again after files carrying them were refused too many times.",
        )
        self.quota_hits = Counter(
            "rakuten_quota_hits", "Answers 'Quota exceeded.' from Rakuten, by operation.", ["operation"]
        )
        self.rakuten_failures = Counter(
            "rakuten_call_failures", "Failed Rakuten calls, by operation and error.", ["operation", "error"]
        )
        self.rows_pruned = Counter(
            "rakuten_rows_pruned", "Rows deleted once past their retention, by table.", ["table"]
        )
        self.integrations_erased = Counter(
            "rakuten_integrations_erased", "Deleted integrations whose orders and buyers' data were erased."
        )
        self.scheduler_tick = Gauge(
            "rakuten_scheduler_last_tick_timestamp_seconds",
            "When a scheduler last completed a tick (Unix time).",
            multiprocess_mode="max",
        )


METRICS = _Metrics()
