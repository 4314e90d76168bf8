"""`deploy/grafana/rakuten-worker.json` is a usable dashboard (its metrics are checked in tests/e2e)."""

from __future__ import annotations

from tests.contract.dashboard import expressions, load, metric_names


def test_metric_names_are_read_from_promql_as_prometheus_would() -> None:
    expr = ('histogram_quantile(0.95, sum by (le, actor_name) ('
            'rate(dramatiq_message_duration_milliseconds_bucket{job=~"$job",queue_name="a b"}'
            '[$__rate_interval]))) / on (x) group_left rakuten_outbox_backlog'
            ' offset 5m or time() - max(rakuten_scheduler_last_tick_timestamp_seconds)')

    assert metric_names(expr) == {"dramatiq_message_duration_milliseconds_bucket", "rakuten_outbox_backlog",
                                  "rakuten_scheduler_last_tick_timestamp_seconds"}
    assert metric_names("label_values(rakuten_integrations, job)") == {"rakuten_integrations"}


def test_every_panel_reads_the_chosen_prometheus_and_names_a_metric() -> None:
    dashboard = load()
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]

    assert dashboard["uid"] == "rakuten-worker" and len(panels) >= 20
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["description"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert metric_names(target["expr"]), target["expr"]
            assert 'job=~"$job"' in target["expr"], target["expr"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_the_dashboard_covers_what_operators_watch() -> None:
    names = set().union(*(metric_names(e) for e in expressions(load())))

    for metric in ("rakuten_events_consumed_total", "rakuten_events_published_total",
                   "rakuten_events_dead_lettered_total", "rakuten_outbox_backlog",
                   "rakuten_outbox_oldest_age_seconds", "rakuten_order_poll_lag_max_seconds",
                   "rakuten_stock_files_sent_total", "rakuten_stock_skus_rejected_total",
                   "rakuten_quota_hits_total", "rakuten_call_failures_total", "dramatiq_messages_inprogress",
                   "dramatiq_message_errors_total"):
        assert metric in names
