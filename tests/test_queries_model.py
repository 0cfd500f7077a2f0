"""``find``'s filters in any combination, and every order, against the reference model in
plain Python (hypothesis, on one varied set of dossiers on SQLite; ``test_queries`` runs each
filter on PostgreSQL too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from finding_support import AGENCY, FREE, KEY, OTHER, PAID, id_number, matches, ordered, populate
from finding_support import setup as set_up
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier import Dossier, Engine, State
from dossier.testing import FrozenClock


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Engine, FrozenClock, list[Dossier]]]:
    clock = FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
    engine = set_up(Engine.in_memory(clock=clock, applicant_key=KEY))
    codes = populate(engine, clock, seed=5, n=60)
    clock.advance(timedelta(days=6))
    yield engine, clock, [engine.get(code) for code in codes]
    engine.close()


START = datetime(2025, 9, 8, 0, 0, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=24 * 30).map(lambda h: START + timedelta(hours=h))
filters = st.fixed_dictionaries({}, optional={
    "agency": st.sampled_from([AGENCY, OTHER]),
    "state": st.lists(st.sampled_from([s.value for s in State]), min_size=1, max_size=3),
    "procedure": st.sampled_from([PAID.code, FREE.code]),
    "channel": st.sampled_from(["counter", "online", "post"]),
    "owner": st.sampled_from(["cd01", "cd02", "cd03"]),
    "assignee": st.sampled_from(["nv01", "nv02", "cv01", "cv02", "ld01", "cv01-b"]),
    "portal_status": st.lists(st.integers(1, 10), min_size=1, max_size=3),
    "received_between": st.tuples(instants, instants).map(lambda p: (min(p), max(p))),
    "due_before": instants,
    "overdue": st.booleans(),
    "applicant_id": st.integers(0, 6).map(id_number),
    "text": st.sampled_from(["h12", "H34-", "-0001", "2509", "250909-00", "zz"]),
})


@settings(max_examples=150, deadline=None)
@given(chosen=filters, order=st.sampled_from(["step_due", "due", "submitted", "updated"]),
       limit=st.integers(1, 9))
def test_any_combination_of_filters_pages_like_the_reference_model(
        world: tuple[Engine, FrozenClock, list[Dossier]], chosen: dict[str, Any], order: str,
        limit: int) -> None:
    engine, clock, every = world
    want = ordered((d for d in every if matches(d, clock.now(), **chosen)), order)
    got: list[str] = []
    after = None
    while True:
        page = engine.find(order=order, limit=limit, after=after, **chosen)
        assert len(page.items) <= limit
        got += [d.code for d in page.items]
        if page.next is None:
            break
        after = page.next
    assert got == want
    assert engine.count(**chosen) == len(want)
