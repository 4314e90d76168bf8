"""What the benchmark ran on: CPUs, memory, Python, PostgreSQL and RabbitMQ versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from typing import Any

import pika
import psycopg


def _proc_field(path: str, key: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        return None
    return None


def _rabbitmq_version(amqp_url: str) -> str:
    if shutil.which("rabbitmqctl"):
        done = subprocess.run(["rabbitmqctl", "-q", "version"], capture_output=True, text=True,
                              timeout=60, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        properties: dict[str, Any] = connection._impl.server_properties  # no public accessor
        version = properties.get("version", b"?")
        return version.decode() if isinstance(version, bytes) else str(version)
    finally:
        connection.close()


def describe(database_url: str, amqp_url: str) -> dict[str, str]:
    """The machine and service versions, as text."""
    memory_kib = _proc_field("/proc/meminfo", "MemTotal")
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "?",
        "memory": f"{int(memory_kib.split()[0]) / 1024 / 1024:.1f} GiB" if memory_kib else "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "postgresql": str(row[0]) if row else "?",
        "rabbitmq": _rabbitmq_version(amqp_url),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
