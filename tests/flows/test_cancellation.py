"""`order.cancel_requested`: refused while awaiting acceptance, cancelled after it, or an answer why not."""

from __future__ import annotations

from typing import Any

from connectors.rakuten import Credentials
from connectors.rakuten.sandbox import Sandbox
from db import integrations, orders
from tests.flows.harness import World, event
from tests.flows.orders_world import Shop, changes, items, poll, updates, verified_shop
from workers import scheduler
from workers.cancellation import cancel_item
from workers.order_changes import Seen, record

REASON = "Plus en stock, désolé : vous êtes remboursé."


def _cancel(shop: Shop, order_id: str, *item_ids: str, **extra: Any) -> Any:
    data = {"integration_id": shop.integration_id, "account_id": shop.account_id, "app": "rakuten",
            "order_id": order_id, "reason": REASON, **extra}
    if item_ids:
        data["item_ids"] = list(item_ids)
    return event("order.cancel_requested", data)


def _sale(order_id: str, *item_ids: str, status: str = "TO_CONFIRM") -> list[dict[str, Any]]:
    items = [{"item_id": i, "sku": "A", "status": status} for i in item_ids]
    return [{"purchase_id": order_id, "items": items}]


def _failures(w: World, shop: Shop) -> list[dict[str, Any]]:
    return [e["data"] for e in w.outbox("order.cancellation_failed", shop.integration_id)]


def _item_calls(sandbox: Sandbox, shop: Shop, action: str, item_id: str) -> int:
    return int(sandbox.calls(shop.login)["items"].get(action, {}).get(item_id, 0))


def _step(w: World, shop: Shop, item_id: str) -> tuple[str, str | None]:
    row = w.scalar(
        "SELECT array[state, failure] FROM order_cancellations WHERE integration_id = %s AND item_id = %s",
        shop.integration_id, item_id,
    )
    return row[0], row[1]


def test_cancelling_an_item_awaiting_acceptance_refuses_it_once_and_never_accepts_it(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox, auto_accept_orders=True)
    sandbox.add_sales(shop.login, [{"purchase_id": "8001", "items": [{"item_id": "801", "sku": "A"}]}])
    poll(w, shop)  # imported; its acceptance is due now
    assert w.scalar("SELECT accept_state FROM order_items WHERE integration_id = %s", shop.integration_id) \
        == "pending"

    w.apply(_cancel(shop, "8001"))  # before the scheduler sent the acceptance
    w.drive_until(lambda: _step(w, shop, "801")[0] == "done")
    w.drive_for(0.5)
    poll(w, shop)

    assert _item_calls(sandbox, shop, "refusesale", "801") == 1
    assert _item_calls(sandbox, shop, "acceptsale", "801") == 0
    assert sandbox.item(shop.login, "801")["status"] == "REFUSED"
    [update] = updates(w, shop)
    assert changes(update) == [("801", "TO_CONFIRM", "REFUSED")]
    assert not w.outbox("order.cancellation_failed")


def test_cancelling_an_accepted_item_calls_cancelitem_once_with_the_reason(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, _sale("8101", "811", "812", status="ACCEPTED"))
    poll(w, shop)

    w.apply(_cancel(shop, "8101", "812"))
    w.drive_until(lambda: _step(w, shop, "812")[0] == "done")
    w.drive_for(0.3)
    poll(w, shop)

    assert _item_calls(sandbox, shop, "cancelitem", "812") == 1
    assert _item_calls(sandbox, shop, "cancelitem", "811") == 0
    assert sandbox.item(shop.login, "812")["cancel_comment"] == REASON
    [update] = updates(w, shop)
    assert changes(update) == [("812", "ACCEPTED", "CANCELLED")]
    assert items(update)["812"]["status_reason"] == "cancelled_by_seller"


def test_a_refusal_rakuten_answers_already_accepted_becomes_a_cancellation(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, [{"purchase_id": "8201", "items": [{"item_id": "821", "sku": "A"}]}])
    poll(w, shop)
    sandbox.set_item_status(shop.login, "821", "ACCEPTED")  # on Rakuten's site, unseen by us yet

    w.apply(_cancel(shop, "8201"))
    w.drive_until(lambda: _step(w, shop, "821")[0] == "done")

    assert _item_calls(sandbox, shop, "refusesale", "821") == 1
    assert _item_calls(sandbox, shop, "cancelitem", "821") == 1
    [update] = updates(w, shop)
    assert changes(update) == [("821", "TO_CONFIRM", "CANCELLED")]


def test_cancelling_a_shipped_or_a_closed_item_ends_in_cancellation_failed(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, _sale("8301", "831", "832", status="ACCEPTED"))
    poll(w, shop)
    token = w.ctx.cipher.decrypt(w.integration(shop.integration_id)["token_encrypted"])
    w.ctx.rakuten.set_tracking_package_infos(
        Credentials(shop.login, token), "831", transporter_name="Colissimo", tracking_number="6A1"
    )
    sandbox.set_item_status(shop.login, "832", "CLOSED")  # leaves getcurrentsales: still ACCEPTED for us

    request = _cancel(shop, "8301")
    w.apply(request)
    w.drive_until(lambda: len(_failures(w, shop)) == 2)
    w.drive_for(0.3)

    failures = _failures(w, shop)
    assert sorted(f["item_ids"][0] for f in failures) == ["831", "832"]
    assert {f["reason"] for f in failures} == {"not_cancellable"}
    assert all("cannot be cancelled" in f["detail"] for f in failures)
    assert [_item_calls(sandbox, shop, "cancelitem", i) for i in ("831", "832")] == [1, 1]
    assert not updates(w, shop)
    assert (_step(w, shop, "831"), _step(w, shop, "832")) == (("failed", "not_cancellable"),) * 2


