"""Metrics and health over HTTP: `/metrics` (Prometheus) and `/healthz`, one concept per module.

One exporter per process group: the process that leads the group (`run`, or a
part started alone) creates a multiprocess folder for prometheus_client and
dramatiq's middleware (`multiprocess`), its children write their samples there,
and the leader serves them all on `METRICS_PORT` (`server`), with gauges read
from the database at scrape time (`gauges`). `/healthz` answers 200 only when
PostgreSQL and RabbitMQ answer and work is progressing (`health`).

Nothing here imports prometheus_client at import time: the multiprocess folder
must be in the environment first.
"""
