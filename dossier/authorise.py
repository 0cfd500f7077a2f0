"""Who may do what to which dossier: the policy checks the engine runs, as pure functions.

- staff act only inside their agency; a ``system`` actor without agency acts anywhere;
- a citizen acts only on dossiers they submitted (``Dossier.owner``);
- clerks submit counter and post dossiers for their own agency; citizens (or ``system``)
  submit online to the agency they name;
- a clerk acting for a citizen (supplement, withdraw) records the citizen in
  ``on_behalf_of``; ``system`` completing ``pay``/``sign`` must name the real payer/signer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dossier.actors import Actor
from dossier.errors import InvalidInput, PermissionDenied
from dossier.records import Dossier
from dossier.states import ON_BEHALF_OF_CITIZEN, STEP_BY_TRIGGER, Role, Trigger


def check_party(actor: Actor, dossier: Dossier) -> None:
    """Raise :class:`PermissionDenied` unless ``actor`` may touch ``dossier`` at all."""
    code = dossier.code
    if actor.role is Role.CITIZEN:
        if dossier.owner != actor.id:
            raise PermissionDenied(f"{code} was not submitted by citizen {actor.id!r}")
    elif not actor.works_for(dossier.agency):
        raise PermissionDenied(f"{code} belongs to agency {dossier.agency}, not "
                               f"{actor.agency}")


def submitting_agency(actor: Actor, channel: str, agency: str | None) -> str:
    """The agency a new dossier goes to; raises if ``actor`` may not submit it there."""
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
        if not chosen or not isinstance(chosen, str) or any(c.isspace() for c in chosen):
            raise InvalidInput("an online submission must name the receiving agency=")
        if actor.agency is not None and chosen != actor.agency:
            raise PermissionDenied(f"{actor.id} acts for {actor.agency}, not {chosen}")
        return chosen
    raise PermissionDenied(f"a {actor.role.value} may not submit dossiers")


def on_behalf_of_for(actor: Actor, dossier: Dossier, trigger: Trigger,
                     given: str | None) -> str | None:
    """Who the event records as acted for (``given``, or the owner when a clerk acts)."""
    if given is not None and (not isinstance(given, str) or not given.strip()):
        raise InvalidInput("on_behalf_of must be a non-empty id")
    if actor.role is Role.SYSTEM and trigger in STEP_BY_TRIGGER and given is None:
        raise InvalidInput(f"system completing {trigger.value} must name the real payer or "
                           "signer in on_behalf_of=")
    if given is None and actor.role is Role.CLERK and trigger in ON_BEHALF_OF_CITIZEN:
        return dossier.owner
    return given


def check_actor(actor: Any) -> None:
    """Raise :class:`InvalidInput` unless ``actor`` is an :class:`Actor`."""
    if not isinstance(actor, Actor):
        raise InvalidInput("actor= must be a dossier.Actor")


def check_applicant(applicant: Any) -> dict[str, Any]:
    """The applicant mapping, checked; the ID number is never echoed in errors."""
    if not isinstance(applicant, Mapping):
        raise InvalidInput("applicant must be a mapping with at least 'name'")
    name = applicant.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("applicant['name'] must be non-empty text")
    id_number = applicant.get("id_number")
    if id_number is not None and (not isinstance(id_number, str) or not id_number.isdigit()
                                  or len(id_number) not in (9, 12)):
        # never echo the value: it is personal data
        raise InvalidInput("applicant['id_number'] must be 12 digits (CCCD) or 9 (old CMND)")
    for key, value in applicant.items():
        if not isinstance(key, str) or not isinstance(value, str | int | bool | None):
            raise InvalidInput(f"applicant[{key!r}] must be text, a number or a boolean")
    return dict(applicant)
