"""A test kit for agencies' own procedures: a controllable clock and a scenario runner.

::

    from dossier.testing import FrozenClock, Scenario, step

    def test_my_procedure_returns_after_payment():
        result = Scenario("procedures/my-procedure.toml", agency="000.00.12.H12").run(
            step("clerk", "receive"),
            step("clerk", "pay", amount=50_000),
            step("specialist", "approve"),
            step("leader", "sign"),
            step("clerk", "return_result"),
        )
        assert result.state == "returned"
        assert result.triggers == ["submit", "receive", "pay", "approve", "sign", "return_result"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from os import PathLike
from typing import Any

from dossier.actors import Actor
from dossier.clock import require_aware
from dossier.engine import Engine
from dossier.errors import DossierError
from dossier.procedure import Procedure, load_procedure
from dossier.records import Dossier, Event
from dossier.states import Role, State


class FrozenClock:
    """A clock that stands still until told to move. ``now()`` returns an aware UTC instant."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "FrozenClock start")

    def now(self) -> datetime:
        return self._now

    def set(self, instant: datetime) -> None:
        self._now = require_aware(instant, "FrozenClock.set")

    def advance(self, delta: timedelta) -> datetime:
        """Move forward (or back, with a negative delta); return the new instant."""
        self._now = self._now + delta
        return self._now


@dataclass(frozen=True, kw_only=True)
class Step:
    """One action of a scenario: who (a role name or an :class:`Actor`) fires what.

    ``expect`` names the :class:`~dossier.errors.DossierError` subclass the step must raise
    (by class or class name); the scenario then goes on from the unchanged dossier.
    ``advance`` moves the clock before the step. ``attach`` maps component ids to file bytes
    to attach before firing.
    """

    actor: str | Actor
    trigger: str
    data: Mapping[str, Any] = field(default_factory=dict)
    expect: type[DossierError] | str | None = None
    advance: timedelta | None = None
    attach: Mapping[str, bytes] = field(default_factory=dict)
    on_behalf_of: str | None = None


def step(actor: str | Actor, trigger: str, *, expect: type[DossierError] | str | None = None,
         advance: timedelta | None = None, attach: Mapping[str, bytes] | None = None,
         on_behalf_of: str | None = None, **data: Any) -> Step:
    """Shorthand for :class:`Step`: ``step("clerk", "pay", amount=50_000)``."""
    return Step(actor=actor, trigger=trigger, data=data, expect=expect, advance=advance,
                attach=attach or {}, on_behalf_of=on_behalf_of)


@dataclass(frozen=True, kw_only=True)
class ScenarioResult:
    """What a scenario run left behind."""

    dossier: Dossier
    events: list[Event]
    errors: list[DossierError]
    engine: Engine

    @property
    def state(self) -> State:
        return self.dossier.state

    @property
    def triggers(self) -> list[str]:
        return [event.trigger for event in self.events if event.trigger != "attach"]


class Scenario:
    """Runs one dossier of a procedure through a list of steps on an in-memory engine.

    Roles given by name act as ``<role>01`` of ``agency``; the citizen is ``citizen01``.
    A step that raises an error it did not ``expect`` fails the run with that error.
    """

    def __init__(self, procedure: Procedure | str | PathLike[str], *,
                 agency: str = "000.00.00.H00", channel: str = "counter",
                 applicant: Mapping[str, Any] | None = None,
                 fee_basis: Mapping[str, Any] | None = None,
                 start: datetime | None = None) -> None:
        self.procedure = procedure if isinstance(procedure, Procedure) \
            else load_procedure(procedure)
        self.agency = agency
        self.channel = channel
        self.applicant = dict(applicant or {"name": "Nguyễn Văn A"})
        self.fee_basis = fee_basis
        # a Monday morning in office hours, Vietnam time (07:00 UTC+7 = 00:00 UTC)
        self.clock = FrozenClock(start or datetime(2025, 9, 8, 2, 0, tzinfo=UTC))

    def actor(self, who: str | Actor) -> Actor:
        if isinstance(who, Actor):
            return who
        role = Role(who)
        agency = None if role in (Role.CITIZEN, Role.SYSTEM) else self.agency
        return Actor(id=f"{role.value}01", role=role, agency=agency)

    def run(self, *steps: Step) -> ScenarioResult:
        engine = Engine.in_memory(clock=self.clock)
        engine.register(self.procedure)
        online = self.channel == "online"
        submitter = self.actor("citizen" if online else "clerk")
        dossier = engine.submit(self.procedure.code, applicant=self.applicant,
                                channel=self.channel, actor=submitter,
                                agency=self.agency if online else None,
                                fee_basis=self.fee_basis)
        errors: list[DossierError] = []
        for item in steps:
            if item.advance is not None:
                self.clock.advance(item.advance)
            actor = self.actor(item.actor)
            try:
                for component, content in item.attach.items():
                    engine.attach(dossier.code, component, content, f"{component}.pdf",
                                  actor=actor)
                dossier = engine.fire(dossier.code, item.trigger, actor=actor,
                                      on_behalf_of=item.on_behalf_of, **dict(item.data))
            except DossierError as exc:
                if not _matches(exc, item.expect):
                    raise
                errors.append(exc)
                continue
            if item.expect is not None:
                raise AssertionError(f"step {item.trigger!r} by {actor.id} was expected to "
                                     f"raise {item.expect}, but it succeeded")
        engine.verify_audit(dossier.code)
        return ScenarioResult(dossier=engine.get(dossier.code),
                              events=engine.history(dossier.code), errors=errors,
                              engine=engine)


def _matches(exc: DossierError, expected: type[DossierError] | str | None) -> bool:
    if expected is None:
        return False
    if isinstance(expected, str):
        return any(cls.__name__ == expected for cls in type(exc).__mro__)
    return isinstance(exc, expected)
