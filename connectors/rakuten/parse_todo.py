"""Parse getitemtodolist answers: the items that need the seller, with their causes.

Shape (sample_getitemtodolist.xml, rakuten-api.md §3.4): ``response/items/item*{itemid,
causes/cause*}``. Read item by item: an item without an id is logged and skipped, it
holds back none of the others.
"""

from __future__ import annotations

import logging

from .lifecycle_models import TodoItem
from .parse import load_response, require_response
from .xml import Element, child, children, text_of

__all__ = ["parse_todo_list", "todo_items_from_root"]

logger = logging.getLogger(__name__)


def todo_items_from_root(root: Element) -> list[TodoItem]:
    """Read the to-do items of a parsed getitemtodolist root, one per item id, in list order.

    An item listed twice gets the union of its causes; causes are upper-cased.
    """
    causes: dict[str, set[str]] = {}
    purchases: dict[str, str | None] = {}
    skipped = 0
    for element in children(child(require_response(root), "items"), "item"):
        item_id = text_of(element, "itemid")
        if item_id is None:
            skipped += 1
            continue
        found = (text_of(c) for c in children(child(element, "causes"), "cause"))
        causes.setdefault(item_id, set()).update(c.upper() for c in found if c)
        # Not in any sample; read in case a later version names the purchase too.
        purchases[item_id] = purchases.get(item_id) or text_of(element, "purchaseid")
    if skipped:
        logger.warning("getitemtodolist listed %r items without an itemid, skipped", skipped)
    return [TodoItem(i, frozenset(c), purchases[i]) for i, c in causes.items()]


def parse_todo_list(body: bytes) -> list[TodoItem]:
    """Parse a getitemtodolist body.

    Raises:
        RakutenResponseInvalid: the body is not a readable answer.
        RakutenRejected, RakutenUnavailable: the body is an ``<errorresponse>``.
    """
    return todo_items_from_root(load_response(body, action="getitemtodolist"))
