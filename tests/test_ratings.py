"""engine.rate: the applicant rates a returned dossier once; a ``rate`` event in its chain."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from conftest import AGENCY, make_procedure, race

from dossier import RATING_CRITERIA, RATING_LEVELS, Actor, Dossier, Engine
from dossier.errors import (
    ConcurrencyConflict,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
)
from dossier.ratings import MAX_COMMENT, level_of
from dossier.testing import FrozenClock

CODE = "1.000001"
CITIZEN = Actor(id="cd01", role="citizen")
CLERK = Actor(id="nv01", role="clerk", agency=AGENCY)
SPECIALIST = Actor(id="cv01", role="specialist", agency=AGENCY)


@pytest.fixture
def engine(db_url: str, clock: FrozenClock) -> Iterator[Engine]:
    eng = Engine(db_url, clock=clock)
    eng.register(make_procedure(CODE, ["receive", "process", "return"]))
    yield eng
    eng.close()


def returned(engine: Engine, channel: str = "online") -> Dossier:
    actor = CITIZEN if channel == "online" else CLERK
    d = engine.submit(CODE, applicant={"name": "Nguyễn Văn A"}, channel=channel, actor=actor,
                      agency=AGENCY)
    for trigger, who in (("receive", CLERK), ("approve", SPECIALIST),
                         ("return_result", CLERK)):
        d = engine.fire(d.code, trigger, actor=who)
    return d


def test_the_owner_rates_a_returned_dossier_and_the_chain_records_it(engine: Engine) -> None:
    d = returned(engine)
    rating = engine.rate(d.code, actor=CITIZEN, level="Hài lòng",
                         criteria={"overall": 3, "staff_attitude": "satisfied"},
                         comment="Cán bộ hướng dẫn tận tình")
    assert rating.level.key == "satisfied"
    assert rating.criteria["overall"].label == "Rất hài lòng"
    assert (rating.actor, rating.role, rating.on_behalf_of) == ("cd01", "citizen", None)
    event = engine.history(d.code)[-1]
    assert (event.trigger, event.source, event.target) == ("rate", "returned", "returned")
    assert event.data == {"level": "satisfied",
                          "criteria": {"overall": "very_satisfied",
                                       "staff_attitude": "satisfied"},
                          "comment_sha256": hashlib.sha256(
                              "Cán bộ hướng dẫn tận tình".encode()).hexdigest()}
    assert engine.verify_audit(d.code)
    assert engine.rating(d.code, actor=CITIZEN) == rating
    assert engine.get(d.code).state == "returned"


def test_a_dossier_is_rated_once(engine: Engine) -> None:
    d = returned(engine)
    engine.rate(d.code, actor=CITIZEN, level=1)
    version = engine.get(d.code).version
    with pytest.raises(TransitionNotAllowed, match="already rated"):
        engine.rate(d.code, actor=CITIZEN, level=3)
    assert engine.get(d.code).version == version
    assert engine.rating(d.code).level.key == "dissatisfied"  # type: ignore[union-attr]


def test_only_a_returned_dossier_is_rated(engine: Engine) -> None:
    d = engine.submit(CODE, applicant={"name": "A"}, channel="online", actor=CITIZEN,
                      agency=AGENCY)
    with pytest.raises(TransitionNotAllowed, match="once the result is returned"):
        engine.rate(d.code, actor=CITIZEN, level=3)
    assert engine.rating(d.code) is None
    assert [e.trigger for e in engine.history(d.code)] == ["submit"]


@pytest.mark.parametrize("actor", [
    Actor(id="cd02", role="citizen"),                                 # not the owner
    SPECIALIST,                                                       # not a clerk
    Actor(id="nv09", role="clerk", agency="000.00.13.H12"),           # another agency
    Actor.system(),
])
def test_only_the_applicant_or_a_clerk_of_the_agency_rates(engine: Engine,
                                                          actor: Actor) -> None:
    d = returned(engine)
    with pytest.raises(PermissionDenied):
        engine.rate(d.code, actor=actor, level=3)


@pytest.mark.parametrize(("channel", "behalf"), [("online", "cd01"), ("counter", None)])
def test_a_clerk_records_the_applicants_rating_on_their_behalf(
        engine: Engine, channel: str, behalf: str | None) -> None:
    d = returned(engine, channel)
    rating = engine.rate(d.code, actor=CLERK, level="very_satisfied")
    assert (rating.role, rating.on_behalf_of) == ("clerk", behalf)
    assert engine.history(d.code)[-1].on_behalf_of == behalf
    assert engine.verify_audit(d.code)


@pytest.mark.parametrize(("given", "message"), [
    ({"level": 4}, "level must be one of"),
    ({"level": "ok"}, "level must be one of"),
    ({"level": True}, "level must be one of"),
    ({"level": 3, "criteria": {"speed": 3}}, "unknown rating criterion"),
    ({"level": 3, "criteria": {"overall": 0}}, "criteria\\['overall'\\]"),
    ({"level": 3, "criteria": ["overall"]}, "criteria must map"),
    ({"level": 3, "comment": "x" * (MAX_COMMENT + 1)}, "at most"),
    ({"level": 3, "comment": "a\x00b"}, "comment"),
])
def test_malformed_answers_are_refused_before_anything_is_written(
        engine: Engine, given: dict[str, object], message: str) -> None:
    d = returned(engine)
    with pytest.raises(InvalidInput, match=message):
        engine.rate(d.code, actor=CITIZEN, **given)  # type: ignore[arg-type]
    assert engine.rating(d.code) is None


def test_levels_are_named_by_score_key_or_label() -> None:
    assert [lv.score for lv in RATING_LEVELS] == [3, 2, 1]
    for level in RATING_LEVELS:
        assert level_of(level.score) == level_of(level.key) == level_of(level.label.upper())
    assert len({c.key for c in RATING_CRITERIA}) == len(RATING_CRITERIA) == 12


def test_the_comment_stays_out_of_the_event_and_the_messages(engine: Engine) -> None:
    d = returned(engine)
    engine.rate(d.code, actor=CITIZEN, level=2, comment="Số điện thoại tôi 0912345678")
    event = engine.history(d.code)[-1]
    assert "0912345678" not in repr(event.data)
    assert engine.rating(d.code).comment == "Số điện thoại tôi 0912345678"  # type: ignore[union-attr]


def test_two_ratings_at_once_leave_one(engine: Engine) -> None:
    d = returned(engine)
    outcomes = race(2, lambda i: engine.rate(d.code, actor=CITIZEN, level=i + 1))
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], ConcurrencyConflict | TransitionNotAllowed)
    assert [e.trigger for e in engine.history(d.code)].count("rate") == 1
    assert engine.verify_audit(d.code)
