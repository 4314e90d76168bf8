"""Recording what Rakuten already did, through database failures of the moment.

Once Rakuten has taken a stock file, forgetting it would send the same file again
later: recording it is retried while PostgreSQL fails transiently (a terminated
session, a failover), with backoff, for a bounded time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from db.errors import describe, retryable

log = logging.getLogger(__name__)

T = TypeVar("T")

#: seconds a record of something Rakuten did is retried before the error is raised
RECORD_RETRY_S = 60.0
FIRST_DELAY_S = 0.05  #: seconds before the first retry; each retry doubles it
MAX_DELAY_S = 2.0  #: seconds, the longest wait between two retries


def retried(record: Callable[[], T], *, what: str, within_s: float = RECORD_RETRY_S) -> T:
    """Run `record` (one transaction); run it again on transient database errors, for `within_s`.

    `record` must be safe to run again after a failure whose commit is unknown
    (its statements are conditional on the state they change).
    """
    deadline = time.monotonic() + within_s
    delay = FIRST_DELAY_S
    while True:
        try:
            return record()
        except Exception as exc:
            if not retryable(exc) or time.monotonic() + delay > deadline:
                raise
            log.warning("recording %s failed (%s); retrying in %.2fs", what, describe(exc), delay)
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY_S)
