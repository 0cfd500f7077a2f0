"""Who may do what to which dossier: every role and party check of every entry point.

Pure functions over tables; the kernel and the services call them and nothing else decides.

- **Parties.** Staff act only inside their agency; a ``system`` actor without an agency acts
  anywhere (the worker), with one only there; a citizen acts only on dossiers they submitted
  (``Dossier.owner``).
- **Submission.** Clerks enter counter and post dossiers for their own agency; citizens (or
  ``system``) submit online to the agency they name.
- **Triggers.** The roles allowed to fire a trigger in a state come from the procedure's rule
  book: each step's role in the procedure file (plus ``system`` for the steps in
  :data:`dossier.states.SYSTEM_COMPLETABLE_STEPS`) and the side exits' roles in
  :data:`dossier.states.SIDE_EXITS`. :func:`authorise_trigger` applies them.
- **Other actions** (attach, apology letter, payments, refunds, signatures, certified
  copies, assignment, the citizen's rating) are in :data:`ACTIONS`: a set of roles, or "the
  role of step X of the procedure".
- **Assignment** (phân công). A dossier's current step may be assigned to one officer of
  the step's role; then only they, or a leader, do the step's work: its trigger, the
  decisions taken at it (``request_supplement``, ``refuse``) and the step's actions (take the
  fee, sign the result, certify a copy) — :func:`check_assignment`. ``system`` (a gateway, a
  remote signer, the timers) is not held back, and neither is the citizen. The assignment
  ends when the dossier leaves the step: a new step is a new assignment.
- **On behalf of.** A clerk acting for the citizen (supplement, withdraw) records the citizen
  in ``on_behalf_of``; ``system`` completing ``pay``/``sign`` must name the real payer/signer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dossier import text
from dossier.actors import STAFF_ROLES, Actor, check_agency
from dossier.errors import InvalidInput, PermissionDenied
from dossier.procedure.model import Procedure
from dossier.records import Dossier
from dossier.states import (
    ON_BEHALF_OF_CITIZEN,
    STEP_BY_STATE,
    STEP_BY_TRIGGER,
    Role,
    State,
    Step,
    Trigger,
)
from dossier.text import Kind

#: Whole numbers in the applicant mapping: far beyond any real entry, well within BIGINT.
MAX_APPLICANT_INT = 10**15


class Action(StrEnum):
    """What an entry point other than a plain trigger does to a dossier."""

    ATTACH = "attach files"
    EXTEND = "issue an apology letter"
    OPEN_PAYMENT = "open a payment"
    TAKE_FEE = "take the fee at the counter"
    REFUND = "refund a fee"
    CONFIRM_REFUND = "confirm a refund"
    SIGN_RESULT = "sign the result"
    CERTIFY_COPY = "certify a copy"
    ASSIGN = "assign the dossier"
    RATE = "rate the service"


@dataclass(frozen=True, kw_only=True)
class Permission:
    """Who may perform an action: fixed ``roles``, or the role of the procedure's ``step``
    (``system`` excluded: these actions are done by a person)."""

    roles: frozenset[Role] = frozenset()
    step: Step | None = None
    who: str = ""  # how the error message names the allowed people


#: Every action and who may perform it (besides being a party to the dossier).
ACTIONS: Mapping[Action, Permission] = {
    Action.ATTACH: Permission(roles=STAFF_ROLES | {Role.CITIZEN}),
    Action.EXTEND: Permission(roles=frozenset({Role.CLERK, Role.LEADER}), who="clerk or leader"),
    Action.OPEN_PAYMENT: Permission(roles=STAFF_ROLES | {Role.CITIZEN, Role.SYSTEM}),
    Action.TAKE_FEE: Permission(step=Step.PAY),
    Action.REFUND: Permission(roles=frozenset({Role.CLERK, Role.LEADER}),
                              who="a clerk or leader of the agency does"),
    Action.CONFIRM_REFUND: Permission(roles=frozenset({Role.CLERK, Role.LEADER})),
    Action.SIGN_RESULT: Permission(step=Step.SIGN),
    Action.CERTIFY_COPY: Permission(step=Step.CERTIFY),
    Action.ASSIGN: Permission(roles=frozenset({Role.CLERK, Role.LEADER}),
                              who="a clerk or leader of the agency does"),
    # the applicant, or a clerk of the agency recording their answer (a paper form, a kiosk)
    Action.RATE: Permission(roles=frozenset({Role.CITIZEN, Role.CLERK}),
                            who="the applicant does, or a clerk on their behalf"),
}

#: Triggers that do the work of the step a dossier is at: held for its assignee.
ASSIGNED_WORK: frozenset[Trigger] = frozenset(
    {*STEP_BY_TRIGGER, Trigger.REQUEST_SUPPLEMENT, Trigger.REFUSE})
#: Who is never held back by an assignment (a leader may take over any step).
_NOT_HELD: frozenset[Role] = frozenset({Role.LEADER, Role.SYSTEM, Role.CITIZEN})


def check_actor(actor: Any) -> Actor:
    """``actor`` itself; :class:`InvalidInput` unless it is an :class:`Actor`."""
    if not isinstance(actor, Actor):
        raise InvalidInput("actor= must be a dossier.Actor")
    return actor


def check_party(actor: Actor, dossier: Dossier) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may touch ``dossier`` at all."""
    code = dossier.code
    if actor.role is Role.CITIZEN:
        if dossier.owner != actor.id:
            raise PermissionDenied(f"{code} was not submitted by citizen {actor.id!r}")
    elif not actor.works_for(dossier.agency):
        raise PermissionDenied(f"{code} belongs to agency {dossier.agency}, not "
                               f"{actor.agency}")


