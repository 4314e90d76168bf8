"""The scheduler's part of shipping: release accepted items, settle what will never be told.

An item waiting for its acceptance becomes due as soon as the order poll (or the
automatic acceptance) records it ACCEPTED: the next tick claims its call. A waiting
item whose hold ran out, or that Rakuten shows cancelled or refused, fails with
`not_shippable`; a due item of a deleted integration, or of one still not verified
when the hold ran out, fails with `rejected`. Each settled batch's event is written
in the transaction that settled it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import psycopg

from db import shipment_claims, shipments
from workers.shipping.outcomes import report

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    """What one sweep changed."""

    released: list[tuple[int, str]] = field(default_factory=list)  #: (shipment, item) now due
    settled: list[tuple[int, str]] = field(default_factory=list)  #: (shipment, item) failed
    events: int = 0  #: outcome events written


def sweep(conn: psycopg.Connection[Any], *, limit: int) -> SweepResult:
    """Release the accepted items and settle the ones that will not be told; see the module.

    Each change is its own transaction on `conn`; the caller sends the relay when
    `events` were written.
    """
    result = SweepResult()
    with conn.transaction():
        result.released = shipment_claims.release_accepted(conn, limit=limit)
    with conn.transaction():
        due = shipment_claims.to_settle(conn, limit=limit)
    for shipment_id in due:
        with conn.transaction():
            shipments.lock_shipments(conn, [shipment_id])
            items = shipment_claims.settle(conn, shipment_id)
            result.settled += [(shipment_id, item) for item in items]
            result.events += report(conn, shipment_id)
    if result.released:
        log.info("%d shipped item(s) accepted on Rakuten: due now", len(result.released))
    if result.settled:
        log.warning("%d shipped item(s) will not be told to Rakuten", len(result.settled))
    return result
