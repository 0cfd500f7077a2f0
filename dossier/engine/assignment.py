"""Assignment (phân công): a clerk or leader gives the dossier's current step to one officer.

Recorded through the kernel as an ``assign`` event (``{"assignee": id or None, "step": …}``,
in the hash chain) with the row's ``assignee``; :mod:`dossier.policy` then keeps the step's
work for that officer or a leader (:func:`dossier.policy.check_assignment`). Reassigning is
another event; leaving the step ends the assignment (the kernel clears it with the move).
"""

from __future__ import annotations

import logging

from dossier import policy
from dossier.actors import Actor
from dossier.engine.kernel import Kernel, check_version
from dossier.errors import InvalidInput, TransitionNotAllowed
from dossier.policy import Action
from dossier.records import Dossier
from dossier.states import STEP_BY_STATE, Role, Trigger

log = logging.getLogger("dossier")


def assign(kernel: Kernel, code: str, assignee: Actor | None, actor: Actor,
           if_version: int | None) -> Dossier:
    """Assign the current step of dossier ``code`` to ``assignee`` (None: to nobody).

    Checks, in ``fire``'s order: the dossier, the party, ``if_version``, that it is at a step
    (not closed, not waiting for a supplement), the role (:data:`policy.ACTIONS`), then that
    ``assignee`` does that step: the procedure's role for it, in the dossier's agency.
    Assigning the one already assigned records nothing."""
    if assignee is not None and not isinstance(assignee, Actor):
        raise InvalidInput("assignee must be a dossier.Actor (the officer), or None")
    now = kernel.now()
    with kernel.transaction() as tx:
        before = kernel.load_for(tx, code, actor)
        check_version(before, if_version)
        step = STEP_BY_STATE.get(before.state)
        if step is None:
            raise TransitionNotAllowed(f"{code} is {before.state.value}: it is at no step "
                                       "an officer could be assigned to")
        procedure = kernel.procedure_of(tx, before)
        policy.authorise(actor, before, Action.ASSIGN, procedure)
        role = policy.step_role(procedure, before.state)
        if assignee is not None and (role is None or role is Role.SYSTEM
                                     or assignee.role is not role
                                     or assignee.agency != before.agency):
            who = f"a {role.value} of {before.agency}" if role else "nobody"
            raise InvalidInput(
                f"{code}: its {step.value} step is done by {who}; {assignee.id} is a "
                f"{assignee.role.value}" + (f" of {assignee.agency}" if assignee.agency else ""))
        chosen = assignee.id if assignee is not None else None
        if chosen == before.assignee:
            return before
        data: dict[str, str | None] = {"assignee": chosen, "step": step.value}
        if assignee is not None and assignee.name:  # for the control sheet (an officer's name)
            data["assignee_name"] = assignee.name
        after = kernel.record(tx, before, Trigger.ASSIGN, actor, now=now, data=data,
                              assignee=chosen)
    log.info("%s assign %s to %s by %s", code, step.value, chosen or "nobody", actor.id)
    return after
