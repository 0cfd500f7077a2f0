"""A test kit for agencies' own procedures: a controllable clock, a scenario runner, and every
fake the library ships (payment providers, signing services, a time-stamping authority, a
test PKI), so an agency's tests import one module.

::

    from dossier.testing import Scenario, scanned_pdf, step

    def test_my_procedure_returns_after_payment():
        result = Scenario("procedures/my-procedure.toml", agency="000.00.12.H12").run(
            step("clerk", "receive"),
            step("clerk", "pay", amount=50_000),         # cash at the counter: receipt too
            step("specialist", "approve"),
            step("leader", "sign_result"),               # signed with the scenario's signer
            step("clerk", "return_result"),
        )
        assert result.state == "returned"
        assert result.triggers == ["submit", "receive", "pay", "approve", "sign", "return_result"]

Besides the triggers of :meth:`Engine.fire <dossier.Engine.fire>`, a step may be one of
:data:`ACTIONS`: ``sign_result`` (``signer=``, default ``"test"``: a local signer on a test PKI
made for the scenario), ``certify_copy`` (``component=``, ``signer=``) and ``pay_online``
(``provider=``, default ``"fake"``: opens the payment and has the fake provider confirm it,
which completes ``pay`` through the signed callback).

Fakes, imported on first use: :class:`FakeGateway`, :class:`FakeProviderService`,
:class:`FakeCallback` (payments); :class:`FakeCscService`, :class:`FakePhoneService`,
:class:`FakeTsaService` (signing services); :class:`TestPki`, :func:`build_test_pki`,
:func:`shared_test_pki` (certificates); :func:`test_signer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from os import PathLike
from typing import TYPE_CHECKING, Any

from dossier.actors import Actor
from dossier.clock import Clock, require_aware
from dossier.engine import Engine
from dossier.errors import DossierError, InvalidInput
from dossier.plugins import lazy_exports
from dossier.procedure import Procedure, load_procedure
from dossier.records import Dossier, Event
from dossier.states import Role, State

if TYPE_CHECKING:
    from dossier.payments.fake import FakeCallback, FakeGateway, FakeProviderService
    from dossier.signing.base import Signer
    from dossier.signing.fakes import FakeCscService, FakePhoneService, FakeTsaService
    from dossier.signing.testpki import TestPki, build_test_pki, shared_test_pki

_LAZY = {
    "FakeGateway": "dossier.payments.fake",
    "FakeProviderService": "dossier.payments.fake",
    "FakeCallback": "dossier.payments.fake",
    "FakeCscService": "dossier.signing.fakes",
    "FakePhoneService": "dossier.signing.fakes",
    "FakeTsaService": "dossier.signing.fakes",
    "TestPki": "dossier.signing.testpki",
    "build_test_pki": "dossier.signing.testpki",
    "shared_test_pki": "dossier.signing.testpki",
}
#: The scenario's own signer name (see :func:`test_signer`).
TEST_SIGNER = "test"


__getattr__ = lazy_exports(__name__, _LAZY)


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


def test_signer(clock: Clock) -> Signer:
    """A local PAdES signer ("Nguyễn Văn Ký") whose certificate, from a test PKI, is valid
    around ``clock.now()``: for tests only. The PKI is made once per day."""
    from dossier.signing.credentials import KeyMaterial
    from dossier.signing.local import LocalSigner

    pki = _pki_for(clock.now().date())
    material = KeyMaterial(key=pki.signer.key, cert=pki.signer.cert, chain=tuple(pki.chain))
    return LocalSigner(material, clock=clock)


test_signer.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


@cache
def _pki_for(day: date) -> TestPki:
    from dossier.signing.testpki import build_test_pki

    return build_test_pki(FrozenClock(datetime(day.year, day.month, day.day, tzinfo=UTC)))


def scanned_pdf(label: str, at: datetime | None = None) -> bytes:
    """A one-page PDF standing in for a scanned original (certified copies need a real PDF)."""
    from dossier.documents.pdf import new_document

    pdf = new_document(title=label, created_at=at or datetime(2025, 1, 1, tzinfo=UTC))
    pdf.add_page()
    pdf.multi_cell(0, 8, f"{label}\n(bản quét dùng cho kiểm thử)")
    return bytes(pdf.output())


@dataclass(frozen=True, kw_only=True)
class Step:
    """One action of a scenario: who (a role name or an :class:`Actor`) does what.

    ``trigger`` is a trigger for :meth:`Engine.fire` or one of :data:`ACTIONS`. ``expect``
    names the :class:`~dossier.errors.DossierError` subclass the step must raise (by class
    or class name); the scenario then goes on from the unchanged dossier. ``advance`` moves
    the clock before the step. ``attach`` maps component ids to file bytes to attach before.
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
    ``case`` is the special case declared at submission (see :meth:`Engine.submit`).
    A step that raises an error it did not ``expect`` fails the run with that error.
    ``gateways`` and ``signers`` are given to the engine as they are (default: the counter
    and a :class:`FakeGateway` named ``fake``; a signer named ``test``, see
    :func:`test_signer`); ``engine_options`` are more :class:`Engine` keywords.
    """

    def __init__(self, procedure: Procedure | str | PathLike[str], *,
                 agency: str = "000.00.00.H00", channel: str = "counter",
                 applicant: Mapping[str, Any] | None = None,
                 fee_basis: Mapping[str, Any] | None = None, case: str | None = None,
                 start: datetime | None = None, gateways: Any = None,
                 signers: Mapping[str, Signer] | None = None,
                 **engine_options: Any) -> None:
        self.procedure = procedure if isinstance(procedure, Procedure) \
            else load_procedure(procedure)
        self.agency = agency
        self.channel = channel
        self.applicant = dict(applicant or {"name": "Nguyễn Văn A"})
        self.fee_basis = fee_basis
        self.case = case
        # a Monday morning in office hours, Vietnam time (07:00 UTC+7 = 00:00 UTC)
        self.clock = FrozenClock(start or datetime(2025, 9, 8, 2, 0, tzinfo=UTC))
        self.gateways = gateways
        self.signers = signers
        self.engine_options = engine_options

    def actor(self, who: str | Actor) -> Actor:
        if isinstance(who, Actor):
            return who
        role = Role(who)
        agency = None if role in (Role.CITIZEN, Role.SYSTEM) else self.agency
        return Actor(id=f"{role.value}01", role=role, agency=agency)

    def engine(self, steps: tuple[Step, ...] = ()) -> Engine:
        """The scenario's in-memory engine, with the procedure registered."""
        gateways = self.gateways
        if gateways is None:
            from dossier.payments.fake import FakeGateway

            gateways = [FakeGateway()]
        signers = self.signers
        if signers is None:
            signs = any(s.trigger in ("sign_result", "certify_copy") for s in steps)
            signers = {TEST_SIGNER: test_signer(self.clock)} if signs else {}
        engine = Engine.in_memory(clock=self.clock, gateways=gateways, signers=signers,
                                  **self.engine_options)
        engine.register(self.procedure)
        return engine

    def run(self, *steps: Step) -> ScenarioResult:
        engine = self.engine(steps)
        online = self.channel == "online"
        submitter = self.actor("citizen" if online else "clerk")
        dossier = engine.submit(self.procedure.code, applicant=self.applicant,
                                channel=self.channel, actor=submitter,
                                agency=self.agency if online else None,
                                fee_basis=self.fee_basis, case=self.case)
        errors: list[DossierError] = []
        for item in steps:
            if item.advance is not None:
                self.clock.advance(item.advance)
            actor = self.actor(item.actor)
            try:
                for component, content in item.attach.items():
                    engine.attach(dossier.code, component, content,
                                  f"{component}{_extension(content)}", actor=actor)
                action = ACTIONS.get(item.trigger)
                if action is not None:
                    action(self, engine, dossier.code, actor, dict(item.data))
                else:
                    engine.fire(dossier.code, item.trigger, actor=actor,
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


def _sign_result(_: Scenario, engine: Engine, code: str, actor: Actor,
                 data: dict[str, Any]) -> None:
    engine.sign_result(code, actor=actor, signer=data.pop("signer", TEST_SIGNER), **data)


def _certify_copy(_: Scenario, engine: Engine, code: str, actor: Actor,
                  data: dict[str, Any]) -> None:
    if "component" not in data:
        raise InvalidInput("a certify_copy step names its component=")
    engine.certify_copy(code, data.pop("component"), actor=actor,
                        signer=data.pop("signer", TEST_SIGNER), **data)


def _pay_online(scenario: Scenario, engine: Engine, code: str, actor: Actor,
                data: dict[str, Any]) -> None:
    provider = data.pop("provider", "fake")
    payment = engine.request_payment(code, provider, actor=actor, **data)
    gateway = engine.gateways.get(provider)
    service = getattr(gateway, "service", None)
    if service is None:
        raise InvalidInput(f"pay_online needs a fake provider with a .service; {provider!r} "
                           "has none")
    callback = service.success(payment.order_ref, at=scenario.clock.now())
    engine.handle_payment_callback(provider, callback.payload)


#: Steps that are not plain triggers: what the scenario does for them.
ACTIONS: Mapping[str, Callable[[Scenario, Engine, str, Actor, dict[str, Any]], None]] = {
    "sign_result": _sign_result,
    "certify_copy": _certify_copy,
    "pay_online": _pay_online,
}


def _extension(content: bytes) -> str:
    """A file name extension that agrees with the content (the engine checks PDF, JPEG and
    PNG names against their magic bytes): a test's ``b"scan"`` is attached as ``.bin``."""
    for magic, extension in ((b"%PDF-", ".pdf"), (b"\xff\xd8\xff", ".jpg"),
                             (b"\x89PNG\r\n\x1a\n", ".png")):
        if content.startswith(magic):
            return extension
    return ".bin"


def _matches(exc: DossierError, expected: type[DossierError] | str | None) -> bool:
    if expected is None:
        return False
    if isinstance(expected, str):
        return any(cls.__name__ == expected for cls in type(exc).__mro__)
    return isinstance(exc, expected)


__all__ = [
    "ACTIONS",
    "TEST_SIGNER",
    "FakeCallback",
    "FakeCscService",
    "FakeGateway",
    "FakePhoneService",
    "FakeProviderService",
    "FakeTsaService",
    "FrozenClock",
    "Scenario",
    "ScenarioResult",
    "Step",
    "TestPki",
    "build_test_pki",
    "scanned_pdf",
    "shared_test_pki",
    "step",
    "test_signer",
]
