"""Named, data-driven guards: each says what is still missing before a transition may fire.

A guard is a function of a :class:`GuardContext` returning the missing things (component
ids, ``"payment"``…); an empty list means the guard is met. The rule book names guards on
transitions as `transitions` conditions; the engine looks them up here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from dossier.clock import LOCAL_TZ
from dossier.procedure.model import Medium, Procedure
from dossier.states import State, Step


class GuardContext(Protocol):
    """What a guard may look at. The methods may query the store, so they are lazy:
    ``supplement_requests`` counts the requests made so far; ``after_reception(n)`` is the
    instant ``n`` working days after reception on the agency's calendar (None before it)."""

    @property
    def procedure(self) -> Procedure: ...
    @property
    def state(self) -> State: ...
    @property
    def resume_state(self) -> State | None: ...
    @property
    def received(self) -> bool: ...
    @property
    def fee_due(self) -> int: ...
    @property
    def paid_amount(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def now(self) -> datetime: ...
    def supplement_requests(self) -> int: ...
    def after_reception(self, working_days: int) -> datetime | None: ...
    def stored_components(self) -> frozenset[str]: ...
    def signed_results(self) -> frozenset[str]: ...
    def certified_components(self) -> frozenset[str]: ...


Guard = Callable[[GuardContext], list[str]]


def components_digitised(ctx: GuardContext) -> list[str]:
    """digitise: every ``must_digitise`` component has a stored file."""
    stored = ctx.stored_components()
    return [c.id for c in ctx.procedure.components if c.must_digitise and c.id not in stored]


def originals_stored(ctx: GuardContext) -> list[str]:
    """certify: every required component that ``may_certify`` has a stored original to copy."""
    stored = ctx.stored_components()
    return [c.id for c in ctx.procedure.components
            if c.may_certify and c.required and c.id not in stored]


def amount_matches_fee(ctx: GuardContext) -> list[str]:
    """pay: the amount paid is the fee due, to the đồng."""
    amount = ctx.data.get("amount")
    return [] if amount == ctx.fee_due else [f"amount {ctx.fee_due} VND"]


def fee_paid(ctx: GuardContext) -> list[str]:
    """sign / return_result after a ``pay`` step: the fee has been paid in full."""
    return [] if ctx.paid_amount >= ctx.fee_due else ["payment"]


def result_signed(ctx: GuardContext) -> list[str]:
    """sign: the ``document`` named is a signed result stored for this dossier (made by
    ``Engine.sign_result``), unless the procedure signs on paper."""
    if ctx.procedure.signing is Medium.PAPER:
        return []
    return [] if ctx.data.get("document") in ctx.signed_results() else ["signed result"]


def copies_certified(ctx: GuardContext) -> list[str]:
    """certify: every certifiable component that is required or was attached has its
    certified e-copy (``Engine.certify_copy``), unless the procedure certifies on paper."""
    if ctx.procedure.certification is Medium.PAPER:
        return []
    return uncertified(ctx.procedure, ctx.stored_components(), ctx.certified_components())


def uncertified(procedure: Procedure, stored: frozenset[str],
                certified: frozenset[str]) -> list[str]:
    """The certifiable components, required or attached, that have no certified copy yet."""
    return [c.id for c in procedure.components
            if c.may_certify and (c.required or c.id in stored) and c.id not in certified]


def received(ctx: GuardContext) -> list[str]:
    """stop from awaiting_supplement: only a dossier that was received can be stopped."""
    return [] if ctx.received else ["reception"]


def supplement_requests_left(ctx: GuardContext) -> list[str]:
    """request_supplement: the dossier has had fewer supplement requests than the procedure's
    ``max_supplement_requests`` (one by default: hướng dẫn một lần)."""
    allowed = ctx.procedure.max_supplement_requests
    made = ctx.supplement_requests()
    return [] if made < allowed else [f"a supplement request beyond the {made} allowed"]


def supplement_request_in_time(ctx: GuardContext) -> list[str]:
    """request_supplement: within the procedure's ``supplement_request_within_days`` working
    days of reception (no limit when it states none; none before reception either)."""
    days = ctx.procedure.supplement_request_within_days
    last = None if days is None else ctx.after_reception(days)
    if last is None or ctx.now <= last:
        return []
    return [f"a request by {last.astimezone(LOCAL_TZ):%H:%M %d/%m/%Y} ({days} working days "
            "after reception)"]


def _resumes_at(state: State) -> Guard:
    def check(ctx: GuardContext) -> list[str]:
        return [] if ctx.resume_state is state else [f"resume_state {state.value}"]
    check.__doc__ = f"supplement: routes back to {state.value}."
    return check


#: Guards that only route a trigger to one of several targets; failing one is not an error.
ROUTING_PREFIX = "resumes_at_"

GUARDS: dict[str, Guard] = {
    "components_digitised": components_digitised,
    "originals_stored": originals_stored,
    "amount_matches_fee": amount_matches_fee,
    "fee_paid": fee_paid,
    "result_signed": result_signed,
    "copies_certified": copies_certified,
    "received": received,
    "supplement_requests_left": supplement_requests_left,
    "supplement_request_in_time": supplement_request_in_time,
    **{f"{ROUTING_PREFIX}{state.value}": _resumes_at(state) for state in State},
}

GUARD_HINTS: dict[str, str] = {
    "components_digitised": "Attach a scanned file for each listed component first.",
    "originals_stored": "Attach the original of each listed component before certifying.",
    "amount_matches_fee": "Pass amount= equal to the dossier's fee_due.",
    "fee_paid": "Collect the fee (trigger 'pay') first.",
    "result_signed": "Sign the result with engine.sign_result(code, actor=…, signer=…); "
                     "it fires 'sign' with the signed document (or declare signing = "
                     "\"paper\" in the procedure).",
    "copies_certified": "Issue each certified copy with engine.certify_copy(code, component, "
                        "actor=…, signer=…); the last one fires 'certify' (or declare "
                        "certification = \"paper\" in the procedure).",
    "received": "A dossier not yet received can be refused or withdrawn, not stopped.",
    "supplement_requests_left": "The procedure allows no more supplement requests "
                                "(max_supplement_requests): decide on the dossier as it is "
                                "(refuse with the reason, or process it).",
    "supplement_request_in_time": "The time for supplement requests after reception "
                                  "(supplement_request_within_days) has passed: decide on the "
                                  "dossier as it is.",
}

#: The guards of every supplement request (yêu cầu bổ sung), before or after reception.
SUPPLEMENT_REQUEST_GUARDS: tuple[str, ...] = ("supplement_requests_left",
                                              "supplement_request_in_time")


#: The guards each step's trigger checks, in order; the rule book adds ``fee_paid`` to the
#: steps after a ``pay`` step (see :func:`step_guards`).
STEP_GUARDS: dict[Step, tuple[str, ...]] = {
    Step.DIGITISE: ("components_digitised",),
    Step.CERTIFY: ("originals_stored", "copies_certified"),
    Step.PAY: ("amount_matches_fee",),
    Step.SIGN: ("result_signed",),
}
#: Steps that may not complete before the fee is paid, when the procedure has a pay step
#: earlier on.
NEEDS_FEE: frozenset[Step] = frozenset({Step.SIGN, Step.RETURN})


def step_guards(procedure: Procedure, step: Step) -> tuple[str, ...]:
    """The guards of ``step`` under ``procedure``: the table's, then ``fee_paid`` when a
    ``pay`` step comes before it."""
    names = STEP_GUARDS.get(step, ())
    pay_at = procedure.step_index(Step.PAY)
    if step in NEEDS_FEE and 0 <= pay_at < procedure.step_index(step):
        names = ("fee_paid", *names)
    return names
