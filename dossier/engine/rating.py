"""The citizen's rating of a returned dossier (đánh giá mức độ hài lòng), through the kernel.

Recorded as a ``rate`` event (``{"level", "criteria", "comment_sha256"}``, in the hash chain;
the comment itself, free text that may be personal, goes to the ``ratings`` row only) and a
``ratings`` row the quality report aggregates. Who: the applicant (the citizen who owns the
dossier), or a clerk of its agency recording the applicant's answer (a paper form, a kiosk at
the counter) — the event then names the owner, if any, in ``on_behalf_of``. When: once the
dossier is ``returned``, once per dossier.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping

from dossier import policy
from dossier.actors import Actor
from dossier.engine.kernel import Kernel
from dossier.errors import TransitionNotAllowed
from dossier.policy import Action
from dossier.ratings import Rating, check_comment, check_criteria, level_of
from dossier.records import Dossier
from dossier.states import Role, State, Trigger
from dossier.store import ratings_repo
from dossier.store.database import Tx

log = logging.getLogger("dossier")


def rate(kernel: Kernel, code: str, actor: Actor, level: object,
         criteria: Mapping[str, object] | None, comment: object) -> Rating:
    """Record the rating of dossier ``code`` (see the module's docstring). Checks, in order:
    the answers, the dossier, the party (the owner; staff of its agency), the role, that it
    is returned, that it was not rated yet (both :class:`TransitionNotAllowed`)."""
    chosen, answers, note = level_of(level), check_criteria(criteria), check_comment(comment)
    now = kernel.now()
    with kernel.transaction() as tx:
        before = kernel.load_for(tx, code, actor)
        policy.authorise(actor, before, Action.RATE, kernel.procedure_of(tx, before))
        if before.state is not State.RETURNED:
            raise TransitionNotAllowed(f"{code} is {before.state.value}: the service is rated "
                                       "once the result is returned")
        if ratings_repo.find(tx, before.id) is not None:
            raise TransitionNotAllowed(f"{code} was already rated; a dossier is rated once")
        behalf = before.owner if actor.role is Role.CLERK else None
        digest = hashlib.sha256(note.encode()).hexdigest() if note is not None else None
        kernel.record(tx, before, Trigger.RATE, actor, now=now, on_behalf_of=behalf,
                      data={"level": chosen.key,
                            "criteria": {key: lv.key for key, lv in answers.items()},
                            "comment_sha256": digest})
        ratings_repo.insert(tx, before, level=chosen.key,
                            criteria={key: lv.key for key, lv in answers.items()},
                            comment=note, actor=actor.id, role=actor.role.value,
                            on_behalf_of=behalf, at=now)
        rating = _rating(tx, before)
    log.info("%s rate %s by %s", code, chosen.key, actor.id)
    assert rating is not None
    return rating


def rating_of(kernel: Kernel, code: str, actor: Actor | None) -> Rating | None:
    """The dossier's rating, or None when it has none (with ``actor``: if they are a party)."""
    with kernel.transaction(write=False) as tx:
        return _rating(tx, kernel.load_as(tx, code, actor))


def _rating(tx: Tx, dossier: Dossier) -> Rating | None:
    found = ratings_repo.find(tx, dossier.id)
    if found is None:
        return None
    level, criteria, comment, actor, role, behalf, at = found
    return Rating(dossier_code=dossier.code, agency=dossier.agency,
                  procedure_code=dossier.procedure_code, level=level_of(level),
                  criteria={key: level_of(value) for key, value in criteria.items()},
                  comment=comment, actor=actor, role=role, on_behalf_of=behalf, rated_at=at)
