"""The public face of the library: :class:`Engine`.

Every method validates its input and is one (or, around a slow outside service, a few)
database transactions. Every change to a dossier goes through the :class:`Kernel`, the one
write path; the payment and signing services are handed the kernel, never the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from os import PathLike
from typing import TYPE_CHECKING, Any

from dossier import policy, store
from dossier.actors import Actor
from dossier.agencies import EMPTY_DIRECTORY, Agency, AgencyDirectory
from dossier.applicant_keys import ApplicantKeys
from dossier.audit import ENV_VAR, AuditKeys
from dossier.calendar import WorkingCalendar
from dossier.clock import Clock, SystemClock, require_aware
from dossier.documents.base import FormRenderer, Paperwork
from dossier.documents.circulars import ISSUED_AT
from dossier.engine import DEFAULT_URL, lifecycle, timers
from dossier.engine.audit_api import AuditApi
from dossier.engine.forms_api import FormsApi
from dossier.engine.kernel import Kernel
from dossier.engine.outbox import OutboxSettings
from dossier.engine.outbox_api import OutboxApi, check_settings, check_sinks
from dossier.engine.payments_api import PaymentsApi, check_batch
from dossier.engine.quality_api import QualityApi
from dossier.engine.queries_api import QueriesApi
from dossier.engine.signing_api import SigningApi
from dossier.errors import DossierError, InvalidInput
from dossier.fees import FeeBasis
from dossier.forms import FormSettings, FormsService
from dossier.payments.base import PaymentGateway
from dossier.payments.receipt import ReceiptIssuer
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service import PaymentService, ReceiptSettings, build_registry
from dossier.policy import check_actor
from dossier.procedure.model import Procedure
from dossier.records import (
    Attachment,
    ClockPause,
    DigitisationRecord,
    Dossier,
    Event,
    ReuseSource,
)
from dossier.signing.base import Signer
from dossier.signing.service import CERTIFICATION_BOOK, SigningService
from dossier.sinks.base import Sink
from dossier.states import Trigger
from dossier.store import digitisation_repo as drepo
from dossier.store import repository as repo
from dossier.store.database import Database

if TYPE_CHECKING:

    from dossier.config import Deployment

CHANNELS = lifecycle.CHANNELS
log = logging.getLogger("dossier")


class Engine(PaymentsApi, SigningApi, OutboxApi, QueriesApi, FormsApi, QualityApi,
             AuditApi):
    """Runs dossiers through their procedures' lifecycles on one database.

    ``Engine()`` opens (or creates) ``sqlite:///dossier.db`` in the working directory;
    ``Engine(url)`` takes any SQLAlchemy URL (``postgresql://…`` uses psycopg 3);
    :meth:`in_memory` gives a private in-memory database for tests. One engine may be shared
    by many threads. An existing database whose schema is older than this version raises
    :class:`~dossier.errors.SchemaError`: run ``dossier db upgrade``.

    Payments go through ``gateways`` (a :class:`~dossier.payments.GatewayRegistry`, used as
    it is, or gateways to register; a list without a gateway named ``counter`` gets a
    :class:`~dossier.payments.CounterGateway`, and ``None`` means the counter only).
    Receipts are produced by ``receipt_issuer`` (default: the local Jinja2 template),
    numbered and headed as ``receipts`` says (:class:`~dossier.payments.service.ReceiptSettings`,
    whose ``agency_names`` also head stamps and certification statements). ``signers`` maps
    names to :class:`~dossier.signing.Signer` objects; ``paperwork`` makes the PDFs they sign
    (default: the shipped templates); ``certification_book`` is the quyển số pattern.

    ``sinks`` maps short names to :class:`~dossier.sinks.Sink` objects: every event is
    written with one outbox row per sink that wants it, in the same transaction, and
    :meth:`dispatch_outbox` delivers them as ``outbox`` says
    (:class:`~dossier.engine.OutboxSettings`).

    ``agencies`` is the agency directory (:class:`~dossier.agencies.AgencyDirectory`, or
    :class:`~dossier.agencies.Agency` objects): it gives the names, places, addresses and
    tax codes printed on forms, receipts and statements (unless ``receipts.agency_names``
    says otherwise) and each agency's default signer (``signer=`` may then be left out; forms
    and receipts are signed with it when it holds its key here). With a directory, a dossier
    cannot be submitted to an agency missing from it; without one (library use), papers
    print the agency's code. :meth:`from_config` builds all of this from a ``dossier.toml``.

    The one-stop-shop forms (:mod:`dossier.forms`) are issued by the kernel with the events
    that call for them and laid out by ``forms`` (a
    :class:`~dossier.documents.base.FormRenderer`; default: the shipped templates), numbered
    as ``form_settings`` says.

    ``applicant_key`` (or ``$DOSSIER_APPLICANT_KEY``) indexes applicants' ID numbers by a keyed
    digest, for ``find(applicant_id=…)`` and :meth:`lookup`: a secret, or several to rotate
    (see :mod:`dossier.applicant_keys`).

    Reads (:meth:`get`, :meth:`history`, :meth:`attachments`, :meth:`documents`,
    :meth:`payments`, :meth:`find`…) take an optional ``actor=``: given, the party rules of
    writes apply (staff of the dossier's agency, the citizen who owns it, ``system``);
    left out, the caller is trusted server code that has checked who asks itself.

    ``create=False`` opens an existing database only: a SQLite file that is not there, or a
    database without the dossier schema, is an error instead of a new empty database (what
    read-only tools want).
    """

    def __init__(self, url: str | None = None, *, clock: Clock | None = None,
                 calendars: Mapping[str, WorkingCalendar] | None = None,
                 default_calendar: WorkingCalendar | None = None,
                 gateways: GatewayRegistry | Iterable[PaymentGateway] | None = None,
                 receipt_issuer: ReceiptIssuer | None = None,
                 receipts: ReceiptSettings | None = None,
                 signers: Mapping[str, Signer] | None = None,
                 paperwork: Paperwork | None = None,
                 certification_book: str = CERTIFICATION_BOOK,
                 audit_key: AuditKeys | bytes | str | Sequence[bytes | str] | None = None,
                 agencies: AgencyDirectory | Iterable[Agency] | None = None,
                 sinks: Mapping[str, Sink] | None = None,
                 outbox: OutboxSettings | None = None,
                 applicant_key: ApplicantKeys | bytes | str | Sequence[bytes | str] | None = None,
                 forms: FormRenderer | None = None,
                 form_settings: FormSettings | None = None,
                 create: bool = True) -> None:
        calendars = dict(calendars or {})
        for agency, calendar in calendars.items():
            if not isinstance(calendar, WorkingCalendar):
                raise InvalidInput(f"calendars[{agency!r}] must be a WorkingCalendar")
        if default_calendar is not None and not isinstance(default_calendar, WorkingCalendar):
            raise InvalidInput("default_calendar must be a WorkingCalendar")
        if receipts is not None and not isinstance(receipts, ReceiptSettings):
            raise InvalidInput("receipts must be a dossier.payments.service.ReceiptSettings")
        directory = _directory(agencies)
        if len(directory) and not (receipts and receipts.agency_names):
            receipts = replace(receipts or ReceiptSettings(), agency_names=directory.names())
        sinks = check_sinks(sinks)
        self._outbox = check_settings(outbox)
        registry = build_registry(gateways)
        keys = AuditKeys.of(audit_key)
        applicant_keys = ApplicantKeys.of(applicant_key)
        url = url or DEFAULT_URL
        db = Database(url, in_memory=_is_memory(url), create=create)
        try:
            store.ensure_schema(db, create=create)
            self._kernel = Kernel(db, clock=clock or SystemClock(), calendars=calendars,
                                  default_calendar=default_calendar
                                  or WorkingCalendar.vietnam(), audit_keys=keys,
                                  sinks=sinks, applicant_keys=applicant_keys,
                                  agencies=directory)
            self._kernel.prepare_calendars()
            self._signing = SigningService(
                self._kernel, signers or {}, paperwork=paperwork,
                agency_names=receipts.agency_names if receipts else None,
                certification_book=certification_book)
            self._payments = PaymentService(self._kernel, registry, receipt_issuer, receipts,
                                            seal=self._signing.seal)
            self._forms = FormsService(self._kernel, renderer=forms, seal=self._signing.seal,
                                       settings=form_settings)
        except BaseException:
            db.dispose()
            raise
        self._agencies = directory
        #: the configuration this engine was built from (:meth:`from_config`), if any
        self.deployment: Deployment | None = None
        if not keys:
            log.warning("no audit key (audit_key= or %s): events are linked with plain "
                        "SHA-256, which anyone who can write the database can recompute",
                        ENV_VAR)

    @classmethod
    def in_memory(cls, **kwargs: Any) -> Engine:
        """An engine on a private in-memory SQLite database (one connection, thread-safe);
        it takes every keyword :class:`Engine` takes."""
        return cls("sqlite://", **kwargs)

    @classmethod
    def from_config(cls, path: str | PathLike[str] | None = None, *,
                    database: str | None = None, clock: Clock | None = None,
                    environ: Mapping[str, str] | None = None, create: bool = True,
                    **overrides: Any) -> Engine:
        """The engine a ``dossier.toml`` describes (``path``, else ``$DOSSIER_CONFIG``): its
        database, agencies and their calendars, gateways, signers, sinks, keys, and the
        procedures it lists, registered on start (unless ``create=False``: then nothing is
        written). ``overrides`` replace any keyword :class:`Engine` takes. Every problem in
        the file is a :class:`~dossier.errors.ConfigError`; see :mod:`dossier.config`.
        ``database`` replaces the file's database URL."""
        from dossier.config import config_path, load_deployment
        from dossier.procedure import load_procedure

        chosen = config_path(path)
        if chosen is None:
            raise InvalidInput("no configuration: give its path or set $DOSSIER_CONFIG")
        deployment = load_deployment(chosen, environ=environ)
        receipts = ReceiptSettings(template_symbol=deployment.receipts.template_symbol,
                                   series_prefix=deployment.receipts.series_prefix,
                                   agency_names=deployment.agencies.names())
        options: dict[str, Any] = {
            "gateways": deployment.gateways, "signers": deployment.signers,
            "calendars": deployment.calendars, "agencies": deployment.agencies,
            "receipts": receipts, "audit_key": list(deployment.audit_keys) or None,
            "sinks": deployment.sinks, "outbox": _outbox_settings(deployment),
            "applicant_key": list(deployment.applicant_keys) or None,
            "form_settings": FormSettings(symbols=dict(deployment.forms.symbols),
                                          at_fire=deployment.forms.at_fire),
        }
        options.update(overrides)
        engine = cls(database or deployment.database, clock=clock, create=create, **options)
        engine.deployment = deployment
        if create:
            try:
                for file in deployment.procedures:
                    engine.register(load_procedure(file))
            except BaseException:
                engine.close()
                raise
        return engine

    @property
    def kernel(self) -> Kernel:
        """The one write path, for services an integrator adds beside the engine's own."""
        return self._kernel

    @property
    def agencies(self) -> AgencyDirectory:
        """The agency directory this engine was given (empty if none)."""
        return self._agencies

    @property
    def db(self) -> Database:
        return self._kernel.db

    @property
    def clock(self) -> Clock:
        return self._kernel.clock

    def calendar_for(self, agency: str) -> WorkingCalendar:
        """The working-day calendar deadlines of ``agency`` are counted on."""
        return self._kernel.calendar_for(agency)

    def close(self) -> None:
        """Release the database connections."""
        self._kernel.db.dispose()

    # --- procedures -------------------------------------------------------------------------

    def register(self, procedure: Procedure) -> Procedure:
        """Store a procedure version in the database so every engine on it can use it.

        Registering the same code and version again is a no-op if the content is the same,
        and :class:`~dossier.errors.ProcedureConflict` if it differs.
        """
        if not isinstance(procedure, Procedure):
            raise InvalidInput("register() takes a Procedure (see dossier.load_procedure)")
        catalog, now = self._kernel.procedures, self._now()
        # another engine may insert the same code+version between our read and write
        self._kernel.retrying(lambda tx: catalog.store(tx, procedure, now))
        catalog.remember(procedure)
        return procedure

    def procedure(self, code: str, version: str) -> Procedure:
        """A registered procedure version."""
        with self._kernel.transaction(write=False) as tx:
            return self._kernel.procedures.get(tx, code, version)

    # --- commands ---------------------------------------------------------------------------

    def submit(self, procedure_code: str, *, applicant: Mapping[str, Any], channel: str,
               actor: Actor, agency: str | None = None,
               fee_basis: Mapping[str, Any] | FeeBasis | None = None,
               case: str | None = None) -> Dossier:
        """Create a dossier in ``awaiting_reception`` and record its ``submit`` event.

        A clerk submits for their own agency (``channel`` ``counter`` or ``post``); a citizen
        submits online to the ``agency`` they name and becomes the dossier's owner.
        ``fee_basis`` (``{"pages": 3, "copies": 2}``) feeds the procedure's fee rule.
        ``case`` names one of the procedure's special cases (``cases`` in its file: e.g. an
        applicant who lived abroad gets 15 working days for a criminal-record certificate
        instead of 10); the dossier keeps it for life and its time limit counts from it.
        """
        check_actor(actor)
        return lifecycle.submit(self._kernel, procedure_code, applicant=applicant,
                                channel=channel, actor=actor, agency=agency,
                                fee_basis=fee_basis, case=case)

    def fire(self, code: str, trigger: str, *, actor: Actor, on_behalf_of: str | None = None,
             if_version: int | None = None, **data: Any) -> Dossier:
        """Fire ``trigger`` on dossier ``code`` as ``actor``; return the new snapshot.

        ``data`` is what the trigger takes (see :mod:`dossier.trigger_data`). ``if_version``
        makes the call fail with :class:`~dossier.errors.ConcurrencyConflict` unless the
        dossier is still at that version (what a user saw on screen). Checks, in order:
        unknown dossier, foreign agency or not the owner, a stale ``if_version``,
        trigger/state, role, a step assigned to someone else (:meth:`assign`), data, guards.

        Three triggers record more than the event:

        - ``pay`` with a fee due records the fee taken at the counter (``method`` ``cash``,
          ``pos`` with its slip as ``reference``, or ``transfer`` seen on the agency's
          account): a payment, its e-receipt and its place in reconciliation, exactly as
          :meth:`confirm_counter_payment`. Online payments complete ``pay`` by themselves
          (:meth:`request_payment`, then the provider's callback).
        - ``sign`` needs the signed result :meth:`sign_result` stores (it fires ``sign``
          itself), unless the procedure says ``signing = "paper"``.
        - ``certify`` needs the certified copies :meth:`certify_copy` issues (the last one
          fires it), unless the procedure says ``certification = "paper"``.
        """
        check_actor(actor)
        if not isinstance(code, str) or not isinstance(trigger, str):
            raise InvalidInput("fire() takes a dossier code and a trigger name")
        if trigger == Trigger.EXTEND:
            after = lifecycle.extend(self._kernel, code, actor, data, if_version, on_behalf_of)
            self._issue_forms(after, Trigger.EXTEND)
            return after
        if trigger == Trigger.PAY:
            after, order_ref = self._payments.settlement.pay(
                code, actor=actor, data=data, if_version=if_version, on_behalf_of=on_behalf_of)
            if order_ref is not None:
                self._payments.receipts.issue(order_ref=order_ref)
            return after
        after = lifecycle.fire(self._kernel, code, trigger, actor=actor,
                               on_behalf_of=on_behalf_of, if_version=if_version, data=data)
        self._issue_forms(after, trigger)
        return after

    def _issue_forms(self, after: Dossier, trigger: str) -> None:
        """The form the event just committed numbered, made now (the worker retries a form
        that cannot be made: the transition stands either way)."""
        if trigger in ISSUED_AT and self._forms.settings.at_fire:
            try:
                self._forms.issue(after.code)
            except DossierError as exc:
                log.warning("%s: forms not issued yet (%s); the worker will retry",
                            after.code, type(exc).__name__)

    def extend(self, code: str, *, actor: Actor, reason: str, appointment_at: datetime | str,
               if_version: int | None = None) -> Dossier:
        """Issue an apology letter (văn bản xin lỗi và hẹn lại) with a new appointment date.

        Once per dossier, by a clerk or leader of its agency, while it is open and its clock
        has started. The dossier is still judged against its due date: returned after it, it
        counts as late. Also reachable as ``fire(code, "extend", reason=…, appointment_at=…)``.
        """
        check_actor(actor)
        after = lifecycle.extend(self._kernel, code, actor,
                                 {"reason": reason, "appointment_at": appointment_at},
                                 if_version)
        self._issue_forms(after, Trigger.EXTEND)
        return after

    def attach(self, code: str, component: str, data: bytes, filename: str, *, actor: Actor,
               media_type: str | None = None,
               reused_from: ReuseSource | Mapping[str, Any] | None = None) -> Attachment:
        """Store a file for a dossier component (content-addressed by SHA-256).

        Staff of the dossier's agency or its owner may attach while the dossier is open; the
        attachment is recorded as an ``attach`` event in the dossier's history.

        ``reused_from`` says the file is not scanned here but reused (tái sử dụng): the result
        of an earlier dossier (``ReuseSource(kind="dossier", reference=CODE, sha256=…)``, which
        must hold that document) or the citizen's data store (``kind="data_store"``, with the
        store's reference). The bytes must hash to the ``sha256`` the source gives; the reuse
        is kept in :meth:`digitisation`.
        """
        check_actor(actor)
        return lifecycle.attach(self._kernel, code, component, data, filename, actor=actor,
                                media_type=media_type, reused_from=reused_from)

    def digitisation(self, code: str, *, actor: Actor | None = None
                     ) -> list[DigitisationRecord]:
        """The dossier's digitisation record, oldest first: each component digitised here
        (at ``digitise``: by whom, when, ``pages=`` as given), each component reused (from an
        earlier result or the citizen's data store) and the result (digital or not, returned
        electronically or not). :func:`dossier.digitisation.flags` turns it into what the
        quality indicators count. With ``actor``, only a party to the dossier may read it."""
        with self._kernel.transaction(write=False) as tx:
            dossier = self._kernel.load(tx, code)
            if actor is not None:
                policy.check_party(check_actor(actor), dossier)
            return drepo.records_of(tx, dossier.id)

    # --- timers -----------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None, *, batch: int = 500,
              max_batches: int | None = None) -> timers.SweepReport:
        """Fire every timer due at ``now`` (default: the clock): warnings, overdue events and
        refusals of dossiers whose time to supplement ran out.

        Runs in batches of at most ``batch`` dossiers, each batch one short write transaction
        that commits after ~35 ms of work even if rows are left (on SQLite it holds the write
        lock); on PostgreSQL rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several
        workers can sweep at once. Each dossier's due timers are re-checked inside the
        transaction, so a row swept twice (or by two workers) produces one event.
        """
        check_batch(batch)
        at = self._now() if now is None else require_aware(now, "now")
        return timers.sweep(self._kernel, at, batch=batch, max_batches=max_batches)

    # --- queries ----------------------------------------------------------------------------

    def due_timers(self, now: datetime | None = None) -> int:
        """How many dossiers have a timer (warning, overdue, expiry) due and not yet fired."""
        at = self._now() if now is None else require_aware(now, "now")
        with self._kernel.transaction(write=False) as tx:
            return repo.count_due(tx, at)

    def get(self, code: str, *, actor: Actor | None = None) -> Dossier:
        """The dossier as it is now (an immutable snapshot); with ``actor``, only if they are a
        party to it (see the class docstring)."""
        with self._kernel.transaction(write=False) as tx:
            return self._kernel.load_as(tx, code, actor)

    def history(self, code: str, *, actor: Actor | None = None) -> list[Event]:
        """The dossier's events, oldest first."""
        with self._kernel.transaction(write=False) as tx:
            return repo.load_events(tx, self._kernel.load_as(tx, code, actor).id)

    def attachments(self, code: str, *, actor: Actor | None = None) -> list[Attachment]:
        """The files attached to the dossier, oldest first."""
        with self._kernel.transaction(write=False) as tx:
            return repo.load_attachments(tx, self._kernel.load_as(tx, code, actor).id)

    def read_attachment(self, code: str, sha256: str, *, actor: Actor | None = None) -> bytes:
        """The content of one of the dossier's attached files."""
        with self._kernel.transaction(write=False) as tx:
            dossier = self._kernel.load_as(tx, code, actor)
            return self._kernel.read_blob(
                tx, dossier, sha256, (a.sha256 for a in repo.load_attachments(tx, dossier.id)),
                "attachment")

    def clock_pauses(self, code: str, *, actor: Actor | None = None) -> list[ClockPause]:
        """The dossier's clock-pause ledger (supplement rounds that stopped the clock)."""
        with self._kernel.transaction(write=False) as tx:
            return repo.load_pauses(tx, self._kernel.load_as(tx, code, actor).id)

    def remaining_text(self, code: str, now: datetime | None = None, *,
                       actor: Actor | None = None) -> str | None:
        """"Còn 2 ngày 3 giờ" / "Quá 1 ngày 2 giờ" until the appointment; None before
        reception or once the dossier is closed."""
        dossier = self.get(code, actor=actor)
        appointment = dossier.deadlines.appointment_at
        if appointment is None or dossier.is_final:
            return None
        at = self._now() if now is None else require_aware(now, "now")
        return self.calendar_for(dossier.agency).remaining_text(at, appointment)

    def codes(self, agency: str | None = None) -> list[str]:
        """Every dossier code (of one agency), in submission order."""
        with self._kernel.transaction(write=False) as tx:
            return repo.list_dossier_codes(tx, agency)

    def _now(self) -> datetime:
        return self._kernel.now()


SweepReport = timers.SweepReport


def _outbox_settings(deployment: Deployment) -> OutboxSettings:
    o = deployment.outbox
    return OutboxSettings(max_attempts=o.max_attempts, jitter=o.jitter,
                          backoff_base=timedelta(seconds=o.backoff_base),
                          backoff_cap=timedelta(seconds=o.backoff_cap),
                          lease=timedelta(seconds=o.lease),
                          retention=timedelta(seconds=o.retention), batch=o.batch)


def _directory(agencies: AgencyDirectory | Iterable[Agency] | None) -> AgencyDirectory:
    if agencies is None:
        return EMPTY_DIRECTORY
    if isinstance(agencies, AgencyDirectory):
        return agencies
    if isinstance(agencies, str | bytes | Mapping) or not isinstance(agencies, Iterable):
        raise InvalidInput("agencies must be an AgencyDirectory or Agency objects")
    return AgencyDirectory(agencies)


def _is_memory(url: str) -> bool:
    return url.startswith("sqlite") and url.split("://", 1)[-1] in ("", "/", "/:memory:")
