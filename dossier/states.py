"""The standard one-stop-shop lifecycle (quy trình một cửa): steps, states, triggers, roles.

A procedure picks an ordered subset of the steps; the dossier waits in the step's state until
the step's trigger completes it, then moves to the next step's state (``returned`` after the
last). Side exits (supplement, refusal, withdrawal, stop) are listed in :data:`SIDE_EXITS`.

This module is a leaf: the rest of the library reads these tables, nothing here imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: How a dossier comes in: at the counter, online (the citizen submits), or by post.
CHANNELS: tuple[str, ...] = ("counter", "online", "post")


class Role(StrEnum):
    """Who acts on a dossier."""

    CITIZEN = "citizen"          # công dân / tổ chức nộp hồ sơ
    CLERK = "clerk"              # công chức bộ phận một cửa
    SPECIALIST = "specialist"    # chuyên viên xử lý
    CERTIFIER = "certifier"      # người thực hiện chứng thực
    LEADER = "leader"            # lãnh đạo, người ký
    SYSTEM = "system"            # the engine's worker, gateways and remote signers


class Step(StrEnum):
    """A step of the standard lifecycle."""

    RECEIVE = "receive"      # tiếp nhận
    DIGITISE = "digitise"    # số hóa
    CERTIFY = "certify"      # chứng thực bản sao điện tử
    PAY = "pay"              # thanh toán phí, lệ phí
    PROCESS = "process"      # thẩm định, xử lý
    SIGN = "sign"            # ký số kết quả
    RETURN = "return"        # trả kết quả


class State(StrEnum):
    """Where a dossier waits. Compares equal to its name string."""

    AWAITING_RECEPTION = "awaiting_reception"
    DIGITISING = "digitising"
    CERTIFYING = "certifying"
    AWAITING_PAYMENT = "awaiting_payment"
    PROCESSING = "processing"
    AWAITING_SIGNATURE = "awaiting_signature"
    AWAITING_RETURN = "awaiting_return"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    RETURNED = "returned"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    STOPPED = "stopped"


class Trigger(StrEnum):
    """What an actor does to move a dossier; each event records the trigger that fired."""

    SUBMIT = "submit"                        # only recorded: creates the dossier
    ATTACH = "attach"                        # only recorded: a component file was stored
    RECEIVE = "receive"
    DIGITISE = "digitise"
    CERTIFY = "certify"
    PAY = "pay"
    APPROVE = "approve"
    SIGN = "sign"
    RETURN_RESULT = "return_result"
    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT = "supplement"
    REFUSE = "refuse"
    WITHDRAW = "withdraw"
    STOP = "stop"
    EXTEND = "extend"                        # only recorded: apology letter, new appointment
    SLA_WARNING = "sla_warning"              # only recorded: the due date is near
    OVERDUE = "overdue"                      # only recorded: the due date passed while open
    ASSIGN = "assign"                        # only recorded: the current step given to an
                                             # officer (phân công)
    RATE = "rate"                            # only recorded: the applicant rated the service
                                             # of a returned dossier (đánh giá hài lòng)


#: Triggers recorded as events but never fired through the rule book.
RECORDED_ONLY: frozenset[Trigger] = frozenset(
    {Trigger.SUBMIT, Trigger.ATTACH, Trigger.EXTEND, Trigger.SLA_WARNING, Trigger.OVERDUE,
     Trigger.ASSIGN, Trigger.RATE})

FINAL_STATES: frozenset[State] = frozenset(
    {State.RETURNED, State.REFUSED, State.WITHDRAWN, State.STOPPED}
)

#: step → (state the dossier waits in, trigger that completes the step)
STEP_TABLE: dict[Step, tuple[State, Trigger]] = {
    Step.RECEIVE: (State.AWAITING_RECEPTION, Trigger.RECEIVE),
    Step.DIGITISE: (State.DIGITISING, Trigger.DIGITISE),
    Step.CERTIFY: (State.CERTIFYING, Trigger.CERTIFY),
    Step.PAY: (State.AWAITING_PAYMENT, Trigger.PAY),
    Step.PROCESS: (State.PROCESSING, Trigger.APPROVE),
    Step.SIGN: (State.AWAITING_SIGNATURE, Trigger.SIGN),
    Step.RETURN: (State.AWAITING_RETURN, Trigger.RETURN_RESULT),
}

#: Steps that ``system`` may complete besides the step's own role: a gateway confirming a
#: payment, a remote signer reporting a signature. The real payer/signer goes to on_behalf_of.
SYSTEM_COMPLETABLE_STEPS: frozenset[Step] = frozenset({Step.PAY, Step.SIGN})

#: Suggested role per step; a procedure file states its own.
DEFAULT_STEP_ROLES: dict[Step, Role] = {
    Step.RECEIVE: Role.CLERK,
    Step.DIGITISE: Role.CLERK,
    Step.CERTIFY: Role.CERTIFIER,
    Step.PAY: Role.CLERK,
    Step.PROCESS: Role.SPECIALIST,
    Step.SIGN: Role.LEADER,
    Step.RETURN: Role.CLERK,
}


def state_of(step: Step) -> State:
    """The state a dossier waits in at ``step``."""
    return STEP_TABLE[step][0]


def trigger_of(step: Step) -> Trigger:
    """The trigger that completes ``step``."""
    return STEP_TABLE[step][1]


STEP_BY_TRIGGER: dict[Trigger, Step] = {trigger: step for step, (_, trigger) in STEP_TABLE.items()}
#: state → the step a dossier waiting there is at (side-exit and final states are at none)
STEP_BY_STATE: dict[State, Step] = {state: step for step, (state, _) in STEP_TABLE.items()}


@dataclass(frozen=True, kw_only=True)
class SideExit:
    """A transition outside the step sequence.

    ``sources`` lists the states it leaves from (``None``: computed per procedure, see
    :func:`side_exit_sources`); ``roles`` who may fire it there.
    """

    trigger: Trigger
    sources: tuple[State, ...] | None
    target: State | None  # None: back to the dossier's resume_state
    roles: tuple[Role, ...]


#: The side exits, one row per (trigger, sources, roles) combination.
SIDE_EXITS: tuple[SideExit, ...] = (
    SideExit(trigger=Trigger.REQUEST_SUPPLEMENT, sources=(State.AWAITING_RECEPTION,),
             target=State.AWAITING_SUPPLEMENT, roles=(Role.CLERK,)),
    SideExit(trigger=Trigger.REQUEST_SUPPLEMENT, sources=(State.PROCESSING,),
             target=State.AWAITING_SUPPLEMENT, roles=(Role.SPECIALIST,)),
    SideExit(trigger=Trigger.SUPPLEMENT, sources=(State.AWAITING_SUPPLEMENT,),
             target=None, roles=(Role.CITIZEN, Role.CLERK)),
    SideExit(trigger=Trigger.REFUSE, sources=(State.AWAITING_RECEPTION,),
             target=State.REFUSED, roles=(Role.CLERK,)),
    # system: the timer worker, when the citizen's time to supplement runs out
    SideExit(trigger=Trigger.REFUSE, sources=(State.AWAITING_SUPPLEMENT,),
             target=State.REFUSED, roles=(Role.CLERK, Role.SYSTEM)),
    SideExit(trigger=Trigger.REFUSE, sources=(State.PROCESSING,),
             target=State.REFUSED, roles=(Role.LEADER,)),
    # any non-final state before awaiting_return
    SideExit(trigger=Trigger.WITHDRAW, sources=None,
             target=State.WITHDRAWN, roles=(Role.CITIZEN, Role.CLERK)),
    # any non-final state after reception
    SideExit(trigger=Trigger.STOP, sources=None, target=State.STOPPED, roles=(Role.LEADER,)),
)

#: Side exits where a clerk acts for the citizen: the event records the citizen in on_behalf_of.
ON_BEHALF_OF_CITIZEN: frozenset[Trigger] = frozenset({Trigger.SUPPLEMENT, Trigger.WITHDRAW})

#: States a supplement request can come from, hence where ``supplement`` may lead back to.
RESUMABLE_STATES: tuple[State, ...] = (State.AWAITING_RECEPTION, State.PROCESSING)


def portal_status(state: State, received: bool) -> int:
    """The national public-service portal's status code for a dossier.

    1 chờ tiếp nhận; 2 đang số hóa/chứng thực; 3 từ chối trước khi tiếp nhận; 4 đang xử lý;
    5 chờ bổ sung; 6 chờ thanh toán; 7 rút hồ sơ; 8 dừng xử lý; 9 chờ trả kết quả (and refused
    after reception, whose refusal letter is the result to return); 10 đã trả kết quả.
    """
    if state is State.REFUSED:
        return 9 if received else 3
    return _PORTAL_STATUS[state]


_PORTAL_STATUS: dict[State, int] = {
    State.AWAITING_RECEPTION: 1,
    State.DIGITISING: 2,
    State.CERTIFYING: 2,
    State.PROCESSING: 4,
    State.AWAITING_SIGNATURE: 4,
    State.AWAITING_SUPPLEMENT: 5,
    State.AWAITING_PAYMENT: 6,
    State.WITHDRAWN: 7,
    State.STOPPED: 8,
    State.AWAITING_RETURN: 9,
    State.RETURNED: 10,
}
