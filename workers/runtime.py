"""The resources of the current process, for the actors (which receive only ids)."""

from __future__ import annotations

from dataclasses import dataclass

from events.relay import OutboxRelay
from workers.context import Context


@dataclass
class Runtime:
    """What a worker process opened at boot."""

    context: Context
    relay: OutboxRelay


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    """Make `runtime` the process's runtime (None at shutdown)."""
    global _current
    _current = runtime


def current() -> Runtime:
    """Return the process's runtime, or raise if the process did not boot one."""
    if _current is None:
        raise RuntimeError("no runtime installed in this process")
    return _current