def authorise(actor: Actor, dossier: Dossier, action: Action, procedure: Procedure) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may perform ``action`` on ``dossier``
    (a party to it, in an allowed role)."""
    check_party(actor, dossier)
    rule = ACTIONS[action]
    if rule.step is not None:
        role = next((s.role for s in procedure.steps if s.name is rule.step), None)
        if actor.role is Role.SYSTEM or actor.role is not role:
            allowed = f"a {role.value} of the agency does" if role else \
                f"procedure {procedure.code} has no {rule.step.value} step"
            if actor.role is Role.SYSTEM and rule.step is Step.SIGN:
                allowed = "it is for the signer in person; remote signatures are completed " \
                          "by poll_signatures"
            raise PermissionDenied(f"{dossier.code}: a {actor.role.value} may not "
                                   f"{action.value} ({allowed})")
        if STEP_BY_STATE.get(dossier.state) is rule.step:
            check_assignment(actor, dossier, action.value)
    elif actor.role not in rule.roles:
        who = rule.who or ", ".join(sorted(r.value for r in rule.roles))
        raise PermissionDenied(f"{dossier.code}: a {actor.role.value} may not {action.value} "
                               f"({who})")


def authorise_trigger(actor: Actor, dossier: Dossier, trigger: str,
                      roles: frozenset[Role]) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` holds one of ``roles`` (the rule
    book's roles for ``trigger`` in the dossier's state). The party check comes first."""
    if actor.role not in roles:
        raise PermissionDenied(
            f"{dossier.code}: a {actor.role.value} may not {trigger} in state "
            f"{dossier.state.value} (allowed: {', '.join(sorted(roles))})")


def check_assignment(actor: Actor, dossier: Dossier, work: str) -> None:
    """Raise :class:`PermissionDenied` if the dossier's current step is assigned to someone
    else and ``actor`` (neither a leader, system nor the citizen) would do its ``work``."""
    assignee = dossier.assignee
    if assignee is None or assignee == actor.id or actor.role in _NOT_HELD:
        return
    step = STEP_BY_STATE.get(dossier.state)
    at = f"its {step.value} step" if step is not None else "it"
    raise PermissionDenied(f"{dossier.code}: {at} is assigned to {assignee}; only they or a "
                           f"leader may {work} (a clerk or leader can reassign it)")


def step_role(procedure: Procedure, state: State) -> Role | None:
    """Who does the step a dossier waiting in ``state`` is at, by ``procedure``; None when it
    waits for no one's step (a supplement from the citizen, or closed)."""
    step = STEP_BY_STATE.get(state)
    return next((s.role for s in procedure.steps if s.name is step), None) if step else None


