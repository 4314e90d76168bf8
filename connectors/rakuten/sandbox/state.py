"""The sandbox's whole in-memory state, guarded by one lock."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from connectors.rakuten.sandbox import imports, lifecycle, ws_errors
from connectors.rakuten.sandbox.model import (
    AWAITING_STATUSES,
    CORRUPTIBLE,
    Config,
    Fault,
    Item,
    LogEntry,
    Sale,
    Seller,
)
from connectors.rakuten.sandbox.seed import PARIS, SeedError, build_sale

MAX_LOG_ENTRIES = 100_000  #: requests kept in the log, oldest dropped first
_ID_STARTS = {
    "seller": 1_000_001,
    "purchase": 300_000_001,
    "item": 500_000_001,
    "advert": 700_000_001,
    "import": 35_826_777,
}


class UnknownSeller(KeyError):
    """Raised when a control call names a login the sandbox does not know."""


class SellerExists(SeedError):
    """Raised when a seller is added with a login already in use."""


def now() -> dt.datetime:
    """Return the current time, aware, in Paris."""
    return dt.datetime.now(PARIS)


class SandboxState:
    """Sellers, listings, sales, stock imports, faults and the request log."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything and restore the default configuration."""
        with self._lock:
            self.config = Config()
            self._sellers: dict[str, Seller] = {}
            self._counters = {kind: itertools.count(start) for kind, start in _ID_STARTS.items()}
            self._log: deque[LogEntry] = deque(maxlen=MAX_LOG_ENTRIES)
            # Unlike the log these are never trimmed, so "exactly one call" stays checkable.
            self._calls: dict[str, Counter[str]] = {}
            self._item_calls: dict[str, dict[str, Counter[str]]] = {}

    def next_id(self, kind: str) -> str:
        """Return a fresh numeric id of the given kind, as a string."""
        with self._lock:
            return str(next(self._counters[kind]))

    @contextmanager
    def seller(self, login: str) -> Iterator[Seller]:
        """Hold the lock and yield the seller after settling its due stock imports."""
        with self._lock:
            found = self._sellers.get(login)
            if found is None:
                raise UnknownSeller(login)
            imports.settle(found, now())
            yield found

    def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change configuration values and return the whole configuration."""
        with self._lock:
            current = self.config.as_dict()
            unknown = set(changes) - set(current)
            if unknown:
                raise SeedError(f"unknown config keys: {sorted(unknown)}")
            if changes.get("reaccept", "error") not in ("error", "accepted"):
                raise SeedError("reaccept must be 'error' or 'accepted'")
            try:
                converted = {key: type(current[key])(value) for key, value in changes.items()}
            except (TypeError, ValueError) as exc:
                raise SeedError(f"invalid config value: {exc}") from exc
            for key, value in converted.items():
                setattr(self.config, key, value)
            return self.config.as_dict()

    def add_seller(self, login: str, token: str, *, seller_id: str | None, pro: bool) -> str:
        """Create a seller account and return its numeric seller id."""
        if not login or not token:
            raise SeedError("login and token are required")
        with self._lock:
            if login in self._sellers:
                raise SellerExists(f"seller {login!r} already exists")
            new_id = seller_id or self.next_id("seller")
            self._sellers[login] = Seller(login, token, str(new_id), pro=pro)
            return str(new_id)

    def authenticate(self, login: str, token: str) -> Seller:
        """Return the seller whose login and token match, or raise InvalidUserConnection."""
        with self._lock:
            found = self._sellers.get(login)
            if found is None or found.token != token:
                raise ws_errors.bad_credentials()
            return found

    def set_listings(self, login: str, listings: Iterable[Mapping[str, Any]]) -> None:
        """Create or update listings (sku, quantity, optional advert_id)."""
        with self.seller(login) as seller:
            for listing in listings:
                sku = str(listing["sku"])
                seller.listings[sku] = int(listing.get("quantity", 0))
                advert_id = listing.get("advert_id") or seller.advert_ids.get(sku)
                seller.advert_ids[sku] = str(advert_id or self.next_id("advert"))

    def add_sales(self, login: str, raw_sales: Iterable[Any]) -> list[dict[str, Any]]:
        """Add sales (or items to known purchases) and return their purchase and item ids."""
        with self.seller(login) as seller:
            built = [build_sale(raw, self.next_id, seller.advert_ids) for raw in raw_sales]
            for sale in built:
                for item in sale.items:
                    if item.item_id in seller.items:
                        raise SeedError(f"item id {item.item_id} already exists")
            return [self._store_sale(seller, sale) for sale in built]

    @staticmethod
    def _store_sale(seller: Seller, sale: Sale) -> dict[str, Any]:
        """Store a new sale, or append its items to the known purchase with the same id."""
        sale.seq = len(seller.sales)
        stored = seller.sales.setdefault(sale.purchase_id, sale)
        if stored is not sale:
            stored.items.extend(sale.items)
            stored.touch()
        for item in sale.items:
            seller.items[item.item_id] = (stored, item)
        return {"purchase_id": stored.purchase_id, "item_ids": [i.item_id for i in sale.items]}

    def change_item(
        self, login: str, item_id: str, change: Callable[[Sale, Item], object]
    ) -> dict[str, Any]:
        """Apply `change(sale, item)` to one item under the lock; return the item's state."""
        with self.seller(login) as seller:
            if item_id not in seller.items:
                raise SeedError(f"unknown item id {item_id}")
            sale, item = seller.items[item_id]
            change(sale, item)
            return {"purchase_id": sale.purchase_id, **item_state(item)}

    def set_item_status(self, login: str, item_id: str, status: str) -> None:
        """Change one item's status (e.g. CANCELLED), as Rakuten or the buyer would."""
        self.change_item(login, item_id, lambda sale, item: lifecycle.set_status(sale, item, status))

    def corrupt_sale(self, login: str, purchase_id: str, texts: Mapping[str, Any]) -> None:
        """Serve these texts in place of the sale's values from now on; {} makes it readable again."""
        unknown = set(texts) - CORRUPTIBLE
        if unknown:
            raise SeedError(f"cannot corrupt {sorted(unknown)}; one of {sorted(CORRUPTIBLE)}")
        with self.seller(login) as seller:
            sale = seller.sales.get(purchase_id)
            if sale is None:
                raise SeedError(f"unknown purchase id {purchase_id}")
            sale.corrupt = {path: str(value) for path, value in texts.items()}
            sale.views.clear()

    def accept(self, seller: Seller, item_id: str) -> None:
        """Accept one item, or raise ParameterError when it is unknown or not awaiting."""
        with self._lock:
            found = seller.items.get(item_id)
            if found is None:
                raise ws_errors.invalid("itemid")
            sale, item = found
            if item.status not in AWAITING_STATUSES:
                if self.config.reaccept == "accepted" and item.status == "ACCEPTED":
                    return
                raise ws_errors.invalid("itemid")
            lifecycle.set_status(sale, item, "ACCEPTED")

    def take_fault(self, login: str, action: str) -> Fault | None:
        """Consume one use of the first pending fault of the seller matching `action`."""
        with self._lock:
            found = self._sellers.get(login)
            if found is None:
                return None
            for fault in found.faults:
                if fault.matches(action):
                    fault.count -= 1
                    found.faults = [f for f in found.faults if f.count > 0]
                    return fault
            return None

    def log(self, entry: LogEntry) -> None:
        """Append a served request to the log and count it for its login and action."""
        with self._lock:
            self._log.append(entry)
            self._calls.setdefault(entry.login, Counter())[entry.action] += 1
            if entry.item_id:
                self.count_items(entry.login, entry.action, [entry.item_id])

    def count_items(self, login: str, action: str, item_ids: Iterable[str]) -> None:
        """Count a call of `action` for each item it named (a shipping file names several)."""
        with self._lock:
            counter = self._item_calls.setdefault(login, {}).setdefault(action, Counter())
            counter.update(item_ids)

    def calls(self, login: str) -> dict[str, Any]:
        """Return the calls received for a login: per action, and per action and item id."""
        with self._lock:
            items = self._item_calls.get(login, {})
            return {
                "actions": dict(self._calls.get(login, {})),
                "items": {action: dict(counter) for action, counter in items.items()},
            }

    def requests(self, *, login: str | None = None, action: str | None = None) -> list[LogEntry]:
        """Return logged requests, oldest first, optionally for one login and one action."""
        with self._lock:
            return [
                entry
                for entry in self._log
                if (login is None or entry.login == login) and (action is None or entry.action == action)
            ]


def item_state(item: Item) -> dict[str, Any]:
    """Return an item as JSON-ready values for the control API."""
    return {
        "item_id": item.item_id,
        "sku": item.sku,
        "advert_id": item.advert_id,
        "status": item.status,
        "payment_status": item.payment_status,
        "accepted": item.was_accepted,
        "tracking": item.tracking.as_dict() if item.tracking else None,
        "causes": sorted(item.causes),
        "cancel_comment": item.cancel_comment,
    }
