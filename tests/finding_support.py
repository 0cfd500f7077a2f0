"""What the tests of finding work share: procedures, people, a varied set of dossiers, and a
reference model of ``find``'s filters and orders in plain Python."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from conftest import make_procedure

from dossier import Actor, Dossier, Engine, State
from dossier.testing import FrozenClock

AGENCY = "000.00.12.H12"
OTHER = "000.00.34.H34"
KEY = "k" * 32
#: receive → pay → process (3 working days) → sign → return; the clock pauses for supplements
PAID = make_procedure("9.900101", ["receive", "pay", "process", "sign", "return"], fee=50_000,
                      budgets={"process": {"amount": 3, "unit": "working_days"}},
                      clock_policy="pause",
                      supplement_deadline={"amount": 5, "unit": "working_days"})
#: receive → process → return, free
FREE = make_procedure("9.900102", ["receive", "process", "return"], processing_days=2)
PATH: list[tuple[str, str, str]] = [  # (state, trigger, role) along PAID
    ("awaiting_reception", "receive", "clerk"),
    ("awaiting_payment", "pay", "clerk"),
    ("processing", "approve", "specialist"),
    ("awaiting_signature", "sign", "leader"),
    ("awaiting_return", "return_result", "clerk"),
]


def staff(agency: str = AGENCY, n: int = 1) -> dict[str, Actor]:
    """clerk, specialist, leader and certifier number ``n`` of ``agency``."""
    prefix = {"clerk": "nv", "specialist": "cv", "leader": "ld", "certifier": "ct"}
    suffix = "" if agency == AGENCY else "-b"
    return {role: Actor(id=f"{p}{n:02d}{suffix}", role=role, agency=agency)
            for role, p in prefix.items()}


def setup(engine: Engine) -> Engine:
    engine.register(PAID)
    engine.register(FREE)
    return engine


def id_number(i: int) -> str:
    return f"0010900{i:05d}"


def submit(engine: Engine, *, agency: str = AGENCY, procedure: str = PAID.code,
           citizen: str | None = None, number: str | None = None,
           name: str = "Nguyễn Văn An") -> Dossier:
    """A dossier at ``agency``: online by ``citizen`` if given, else at the counter."""
    applicant: dict[str, Any] = {"name": name}
    if number is not None:
        applicant["id_number"] = number
    if citizen is not None:
        return engine.submit(procedure, applicant=applicant, channel="online",
                             actor=Actor(id=citizen, role="citizen"), agency=agency)
    return engine.submit(procedure, applicant=applicant, channel="counter",
                         actor=staff(agency)["clerk"])


def advance(engine: Engine, code: str, steps: int) -> Dossier:
    """Fire the next ``steps`` steps of the dossier's path (each by its agency's staff)."""
    dossier = engine.get(code)
    people = staff(dossier.agency)
    for _ in range(steps):
        found = next(((t, r) for s, t, r in PATH if s == dossier.state), None)
        if found is None or (dossier.procedure_code == FREE.code and found[0] in ("pay", "sign")):
            break
        trigger, role = found
        data: dict[str, Any] = {"amount": dossier.fee_due} if trigger == "pay" else {}
        dossier = engine.fire(code, trigger, actor=people[role], **data)
    return dossier


def populate(engine: Engine, clock: FrozenClock, seed: int, n: int = 40) -> list[str]:
    """``n`` dossiers of two agencies and procedures, in every state along the way, some
    waiting for a supplement, some closed, some assigned, submitted hours apart."""
    rng = random.Random(seed)
    codes: list[str] = []
    for _i in range(n):
        agency = rng.choice((AGENCY, AGENCY, OTHER))
        procedure = rng.choice((PAID.code, PAID.code, FREE.code))
        citizen = rng.choice((None, "cd01", "cd02"))
        number = id_number(rng.randrange(6)) if rng.random() < 0.8 else None
        code = submit(engine, agency=agency, procedure=procedure, citizen=citizen,
                      number=number).code
        codes.append(code)
        dossier = advance(engine, code, rng.randrange(6))
        people = staff(agency)
        if dossier.state is State.PROCESSING and rng.random() < 0.25:
            dossier = engine.fire(code, "request_supplement", actor=people["specialist"],
                                  reason="Thiếu bản sao")
        elif dossier.state is State.AWAITING_RECEPTION and rng.random() < 0.3:
            dossier = engine.fire(code, "refuse", actor=people["clerk"], reason="Sai thẩm quyền")
        if dossier.step_role is not None and rng.random() < 0.5:
            role = dossier.step_role.value
            who = rng.choice((people[role], staff(agency, 2)[role]))
            engine.assign(code, who, actor=people["leader"])
        clock.advance(timedelta(hours=rng.choice((1, 3, 7, 26))))
    return codes


# --- the reference model ---------------------------------------------------------------------

def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


def matches(d: Dossier, now: datetime, *, agency: str | None = None,
            state: str | Iterable[str] | None = None, procedure: str | None = None,
            channel: str | None = None, owner: str | None = None,
            assignee: str | None = None, portal_status: int | Iterable[int] | None = None,
            received_between: tuple[datetime, datetime] | None = None,
            due_before: datetime | None = None, overdue: bool = False,
            applicant_id: str | None = None, text: str | None = None) -> bool:
    """Whether ``find`` with these filters selects ``d`` (the documented rules, in Python)."""
    received = d.received_at
    states = {state} if isinstance(state, str) else state
    statuses = {portal_status} if isinstance(portal_status, int) else portal_status
    return all((
        agency is None or d.agency == agency,
        states is None or d.state.value in set(states),
        procedure is None or d.procedure_code == procedure,
        channel is None or d.channel == channel,
        owner is None or d.owner == owner,
        assignee is None or d.assignee == assignee,
        statuses is None or d.portal_status in set(statuses),
        received_between is None or (received is not None
                                     and received_between[0] <= received < received_between[1]),
        due_before is None or (d.due_at is not None and d.due_at < due_before),
        not overdue or (not d.is_final and d.deadlines.paused_at is None
                        and d.due_at is not None and d.due_at < now),
        applicant_id is None or d.applicant.get("id_number") == applicant_id,
        text is None or _ascii_lower(text) in _ascii_lower(d.code),
    ))


ORDER_KEYS = {"step_due": lambda d: d.step_due_at, "due": lambda d: d.due_at,
              "submitted": lambda d: d.submitted_at, "updated": lambda d: d.updated_at}


def ordered(dossiers: Iterable[Dossier], order: str) -> list[str]:
    """Codes in ``order``: by the date, earliest first, then undated ones; ties by id."""
    key = ORDER_KEYS[order]
    every = list(dossiers)
    dated = sorted((d for d in every if key(d) is not None), key=lambda d: (key(d), d.id))
    undated = sorted((d for d in every if key(d) is None), key=lambda d: d.id)
    return [d.code for d in dated + undated]


def page_through(engine: Engine, limit: int = 7, **query: Any) -> list[str]:
    """Every code ``find`` gives for ``query``, page by page."""
    codes: list[str] = []
    after: str | None = None
    while True:
        page = engine.find(limit=limit, after=after, **query)
        codes += [d.code for d in page.items]
        if page.next is None:
            return codes
        after = page.next