def submitting_agency(actor: Actor, channel: str, agency: str | None) -> str:
    """The agency a new dossier goes to; raises if ``actor`` may not submit it there."""
    if agency is not None and agency != "":  # "" reads as "not given", as before
        agency = check_agency("agency", agency)
    if actor.role is Role.CLERK:
        if agency is not None and agency != actor.agency:
            raise PermissionDenied(f"clerk {actor.id} works for {actor.agency}, not {agency}")
        if channel == "online":
            raise InvalidInput("online dossiers are submitted by the citizen (or system)")
        assert actor.agency is not None
        return actor.agency
    if actor.role in (Role.CITIZEN, Role.SYSTEM):
        if channel != "online":
            raise InvalidInput(f"a {actor.role.value} submits online; counter and post "
                               "dossiers are entered by a clerk")
        chosen = agency or actor.agency
        if not chosen:
            raise InvalidInput("an online submission must name the receiving agency=")
        if actor.agency is not None and chosen != actor.agency:
            raise PermissionDenied(f"{actor.id} acts for {actor.agency}, not {chosen}")
        return chosen
    raise PermissionDenied(f"a {actor.role.value} may not submit dossiers")


def on_behalf_of_for(actor: Actor, dossier: Dossier, trigger: Trigger,
                     given: str | None) -> str | None:
    """Who the event records as acted for (``given``, or the owner when a clerk acts)."""
    if given is not None:
        if not isinstance(given, str) or not given.strip():
            raise InvalidInput("on_behalf_of must be a non-empty id")
        given = text.clean("on_behalf_of", given, text.Kind.ACTOR_ID)
    if actor.role is Role.SYSTEM and trigger in STEP_BY_TRIGGER and given is None:
        raise InvalidInput(f"system completing {trigger.value} must name the real payer or "
                           "signer in on_behalf_of=")
    if given is None and actor.role is Role.CLERK and trigger in ON_BEHALF_OF_CITIZEN:
        return dossier.owner
    return given


def check_applicant(applicant: Any) -> dict[str, Any]:
    """The applicant mapping, checked and in NFC; the ID number is never echoed in errors."""
    if not isinstance(applicant, Mapping):
        raise InvalidInput("applicant must be a mapping with at least 'name'")
    clean: dict[str, Any] = {}
    for key, value in applicant.items():
        # keys are field names, checked first so that the messages below can name them
        name = text.clean("an applicant key", key, Kind.KEY)
        field = f"applicant[{name!r}]"
        if not isinstance(value, str | int | bool | None):
            raise InvalidInput(f"{field} must be text, a number or a boolean")
        if isinstance(value, str):
            kind = Kind.PERSON_NAME if name == "name" else Kind.FREE_TEXT
            value = text.clean(field, value, kind, blank=name != "name")
        elif isinstance(value, int) and not isinstance(value, bool) \
                and not -MAX_APPLICANT_INT <= value <= MAX_APPLICANT_INT:
            # stored as JSON text; a bound keeps every reader's int parsing sane
            raise InvalidInput(f"{field} must be a number within ±10**15")
        if name in clean:  # "name" and "name " (or NFD and NFC) would be one field
            raise InvalidInput(f"{field} is given twice")
        clean[name] = value
    if not isinstance(clean.get("name"), str):
        raise InvalidInput("applicant['name'] must be non-empty text")
    if clean.get("id_number") is not None:
        check_id_number("applicant['id_number']", clean["id_number"])
    return clean


def check_id_number(field: str, value: Any) -> str:
    """A citizen ID number: 12 ASCII digits (CCCD) or 9 (old CMND); never echoed in errors."""
    # ASCII digits only: str.isdigit also takes full-width and other scripts' digits
    if not isinstance(value, str) or not value.isascii() or not value.isdigit() \
            or len(value) not in (9, 12):
        # never echo the value: it is personal data
        raise InvalidInput(f"{field} must be 12 digits (CCCD) or 9 (old CMND)")
    return value
