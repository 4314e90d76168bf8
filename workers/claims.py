"""A claimed piece of work as a worker holds it: its row, its fencing token, its lease.

The use cases take the token their message carries, `start` the claim before
calling Rakuten (a stale or already started token does nothing), keep the lease
alive while they wait on Rakuten (`kept`: a heartbeat extends it every third of
its length, so a long upload or a huge answer is not claimed again under them),
and record the outcome only while they still hold the token (`holds`, or the
token in the recording statement). See `db.leases`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from db import leases
from db.errors import describe
from workers.context import Context

log = logging.getLogger(__name__)

#: seconds a heartbeat waits for a connection before trying again at the next beat
HEARTBEAT_TIMEOUT_S = 2.0


def claim_now(ctx: Context, work: leases.Work, key: Sequence[object]) -> int:
    """Claim one row's work now and return the token, for running the work oneself.

    The benchmarks, the demo and the tests run the use cases without the scheduler;
    a message sent for the row earlier becomes stale.
    """
    with ctx.pool.connection() as conn:
        token = leases.claim(conn, work, key, lease_s=ctx.settings.reliability.work_lease_s)
    if token is None:
        raise LookupError(f"no {work.name} work for {tuple(key)!r}")
    return token


class Claim:
    """One claim of `work` on the row `key`, fenced by `token`."""

    def __init__(
        self, pool: ConnectionPool, work: leases.Work, key: Sequence[object], token: int, *, lease_s: float
    ) -> None:
        self.pool = pool
        self.work = work
        self.key = tuple(key)
        self.token = token
        self.lease_s = lease_s
        #: set when a heartbeat found the token stale: the work was claimed again
        self.lost = threading.Event()

    @classmethod
    def of(cls, ctx: Context, work: leases.Work, key: Sequence[object], token: int) -> Claim:
        """The claim of `work` on `key` with `token`, leased for the process's `WORK_LEASE_S`."""
        return cls(ctx.pool, work, key, token, lease_s=ctx.settings.reliability.work_lease_s)

    def start(self) -> bool:
        """Start the work (committed); False when the token is stale or a copy already started it."""
        with self.pool.connection() as conn:
            started = leases.start(conn, self.work, self.key, self.token, lease_s=self.lease_s)
        if not started:
            log.info("%s %r: token %d is not current or already started; nothing to do",
                     self.work.name, self.key, self.token)
        return started

    def holds(self, conn: psycopg.Connection[Any]) -> bool:
        """Whether the token is still current; locks the row for `conn`'s transaction."""
        held = leases.holds(conn, self.work, self.key, self.token)
        if not held:
            log.warning("%s %r: claimed again meanwhile; outcome not recorded", self.work.name, self.key)
        return held

    @contextmanager
    def kept(self) -> Iterator[Claim]:
        """Extend the lease every third of its length until the block ends."""
        stop = threading.Event()
        beat = threading.Thread(target=self._keep, args=(stop,), name=f"lease-{self.work.name}", daemon=True)
        beat.start()
        try:
            yield self
        finally:
            stop.set()
            # an extension must not land after the outcome moved the due time
            beat.join()

    def _keep(self, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 3):
            try:
                with self.pool.connection(timeout=HEARTBEAT_TIMEOUT_S) as conn:
                    extended = leases.extend(conn, self.work, self.key, self.token, lease_s=self.lease_s)
            except Exception as exc:  # the database is away: the next beat tries again
                log.warning("%s %r: could not extend the lease (%s)", self.work.name, self.key, describe(exc))
                continue
            if not extended:
                self.lost.set()
                log.warning("%s %r: the lease was lost (claimed again)", self.work.name, self.key)
                return
