"""Latest-wins ordering of stock changes, as the batch reducer applies it."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from db.stock import StockChange, newest_per_sku

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _change(
    sku: str, qty: int, *, version: int | None = None, seconds: int = 0, event: str = "e"
) -> StockChange:
    return StockChange("acc", sku, qty, version, T0 + timedelta(seconds=seconds), event)


def test_the_highest_version_wins_whatever_the_times() -> None:
    changes = [_change("A", 1, version=5, seconds=0), _change("A", 2, version=3, seconds=99)]
    assert [c.quantity for c in newest_per_sku(changes)] == [1]


def test_without_versions_the_latest_event_time_wins() -> None:
    changes = [_change("A", 1, seconds=10), _change("A", 2, seconds=5)]
    assert [c.quantity for c in newest_per_sku(changes)] == [1]


def test_each_account_and_sku_is_reduced_separately() -> None:
    changes = [
        _change("A", 1, version=1),
        StockChange("other", "A", 7, 0, T0, "x"),
        _change("B", 3, version=1),
    ]
    assert sorted((c.account_id, c.sku, c.quantity) for c in newest_per_sku(changes)) == [
        ("acc", "A", 1),
        ("acc", "B", 3),
        ("other", "A", 7),
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 1000)), min_size=1, max_size=60, unique_by=lambda t: t[0]
    )
)
def test_the_result_does_not_depend_on_arrival_order(versions: list[tuple[int, int]]) -> None:
    changes = [_change("A", qty, version=v, event=f"e{v}") for v, qty in versions]
    expected = max(versions)[1]
    shuffled = changes[:]
    random.Random(len(changes)).shuffle(shuffled)
    assert newest_per_sku(shuffled)[0].quantity == expected == newest_per_sku(changes)[0].quantity
