"""Reading sales answers sale by sale: the incremental reader and the answer the client returns.

A getnewsales answer holds every pending sale of the seller (15 MB for 10,000), so it is
never held whole: :class:`SalesReader` parses the bytes as they arrive and hands out
each sale once its element is complete, then drops it from the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType

from .models import Sale, SaleFailure, SalesBatch
from .parse import error_from_response, require_response
from .parse_sales import sale_or_failure
from .xml import XmlStream, child, local_name, text_of

__all__ = ["SalesAnswer", "SalesPage", "SalesReader", "parse_sales"]

Record = Sale | SaleFailure


@dataclass(frozen=True)
class SalesPage:
    """One sales answer read whole: its seller id, sales, unreadable sales and next token."""

    seller_id: str | None
    sales: list[Sale]
    failures: list[SaleFailure]
    next_token: str | None


class SalesReader:
    """Read a getnewsales or getcurrentsales answer sale by sale, as its bytes arrive.

    Each :meth:`feed` returns the sales (and failures) its chunk completed; the tree
    behind holds at most one chunk's sales. ``seller_id`` is set as soon as the answer
    gave it before its sales, ``next_token`` once :meth:`close` has read the end.
    Malformed or hostile XML, an ``<errorresponse>`` or a result without ``<response>``
    raise, as a failure of the whole answer.
    """

    def __init__(self, *, action: str = "sales") -> None:
        self._xml = XmlStream(records_at=("response", "sales"))
        self._action = action
        self.seller_id: str | None = None
        self.next_token: str | None = None

    def feed(self, chunk: bytes) -> list[Record]:
        """Parse one more chunk of the body; return what it completed, in document order.

        Raises:
            RakutenResponseInvalid: the body so far is malformed or hostile.
        """
        records = self._xml.feed(chunk)
        if self.seller_id is None and self._xml.container is not None:
            self.seller_id = text_of(child(self._xml.root, "response"), "sellerid")
        return [sale_or_failure(r) for r in records if local_name(r) == "sale"]

    def close(self) -> list[Record]:
        """Read the end of the body; return the last sales.

        Raises:
            RakutenResponseInvalid: the body is not a readable sales response.
            RakutenRejected, RakutenUnavailable: the body is an ``<errorresponse>``.
        """
        records = self._xml.close()
        root = self._xml.root
        assert root is not None  # close() raises for a document without one
        error = error_from_response(root, action=self._action)
        if error is not None:
            raise error
        response = require_response(root)
        self.seller_id = text_of(response, "sellerid")
        self.next_token = text_of(response, "nexttoken")
        return [sale_or_failure(r) for r in records if local_name(r) == "sale"]


def parse_sales(body: bytes) -> SalesPage:
    """Parse a whole getnewsales or getcurrentsales body, sale by sale.

    A sale that cannot be read is in ``failures``; every other sale is in ``sales``.

    Raises:
        RakutenResponseInvalid: the body is not a readable sales response.
        RakutenRejected, RakutenUnavailable: the body is an ``<errorresponse>``.
    """
    reader = SalesReader()
    records = reader.feed(body) + reader.close()
    sales = [r for r in records if isinstance(r, Sale)]
    failures = [r for r in records if isinstance(r, SaleFailure)]
    return SalesPage(reader.seller_id, sales, failures, reader.next_token)


def _add(batch: SalesBatch, record: Record) -> None:
    if isinstance(record, Sale):
        batch.sales.append(record)
    else:
        batch.failures.append(record)


class SalesAnswer:
    """The sales of one getnewsales or getcurrentsales call (every page), read as they arrive.

    Nothing is fetched before the answer is iterated. Iterating it yields each
    :class:`Sale` and each :class:`SaleFailure` (a sale that could not be read) in
    document order, page after page; :meth:`batches` groups them so that a caller can
    store each group in one transaction while memory stays bounded by one group. The
    answer can be read once. The HTTP answer stays open while it is being read, so read
    it through, or use ``with`` (or :meth:`close`) to let it go early.

    A failure of the whole answer (Rakuten unreachable, an error code, malformed or
    hostile XML, a body over the limit) is raised where it is met: the sales yielded
    before it were each read whole and well-formed, and storing them is harmless (a
    known order changes nothing), but the call as a whole has failed.
    """

    def __init__(self, read: Callable[[SalesAnswer], Iterator[Record]]) -> None:
        #: the seller's numeric id, once the answer has given it
        self.seller_id: str | None = None
        self._records = read(self)

    def __iter__(self) -> Iterator[Record]:
        return self._records

    def batches(self, size: int) -> Iterator[SalesBatch]:
        """Yield the answer in groups of at most ``size`` records (sales and failures)."""
        batch = SalesBatch([], [])
        for record in self._records:
            _add(batch, record)
            if len(batch.sales) + len(batch.failures) >= size:
                yield batch
                batch = SalesBatch([], [])
        if batch.sales or batch.failures:
            yield batch

    def read(self) -> SalesBatch:
        """Read the whole answer into one batch (for small answers and tests)."""
        batch = SalesBatch([], [])
        for record in self._records:
            _add(batch, record)
        return batch

    def close(self) -> None:
        """Stop reading and let the HTTP answer go."""
        close = getattr(self._records, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> SalesAnswer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
