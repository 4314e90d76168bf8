"""In-process control of the sandbox; the /_sandbox/ HTTP API maps one to one onto these methods."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connectors.rakuten.sandbox import lifecycle
from connectors.rakuten.sandbox.seed import SeedError, build_fault
from connectors.rakuten.sandbox.state import SandboxState, UnknownSeller, item_state


class SandboxApi:
    """Seed sellers, listings and sales, inject faults, and read back what the client did.

    Methods naming an unknown login raise `UnknownSeller` (a KeyError); invalid input
    raises `SeedError` (a ValueError).
    """

    def __init__(self) -> None:
        self.state = SandboxState()

    def reset(self) -> None:
        """Forget every seller, sale, file, fault and logged request; restore the defaults."""
        self.state.reset()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change configuration values (see `Config`) and return the whole configuration."""
        return self.state.configure(changes)

    @property
    def config(self) -> dict[str, Any]:
        """The current configuration."""
        return self.state.configure({})

    def add_seller(self, login: str, token: str, *, seller_id: str | None = None, pro: bool = True) -> str:
        """Create a seller account and return its numeric seller id (a string)."""
        return self.state.add_seller(login, token, seller_id=seller_id, pro=pro)

    def set_listings(self, login: str, listings: Mapping[str, int] | Iterable[Mapping[str, Any]]) -> None:
        """Create or update listings, given as {sku: qty} or [{"sku", "quantity", "advert_id"?}]."""
        if isinstance(listings, Mapping):
            listings = [{"sku": sku, "quantity": qty} for sku, qty in listings.items()]
        try:
            self.state.set_listings(login, listings)
        except UnknownSeller:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SeedError(f"invalid listing: {exc}") from exc

    def listings(self, login: str) -> dict[str, int]:
        """Return the seller's current quantity per sku (due stock files applied first)."""
        with self.state.seller(login) as seller:
            return dict(seller.listings)

    def set_reject_skus(self, login: str, skus: Iterable[str]) -> None:
        """Make stock lines for these skus fail in import reports (replaces the previous set)."""
        with self.state.seller(login) as seller:
            seller.reject_skus = {str(sku) for sku in skus}

    def add_sales(self, login: str, sales: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Add sales (package docstring shape); return [{"purchase_id", "item_ids"}] in order."""
        return self.state.add_sales(login, sales)

    def set_item_status(self, login: str, item_id: str, status: str) -> None:
        """Change one item's status, e.g. to CANCELLED or back to TO_CONFIRM."""
        self.state.set_item_status(login, item_id, status)

    def item(self, login: str, item_id: str) -> dict[str, Any]:
        """Return one item's state: status, accepted, tracking, to-do causes, cancel comment."""
        return self.state.change_item(login, item_id, lambda sale, item: None)

    def buyer_cancel(self, login: str, item_id: str, *, visible: bool = True) -> dict[str, Any]:
        """Cancel the item as its buyer would, before acceptance or after it.

        Before acceptance it shows CANCELLED in getnewsales, or vanishes when not `visible`;
        after acceptance it shows CANCELLED in getcurrentsales.
        """
        return self.state.change_item(
            login, item_id, lambda sale, item: lifecycle.buyer_cancel(sale, item, visible=visible)
        )

    def open_claim(self, login: str, item_id: str) -> dict[str, Any]:
        """The buyer opens a claim: PENDING_CLAIM in getcurrentsales, CLAIM on the to-do list."""
        return self.state.change_item(login, item_id, lifecycle.open_claim)

    def close_claim(self, login: str, item_id: str, *, status: str | None = None) -> dict[str, Any]:
        """The claim closes: back to the status before it, or to `status` (CLOSED, CANCELLED)."""
        return self.state.change_item(
            login, item_id, lambda sale, item: lifecycle.close_claim(sale, item, status)
        )

    def add_message(self, login: str, item_id: str, sender: str) -> dict[str, Any]:
        """An unread message from "buyer" or "customer_service" puts the item on the to-do list."""
        return self.state.change_item(
            login, item_id, lambda sale, item: lifecycle.add_message(sale, item, sender)
        )

    def read_messages(self, login: str, item_id: str) -> dict[str, Any]:
        """The seller read the item's messages on Rakuten's site: their causes leave the list."""
        return self.state.change_item(login, item_id, lifecycle.read_messages)

    def add_items(self, login: str, purchase_id: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Add items to a known purchase; return {"purchase_id", "item_ids"}."""
        with self.state.seller(login) as seller:
            if purchase_id not in seller.sales:
                raise SeedError(f"unknown purchase id {purchase_id}")
        return self.add_sales(login, [{"purchase_id": purchase_id, "items": list(items)}])[0]

    def lapse(self, login: str, purchase_id: str) -> dict[str, Any]:
        """The sale leaves getnewsales unaccepted; return {"purchase_id", "item_ids"} that lapsed."""
        with self.state.seller(login) as seller:
            sale = seller.sales.get(purchase_id)
            if sale is None:
                raise SeedError(f"unknown purchase id {purchase_id}")
            return {"purchase_id": purchase_id, "item_ids": lifecycle.lapse(sale)}

    def calls(self, login: str) -> dict[str, Any]:
        """Return the calls received for the seller, per action and per action and item id.

        Shape ``{"actions": {action: n}, "items": {action: {item_id: n}}}``; faults and
        errors count, and nothing is ever trimmed.
        """
        with self.state.seller(login):
            return self.state.calls(login)

    def corrupt_sale(self, login: str, purchase_id: str, texts: Mapping[str, Any]) -> None:
        """Serve a sale unreadable: `texts` maps element paths (`price/amount`, `purchasedate`,
        `purchaseid`, `itemid`, `itemstatus`; item paths in every item) to the text served
        there instead of the real value. An empty mapping serves it readable again.
        """
        self.state.corrupt_sale(login, purchase_id, texts)

    def sales(self, login: str) -> list[dict[str, Any]]:
        """Return every sale of the seller with each item's status."""
        with self.state.seller(login) as seller:
            return [
                {
                    "purchase_id": sale.purchase_id,
                    "purchased_at": sale.purchased_at.strftime("%d/%m/%Y-%H:%M"),
                    "awaiting_acceptance": sale.awaits_acceptance(),
                    "items": [item_state(item) for item in sale.items],
                }
                for sale in seller.sales.values()
            ]

    def inject_fault(self, login: str, kind: str, **options: Any) -> None:
        """Queue a fault for the seller's next calls (options as in the control API)."""
        fault = build_fault({"kind": kind, **options})
        with self.state.seller(login) as seller:
            seller.faults.append(fault)

    def files(self, login: str) -> list[dict[str, Any]]:
        """Return the stock files received for the seller, oldest first."""
        with self.state.seller(login) as seller:
            return [record.as_dict() for record in seller.imports.values()]

    def requests(self, *, login: str | None = None, action: str | None = None) -> list[dict[str, Any]]:
        """Return the logged web-service requests, oldest first (never the token)."""
        return [entry.as_dict() for entry in self.state.requests(login=login, action=action)]
