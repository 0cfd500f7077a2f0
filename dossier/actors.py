"""Who acts (:class:`Actor`) and whether they may act on a dossier of an agency."""

from __future__ import annotations

from dataclasses import dataclass

from dossier import text
from dossier.errors import InvalidInput
from dossier.states import Role
from dossier.text import Kind

#: Roles that work inside an agency and must name it.
STAFF_ROLES = frozenset({Role.CLERK, Role.SPECIALIST, Role.CERTIFIER, Role.LEADER})


def check_agency(field: str, agency: object) -> str:
    """An agency code (mã đơn vị), checked and in NFC: it begins every dossier code."""
    code = text.clean(field, agency, Kind.AGENCY, strip=False)
    if any(ch.isspace() for ch in code):
        raise InvalidInput(f"{field} must be a non-empty code without spaces")
    return code


@dataclass(frozen=True, init=False)
class Actor:
    """Someone (or something) firing a transition: ``Actor(id, role, agency)``.

    ``agency`` is the agency code (mã đơn vị) for staff; citizens have none; a ``system``
    actor without an agency acts for every agency (the worker), with one only for that agency.
    ``name`` and ``title`` (họ và tên, chức vụ: ``"Nguyễn Văn An"``, ``"Công chức tư pháp -
    hộ tịch"``) are what paperwork prints where a person signs or hands a dossier over; the
    ``id`` (an account) is never printed. Without a name the form leaves the line blank, for a
    name written by hand.
    """

    id: str
    role: Role
    agency: str | None
    name: str | None
    title: str | None

    def __init__(self, id: str, role: Role | str, agency: str | None = None, *,
                 name: str | None = None, title: str | None = None) -> None:
        # the id is stored (events.actor, dossiers.owner…) and compared with the owner: NFC
        # so that the same account typed two ways is one account
        id = text.clean("Actor.id", id, Kind.ACTOR_ID, strip=False)
        if id != id.strip():
            raise InvalidInput("Actor.id must not begin or end with whitespace")
        try:
            normalised = Role(role)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise InvalidInput(f"unknown role {role!r} (expected one of: {choices})") from None
        if normalised in STAFF_ROLES and not agency:
            raise InvalidInput(f"a {normalised.value} actor must name the agency it works for")
        if agency is not None:
            agency = check_agency("Actor.agency", agency)
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "role", normalised)
        object.__setattr__(self, "agency", agency)
        object.__setattr__(self, "name", _optional("Actor.name", name, Kind.PERSON_NAME))
        object.__setattr__(self, "title", _optional("Actor.title", title, Kind.LABEL))

    @classmethod
    def system(cls, agency: str | None = None, id: str = "system") -> Actor:
        """The engine's own actor: timers, gateways, remote signers."""
        return cls(id=id, role=Role.SYSTEM, agency=agency)

    def with_name(self, name: str, title: str | None = None) -> Actor:
        """The same account with a display name (and title) for paperwork."""
        return Actor(self.id, self.role, self.agency, name=name, title=title)

    def works_for(self, agency: str) -> bool:
        """Staff act only inside their agency; a system actor without agency acts anywhere."""
        if self.role is Role.SYSTEM and self.agency is None:
            return True
        return self.agency == agency


def _optional(field: str, value: object, kind: Kind) -> str | None:
    """An optional one-line text: None stays None, anything else is checked (NFC, stripped)."""
    if value is None:
        return None
    return text.clean(field, value, kind)