def test_an_unknown_order_or_item_and_an_item_already_cancelled_are_answered_at_once(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, _sale("8401", "841", status="CANCELLED") + _sale("8402", "842"))
    poll(w, shop)
    unknown_order, mixed = _cancel(shop, "no-such-order"), _cancel(shop, "8401", "841", "nope")
    other_account = _cancel(shop, "8401", account_id="someone-else")
    w.apply(unknown_order, mixed, other_account)

    failures = sorted((f["reason"], f["item_ids"], f["detail"]) for f in _failures(w, shop))
    assert failures == [
        ("not_cancellable", ["841"], "the item is already CANCELLED"),
        ("unknown_order", [], "no such integration for this account"),
        ("unknown_order", [], "this order was not imported for this integration"),
        ("unknown_order", ["nope"], "the item is not in this order"),
    ]
    assert w.scalar("SELECT count(*) FROM order_cancellations") == 0
    assert sandbox.calls(shop.login)["actions"].get("cancelitem", 0) == 0


def test_a_stale_or_repeated_message_of_a_step_calls_rakuten_once(w: World, sandbox: Sandbox) -> None:
    shop = verified_shop(w, sandbox)
    sandbox.add_sales(shop.login, [{"purchase_id": "8501", "items": [{"item_id": "851", "sku": "A"}]}])
    poll(w, shop)
    request = _cancel(shop, "8501")
    w.apply(request)
    claimed = scheduler.tick(w.ctx).cancellations
    w.dispatch.tasks.clear()
    [(integration_id, request_id, item_id, token)] = claimed
    for _ in range(3):  # three copies of the message, and one with an older token
        cancel_item(w.ctx, integration_id, request_id, item_id, token)
    cancel_item(w.ctx, integration_id, request_id, item_id, token - 1)

    assert _item_calls(sandbox, shop, "refusesale", "851") == 1
    assert _step(w, shop, "851") == ("done", None)
    assert request.id == request_id
    assert [changes(u) for u in updates(w, shop)] == [[("851", "TO_CONFIRM", "REFUSED")]]


def test_a_refusal_waits_for_an_acceptance_under_way_then_cancels_the_accepted_item(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox, auto_accept_orders=True)
    sandbox.add_sales(shop.login, _sale("8601", "861"))
    poll(w, shop)
    with w.pool.connection() as conn:  # the acceptance's worker is about to call acceptsale
        started = orders.begin_acceptance(conn, shop.integration_id, "861")
    assert started is not None

    w.apply(_cancel(shop, "8601"))
    w.drive_for(0.5)
    assert sandbox.calls(shop.login)["actions"].get("refusesale", 0) == 0
    assert _step(w, shop, "861") == ("pending", None)

    # the acceptance's answer arrives and is recorded, as accept_item records it
    token = w.ctx.cipher.decrypt(w.integration(shop.integration_id)["token_encrypted"])
    w.ctx.rakuten.accept_sale_item(Credentials(shop.login, token), "861", shipping_from_country=249)
    with w.pool.connection() as conn, conn.transaction():
        current = integrations.get(conn, shop.integration_id)
        assert current is not None
        record(conn, current, "8601", [Seen("861", "ACCEPTED")])
        orders.set_accept_state(conn, shop.integration_id, "861", state="accepted", attempted=True)
    w.drive_until(lambda: _step(w, shop, "861")[0] == "done")

    assert _item_calls(sandbox, shop, "refusesale", "861") == 0
    assert _item_calls(sandbox, shop, "cancelitem", "861") == 1
    assert [changes(u) for u in updates(w, shop)] == [
        [("861", "TO_CONFIRM", "ACCEPTED")], [("861", "ACCEPTED", "CANCELLED")]
    ]


def test_an_acceptance_retry_due_after_the_cancellation_was_asked_is_withdrawn_without_a_call(
    w: World, sandbox: Sandbox
) -> None:
    shop = verified_shop(w, sandbox, auto_accept_orders=True)
    sandbox.add_sales(shop.login, _sale("8701", "871"))
    poll(w, shop)
    w.apply(_cancel(shop, "8701"))
    # an acceptance that was under way failed after the request and recorded a retry, due now
    with w.pool.connection() as conn:
        conn.execute("UPDATE order_items SET accept_state = 'pending', accept_due_at = now() "
                     "WHERE integration_id = %s", (shop.integration_id,))

    w.drive_until(lambda: w.scalar("SELECT accept_state FROM order_items WHERE integration_id = %s",
                                   shop.integration_id) == "none")
    w.drive_for(0.3)

    assert _item_calls(sandbox, shop, "acceptsale", "871") == 0
    assert w.scalar("SELECT accept_due_at FROM order_items WHERE integration_id = %s", shop.integration_id) \
        is None
