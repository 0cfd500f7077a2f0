"""Random triggers by random actors on one dossier, checked against the issue's tables.

A hypothesis rule-based state machine fires any trigger (known or not) as any actor (staff of
the agency, the owner, another citizen, a foreign clerk, the system) with good or bad data,
and after every step checks what must always hold:

- the dossier is never ``returned`` unless every step of its procedure was completed in
  order (the fee paid when the procedure has ``pay``; a ``sign`` event when it has ``sign``);
- its state is one of the procedure's step states or a side state;
- a refused call changes nothing; an accepted one appends exactly one matching event;
- ``event_count == len(history)`` and ``verify_audit`` passes;
- the engine's answer agrees with an independent reading of the issue's tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
from conftest import make_procedure
from hypothesis import HealthCheck, event, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from dossier import (
    Actor,
    DossierError,
    Engine,
    GuardFailed,
    InvalidInput,
    PermissionDenied,
    Procedure,
    TransitionNotAllowed,
    Trigger,
)
from dossier.testing import FrozenClock

AGENCY = "000.00.12.H12"
FEE = 40_000
OWNER = "cd01"

STEP = {  # step → (state, trigger, role)
    "receive": ("awaiting_reception", "receive", "clerk"),
    "digitise": ("digitising", "digitise", "clerk"),
    "certify": ("certifying", "certify", "certifier"),
    "pay": ("awaiting_payment", "pay", "clerk"),
    "process": ("processing", "approve", "specialist"),
    "sign": ("awaiting_signature", "sign", "leader"),
    "return": ("awaiting_return", "return_result", "clerk"),
}
SIDE_STATES = {"awaiting_supplement", "returned", "refused", "withdrawn", "stopped"}
FINAL = {"returned", "refused", "withdrawn", "stopped"}


OPTIONAL = ("phu_luc", "Phụ lục")  # besides ban_chinh (digitised/certified when it has those steps)
PROCEDURES = [
    make_procedure("9.900041", ["receive", "digitise", "certify", "pay", "process", "sign",
                                "return"], fee=FEE, optional=OPTIONAL),
    # a procedure whose own law allows a second supplement round (the default is one)
    make_procedure("9.900042", ["receive", "process", "sign", "pay", "return"],
                   fee=FEE, optional=OPTIONAL, max_supplement_requests=3),
    make_procedure("9.900043", ["receive", "pay", "process", "return"],
                   fee=FEE, optional=OPTIONAL),
]

ACTORS = {
    "clerk": Actor(id="nv01", role="clerk", agency=AGENCY),
    "certifier": Actor(id="ct01", role="certifier", agency=AGENCY),
    "specialist": Actor(id="cv01", role="specialist", agency=AGENCY),
    "leader": Actor(id="ld01", role="leader", agency=AGENCY),
    "owner": Actor(id=OWNER, role="citizen"),
    "stranger": Actor(id="cd02", role="citizen"),
    "foreign": Actor(id="nv99", role="clerk", agency="000.00.34.H34"),
    "system": Actor.system(),
}
TRIGGERS = [t.value for t in Trigger] + ["fly"]
REASONED = {"request_supplement", "refuse", "withdraw", "stop"}
NEEDS_REASON = {"request_supplement", "refuse", "stop"}


def expected(procedure: Procedure, d: Any, stored: set[str], trigger: str, who: str,
             data: dict[str, Any], behalf: str | None, requests: int = 0) -> tuple[str, Any]:
    """The issue's answer: ("ok", target state) or ("error", exception classes)."""
    actor = ACTORS[who]
    if who in ("foreign", "stranger"):
        return "error", (PermissionDenied,)
    steps = [spec.name.value for spec in procedure.steps]
    states = [STEP[s][0] for s in steps]
    state = str(d.state)
    received = d.received_at is not None
    if trigger == "extend":  # an apology letter: not a move of the rule book
        if d.is_final or d.deadlines.clock_started_at is None or d.deadlines.extended:
            return "error", (TransitionNotAllowed,)
        if who not in ("clerk", "leader"):
            return "error", (PermissionDenied,)
        return "error", (InvalidInput,)  # these runs never give appointment_at
    moves: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for i, step in enumerate(steps):
        roles = {STEP[step][2]} | ({"system"} if step in ("pay", "sign") else set())
        target = states[i + 1] if i + 1 < len(states) else "returned"
        moves[(states[i], STEP[step][1])] = (target, roles)
    moves[("awaiting_reception", "request_supplement")] = ("awaiting_supplement", {"clerk"})
    if "processing" in states:
        moves[("processing", "request_supplement")] = ("awaiting_supplement", {"specialist"})
        moves[("processing", "refuse")] = ("refused", {"leader"})
    if d.resume_state is not None:
        moves[("awaiting_supplement", "supplement")] = (str(d.resume_state),
                                                       {"citizen", "clerk"})
    moves[("awaiting_reception", "refuse")] = ("refused", {"clerk"})
    moves[("awaiting_supplement", "refuse")] = ("refused", {"clerk", "system"})  # hết hạn
    for source in [*states[:-1], "awaiting_supplement"]:
        moves[(source, "withdraw")] = ("withdrawn", {"citizen", "clerk"})
    for source in [*states[1:], "awaiting_supplement"]:
        moves[(source, "stop")] = ("stopped", {"leader"})
    move = moves.get((state, trigger))
    if move is None:
        return "error", (TransitionNotAllowed,)
    target, roles = move
    if actor.role.value not in roles:
        return "error", (PermissionDenied,)
    if trigger in NEEDS_REASON and "reason" not in data:
        return "error", (InvalidInput,)
    if trigger == "pay" and data.get("amount", -1) < 0:
        return "error", (InvalidInput,)
    if who == "system" and behalf is None and trigger in ("pay", "sign"):
        return "error", (InvalidInput,)
    if trigger == "stop" and state == "awaiting_supplement" and not received:
        return "error", (TransitionNotAllowed, GuardFailed)  # not "after reception"
    if trigger == "request_supplement" and requests >= procedure.max_supplement_requests:
        return "error", (GuardFailed,)  # hướng dẫn một lần: no round beyond the allowed
    if trigger == "digitise" and "ban_chinh" not in stored:
        return "error", (GuardFailed,)
    if trigger == "certify" and "ban_chinh" not in stored:
        return "error", (GuardFailed,)
    if trigger == "pay" and data["amount"] != d.fee_due:
        return "error", (GuardFailed,)
    if trigger == "pay" and who == "system" and d.fee_due > 0:
        # fire("pay") records a fee a person took at the counter; a gateway's callback
        # completes pay for online payments
        return "error", (PermissionDenied,)
    return "ok", target


