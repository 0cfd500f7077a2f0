"""``Engine.find`` and ``count`` (issue 11): every filter against the reference model, every
order, keyset paging that stays put while dossiers arrive, cursors that are checked, and what
an actor may find."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from conftest import race
from finding_support import (
    AGENCY,
    FREE,
    KEY,
    OTHER,
    PAID,
    id_number,
    matches,
    ordered,
    page_through,
    populate,
    setup,
    staff,
    submit,
)

from dossier import Actor, Dossier, Engine, InvalidInput, PermissionDenied
from dossier.testing import FrozenClock


@pytest.fixture
def eng(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    engine = setup(Engine(db_url, clock=clock, applicant_key=KEY))
    yield engine
    engine.close()


@pytest.fixture
def every(eng: Engine, clock: FrozenClock) -> list[Dossier]:
    """A varied set of dossiers, as they are at the end (the clock a week on)."""
    codes = populate(eng, clock, seed=11)
    clock.advance(timedelta(days=7))
    return [eng.get(code) for code in codes]


def expected(every: list[Dossier], clock: FrozenClock, order: str = "submitted",
             **filters: Any) -> list[str]:
    return ordered((d for d in every if matches(d, clock.now(), **filters)), order)


FILTERS: list[tuple[str, dict[str, Any]]] = [
    ("agency", {"agency": OTHER}),
    ("one state", {"state": "processing"}),
    ("several states", {"state": ["awaiting_reception", "awaiting_supplement", "refused"]}),
    ("procedure", {"procedure": FREE.code}),
    ("channel", {"channel": "online"}),
    ("owner", {"owner": "cd02"}),
    ("assignee", {"assignee": "cv02"}),
    ("portal status", {"portal_status": 4}),
    ("portal statuses", {"portal_status": [3, 9, 10]}),
    ("overdue", {"overdue": True}),
    ("applicant", {"applicant_id": id_number(2)}),
    ("text", {"text": "h34-2509"}),
    ("agency and state", {"agency": AGENCY, "state": ["processing", "awaiting_payment"]}),
    ("online and unreceived", {"channel": "online", "portal_status": 1}),
]


@pytest.mark.parametrize(("name", "filters"), FILTERS, ids=[name for name, _ in FILTERS])
def test_each_filter_finds_exactly_what_the_reference_model_selects(
        eng: Engine, every: list[Dossier], clock: FrozenClock, name: str,
        filters: dict[str, Any]) -> None:
    want = expected(every, clock, **filters)
    assert want, f"the data set has nothing for {name}: the test would prove nothing"
    assert page_through(eng, **filters) == want
    assert eng.count(**filters) == len(want)


def test_received_between_is_half_open_and_due_before_is_strict(
        eng: Engine, every: list[Dossier], clock: FrozenClock) -> None:
    received = sorted(d.received_at for d in every if d.received_at is not None)
    window = (received[2], received[-3])
    assert page_through(eng, received_between=window) == expected(
        every, clock, received_between=window)
    due = sorted(d.due_at for d in every if d.due_at is not None)[4]
    assert page_through(eng, due_before=due) == expected(every, clock, due_before=due)
    assert all(d.due_at is not None and d.due_at < due
               for d in eng.find(due_before=due, limit=500).items)


@pytest.mark.parametrize("order", ["step_due", "due", "submitted", "updated"])
def test_every_order_pages_through_each_dossier_once(
        eng: Engine, every: list[Dossier], clock: FrozenClock, order: str) -> None:
    assert page_through(eng, order=order, limit=4) == ordered(every, order)
    assert page_through(eng, order=order, limit=4, agency=AGENCY) == expected(
        every, clock, order, agency=AGENCY)


def test_a_page_holds_limit_items_and_the_last_page_has_no_next(
        eng: Engine, every: list[Dossier]) -> None:
    first = eng.find(limit=len(every) - 1)
    assert len(first.items) == len(every) - 1
    assert first.next is not None
    last = eng.find(limit=len(every) - 1, after=first.next)
    assert len(last.items) == 1
    assert last.next is None
    assert eng.find(limit=len(every)).next is None


@pytest.mark.parametrize("order", ["submitted", "step_due", "due"])
def test_paging_never_repeats_or_skips_while_dossiers_arrive(
        eng: Engine, clock: FrozenClock, order: str) -> None:
    people = staff()
    before = []
    for i in range(12):
        code = submit(eng).code
        if i % 3:
            eng.fire(code, "receive", actor=people["clerk"])
        before.append(code)
        clock.advance(timedelta(minutes=30))
    seen: list[str] = []
    page = eng.find(agency=AGENCY, order=order, limit=5)
    seen += [d.code for d in page.items]
    arrivals = 0
    while page.next is not None:
        # four clerks submit (and receive) at once between every two pages
        def arrive(i: int) -> str:
            code = submit(eng).code
            if i % 2:
                eng.fire(code, "receive", actor=people["clerk"])
            return code

        made = race(4, arrive)
        assert all(isinstance(m, str) for m in made)
        arrivals += len(made)
        page = eng.find(agency=AGENCY, order=order, limit=5, after=page.next)
        seen += [d.code for d in page.items]
    assert len(seen) == len(set(seen))
    assert set(before) <= set(seen)
    assert arrivals > 0


@pytest.mark.parametrize("cursor", [
    "", "not base64 !", "e30", "W10", "x" * 600, "ñ",
    base64.urlsafe_b64encode(json.dumps([1, "0" * 16, 0, None, 1]).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps([2, "x", 0, None, 1]).encode()).decode(),
])
def test_a_malformed_cursor_is_invalid_input(eng: Engine, cursor: str) -> None:
    submit(eng)
    with pytest.raises(InvalidInput, match="not a cursor of this query"):
        eng.find(after=cursor)


def test_a_cursor_is_refused_by_another_query_and_when_tampered(
        eng: Engine, clock: FrozenClock) -> None:
    for _ in range(3):
        submit(eng)
        clock.advance(timedelta(minutes=1))
    cursor = eng.find(limit=1, order="submitted").next
    assert cursor is not None
    with pytest.raises(InvalidInput):
        eng.find(limit=1, order="updated", after=cursor)
    with pytest.raises(InvalidInput):
        eng.find(limit=1, order="submitted", agency=AGENCY, after=cursor)
    body = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    for tampered in ([*body[:2], 5, *body[3:]], [*body[:3], None, body[4]],
                     [*body[:3], "yesterday", body[4]], [*body[:4], -1], [*body[:4], 2**70],
                     [*body[:3], "0001-01-01T00:00:00+01:00", body[4]]):
        raw = base64.urlsafe_b64encode(json.dumps(tampered).encode()).decode()
        with pytest.raises(InvalidInput):
            eng.find(limit=1, order="submitted", after=raw)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": True}, "limit"),
    ({"order": "name"}, "order"), ({"state": "lost"}, "unknown state"), ({"state": []}, "state"),
    ({"portal_status": 11}, "portal_status"), ({"channel": "fax"}, "channel"),
    ({"agency": "a b"}, "agency"), ({"overdue": "yes"}, "overdue"),
    ({"received_between": (1, 2)}, "received_between"), ({"text": "x\x00"}, "text"),
    ({"applicant_id": "12345"}, "applicant_id"),
])
def test_bad_arguments_are_invalid_input(eng: Engine, kwargs: dict[str, Any],
                                         message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        eng.find(**kwargs)


def test_applicant_id_needs_the_applicant_key_and_is_never_echoed(
        db_url: str, clock: FrozenClock) -> None:
    engine = setup(Engine(db_url, clock=clock))
    try:
        with pytest.raises(InvalidInput, match="applicant key") as caught:
            engine.find(applicant_id=id_number(1))
        assert id_number(1) not in str(caught.value)
    finally:
        engine.close()
    with pytest.raises(InvalidInput) as bad:
        Engine.in_memory(applicant_key=KEY).find(applicant_id="００１０９００１２３４５")
    assert "１" not in str(bad.value)


def test_an_old_applicant_key_still_finds_what_it_indexed(db_url: str, clock: FrozenClock) -> None:
    old, new = "o" * 32, "n" * 32
    engine = setup(Engine(db_url, clock=clock, applicant_key=old))
    before = submit(engine, number=id_number(7)).code
    engine.close()
    engine = Engine(db_url, clock=clock, applicant_key=[new, old])
    after = submit(engine, number=id_number(7)).code
    assert [d.code for d in engine.find(applicant_id=id_number(7)).items] == [before, after]
    engine.close()
    engine = Engine(db_url, clock=clock, applicant_key=new)
    assert [d.code for d in engine.find(applicant_id=id_number(7)).items] == [after]
    engine.close()


def test_staff_find_only_their_agencys_dossiers(
        eng: Engine, every: list[Dossier], clock: FrozenClock) -> None:
    mine = staff()["specialist"]
    assert page_through(eng, actor=mine) == expected(every, clock, agency=AGENCY)
    assert eng.count(actor=staff(OTHER)["clerk"]) == len(expected(every, clock, agency=OTHER))
    with pytest.raises(PermissionDenied):
        eng.find(agency=OTHER, actor=mine)
    assert page_through(eng, actor=Actor.system()) == ordered(every, "submitted")


def test_a_citizen_finds_only_their_own_dossiers(
        eng: Engine, every: list[Dossier], clock: FrozenClock) -> None:
    citizen = Actor(id="cd01", role="citizen")
    assert page_through(eng, actor=citizen) == expected(every, clock, owner="cd01")
    assert page_through(eng, actor=citizen, agency=OTHER) == expected(
        every, clock, owner="cd01", agency=OTHER)
    with pytest.raises(PermissionDenied):
        eng.find(owner="cd02", actor=citizen)


def test_the_applicant_digest_is_in_no_event_and_no_log(
        eng: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="dossier")
    code = submit(eng, number=id_number(3)).code
    eng.fire(code, "receive", actor=staff()["clerk"])
    assert eng.find(applicant_id=id_number(3)).items[0].code == code
    from dossier.applicant_keys import ApplicantKeys

    digest = ApplicantKeys.of(KEY).digest(id_number(3))
    assert digest is not None
    events = json.dumps([dict(e.data) for e in eng.history(code)])
    logged = caplog.text
    for secret in (digest, id_number(3)):
        assert secret not in events
        assert secret not in logged
    assert digest not in repr(eng.get(code))


def test_the_procedure_filter_takes_the_code(eng: Engine) -> None:
    submit(eng, procedure=FREE.code)
    submit(eng, procedure=PAID.code)
    assert [d.procedure_code for d in eng.find(procedure=FREE.code).items] == [FREE.code]