class DossierLifecycle(RuleBasedStateMachine):
    """One dossier, submitted online by its owner, under random actions."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock(datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
        self.engine = Engine.in_memory(clock=self.clock)
        self.stored: set[str] = set()

    @initialize(procedure=st.sampled_from(PROCEDURES))
    def submit(self, procedure: Procedure) -> None:
        self.procedure = procedure
        self.engine.register(procedure)
        self.code = self.engine.submit(procedure.code, applicant={"name": "Võ Thị F"},
                                       channel="online", actor=ACTORS["owner"],
                                       agency=AGENCY).code
        self.step_states = {STEP[s.name.value][0] for s in procedure.steps}

    def _snapshot(self) -> tuple[Any, list[Any]]:
        return self.engine.get(self.code), self.engine.history(self.code)

    @rule(trigger=st.sampled_from(TRIGGERS), who=st.sampled_from(sorted(ACTORS)),
          reason=st.booleans(), amount=st.sampled_from(["due", "short", "negative", "none"]),
          behalf=st.booleans(), junk=st.integers(0, 9),
          wait=st.sampled_from([0, 0, 5, 60, 60 * 24]))
    def fire_anything(self, trigger: str, who: str, reason: bool, amount: str, behalf: bool,
                      junk: int, wait: int) -> None:
        self.clock.advance(timedelta(minutes=wait))
        fee_due = self.engine.get(self.code).fee_due
        data: dict[str, Any] = {}
        if trigger in REASONED and reason:
            data["reason"] = "Lý do"
        if trigger == "pay" and amount != "none":
            data["amount"] = {"due": fee_due, "short": fee_due - 1, "negative": -1}[amount]
        if junk == 0:
            data["colour"] = "red"  # unknown key: always refused, at the data stage
        self._fire_and_check(trigger, who, data, "cd01" if who == "system" and behalf else None)

    @rule(move=st.sampled_from([("request_supplement", "clerk"),
                                ("request_supplement", "specialist"), ("supplement", "owner"),
                                ("supplement", "clerk"), ("refuse", "clerk"),
                                ("refuse", "leader"), ("withdraw", "owner"),
                                ("withdraw", "clerk"), ("stop", "leader")]))
    def take_a_side_exit(self, move: tuple[str, str]) -> None:
        """A side exit by a role the issue names for it somewhere (maybe not in this state)."""
        trigger, who = move
        self._fire_and_check(trigger, who, {"reason": "Lý do"} if trigger in REASONED else {},
                             None)

    @rule(by_system=st.booleans())
    def complete_the_current_step(self, by_system: bool) -> None:
        """Do the right thing, so that random runs also reach the end of the lifecycle."""
        dossier = self.engine.get(self.code)
        for spec in self.procedure.steps:
            state, trigger, role = STEP[spec.name.value]
            if dossier.state != state:
                continue
            if trigger in ("digitise", "certify") and "ban_chinh" not in self.stored:
                self.attach("clerk", "ban_chinh")
            data = {"amount": dossier.fee_due} if trigger == "pay" else {}
            if by_system and trigger == "sign":
                self._fire_and_check(trigger, "system", data, "cd01")
            else:
                self._fire_and_check(trigger, role, data, None)
            return

    def _fire_and_check(self, trigger: str, who: str, data: dict[str, Any],
                        on_behalf_of: str | None) -> None:
        before, history = self._snapshot()
        requests = sum(e.trigger == "request_supplement" for e in history)
        verdict, answer = expected(self.procedure, before, self.stored, trigger, who, data,
                                   on_behalf_of, requests)
        junk = "colour" in data
        if junk and verdict == "ok":
            verdict, answer = "error", (InvalidInput,)
        refused: DossierError | None = None
        try:
            after = self.engine.fire(self.code, trigger, actor=ACTORS[who],
                                     on_behalf_of=on_behalf_of, **data)
        except DossierError as exc:
            refused = exc
        if refused is not None:
            assert self._snapshot() == (before, history), "a refused call changed the dossier"
            assert verdict == "error", f"{trigger} by {who} in {before.state}: {refused!r}"
            if not junk:
                assert isinstance(refused, answer), (
                    f"{trigger} by {who} in {before.state}: expected {answer}, got {refused!r}")
            return
        assert verdict == "ok", (f"{trigger} by {who} in {before.state} was accepted; "
                                 f"expected {answer}")
        assert after.state == answer
        assert after.version == before.version + 1
        new_history = self.engine.history(self.code)
        assert new_history[:-1] == history
        last = new_history[-1]
        assert (last.trigger, last.source, last.target, last.actor) == (
            trigger, str(before.state), str(after.state), ACTORS[who].id)
        assert last.at == self.clock.now()

    @rule(who=st.sampled_from(["clerk", "owner", "foreign"]),
          component=st.sampled_from(["ban_chinh", "phu_luc"]))
    def attach(self, who: str, component: str) -> None:
        before, history = self._snapshot()
        refused = False
        try:
            self.engine.attach(self.code, component, b"%PDF-1.4 " + component.encode(),
                               f"{component}.pdf", actor=ACTORS[who])
        except DossierError:
            refused = True
        assert refused == (who == "foreign" or before.is_final)
        if refused:
            assert self._snapshot() == (before, history)
            return
        self.stored.add(component)
        assert self.engine.get(self.code).event_count == before.event_count + 1

    @invariant()
    def state_is_a_known_state(self) -> None:
        state = self.engine.get(self.code).state
        event(f"reached {state}")  # --hypothesis-show-statistics: how far runs get
        assert state in self.step_states | SIDE_STATES

    @invariant()
    def event_count_matches_history_and_audit_passes(self) -> None:
        dossier, history = self._snapshot()
        assert dossier.event_count == len(history)
        assert history[0].trigger == "submit"
        assert self.engine.verify_audit(self.code)

    @invariant()
    def final_states_are_closed(self) -> None:
        dossier = self.engine.get(self.code)
        assert (dossier.closed_at is not None) == (dossier.state in FINAL)

    @invariant()
    def never_returned_unless_every_step_was_completed(self) -> None:
        dossier, history = self._snapshot()
        if dossier.state != "returned":
            return
        done = [e.trigger for e in history
                if e.trigger not in ("submit", "attach", "request_supplement", "supplement")]
        assert done == [STEP[s.name.value][1] for s in self.procedure.steps]
        if any(s.name == "pay" for s in self.procedure.steps):
            assert dossier.paid_amount >= dossier.fee_due > 0
        if any(s.name == "sign" for s in self.procedure.steps):
            assert "sign" in done

    def teardown(self) -> None:
        self.engine.close()


DossierLifecycle.TestCase.settings = settings(
    max_examples=50, stateful_step_count=30, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
test_random_actions_never_break_the_lifecycle = DossierLifecycle.TestCase
