"""The application service: submit, fire, attach, query and audit dossiers.

Each public call is one database transaction: it validates its input, loads the dossier,
authorises the actor, looks the transition up in the procedure's rule book, checks the
guards, and writes the new row and its event together — or raises and writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from dossier import sla, store
from dossier.actors import STAFF_ROLES, Actor
from dossier.audit import GENESIS, verify_chain
from dossier.authorise import (
    check_actor,
    check_applicant,
    check_party,
    on_behalf_of_for,
    submitting_agency,
)
from dossier.billing import (
    DEFAULT_EXPIRY,
    MOP_UP_AFTER,
    Billing,
    MopUpReport,
    PaymentSummary,
    ReceiptSettings,
    build_registry,
)
from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ, Clock, SystemClock, local_date, require_aware
from dossier.effects import after_event, chain_event, transition_changes
from dossier.errors import (
    ConcurrencyConflict,
    DossierNotFound,
    InvalidInput,
    PermissionDenied,
    ProcedureConflict,
    ProcedureNotFound,
    TransitionNotAllowed,
)
from dossier.fees import FeeBasis, compute_fee
from dossier.payments.base import CallbackReply, PaymentGateway, RawCallback
from dossier.payments.receipt import ReceiptIssuer
from dossier.payments.reconcile import ReconciliationReport, StatementLine
from dossier.payments.registry import GatewayRegistry
from dossier.procedure.model import Procedure, ServiceLevel
from dossier.records import (
    Attachment,
    ClockPause,
    DocumentRecord,
    Dossier,
    Event,
    Payment,
    PaymentCallback,
    Refund,
    SignatureRequest,
    StoredReceipt,
)
from dossier.rulebook import RuleBook
from dossier.signatures import DEFAULT_CERTIFIER_TITLE, Signatures
from dossier.signing.base import Signer
from dossier.states import FINAL_STATES, Role, State, Trigger
from dossier.store import repository as repo
from dossier.store.database import Database, Tx
from dossier.trigger_data import validate_trigger_data

log = logging.getLogger("dossier")

DEFAULT_URL = "sqlite:///dossier.db"
CHANNELS = ("counter", "online", "post")
_MAX_ATTACHMENT = 50 * 1024 * 1024


class Engine:
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
    numbered and headed as ``receipts`` says (:class:`~dossier.billing.ReceiptSettings`).
    """

    def __init__(self, url: str | None = None, *, clock: Clock | None = None,
                 calendars: Mapping[str, WorkingCalendar] | None = None,
                 default_calendar: WorkingCalendar | None = None,
                 gateways: GatewayRegistry | Iterable[PaymentGateway] | None = None,
                 receipt_issuer: ReceiptIssuer | None = None,
                 receipts: ReceiptSettings | None = None,
                 signers: Mapping[str, Signer] | None = None) -> None:
        calendars = dict(calendars or {})
        for agency, calendar in calendars.items():
            if not isinstance(calendar, WorkingCalendar):
                raise InvalidInput(f"calendars[{agency!r}] must be a WorkingCalendar")
        if default_calendar is not None and not isinstance(default_calendar, WorkingCalendar):
            raise InvalidInput("default_calendar must be a WorkingCalendar")
        if receipts is not None and not isinstance(receipts, ReceiptSettings):
            raise InvalidInput("receipts must be a dossier.billing.ReceiptSettings")
        registry = build_registry(gateways)
        url = url or DEFAULT_URL
        self.db = Database(url, in_memory=_is_memory(url))
        try:
            store.ensure_schema(self.db)
        except BaseException:
            self.db.dispose()
            raise
        self.clock: Clock = clock or SystemClock()
        self.calendars = calendars
        self.default_calendar = default_calendar or WorkingCalendar.vietnam()
        self._procedures: dict[tuple[str, str], Procedure] = {}
        self._books: dict[tuple[str, str], RuleBook] = {}
        self._cache_lock = threading.Lock()
        try:
            self._billing = Billing(self, registry, receipt_issuer, receipts)
            self._signatures = Signatures(
                self, signers or {}, agency_names=receipts.agency_names if receipts else None)
        except BaseException:
            self.db.dispose()
            raise

    @classmethod
    def in_memory(cls, *, clock: Clock | None = None,
                  calendars: Mapping[str, WorkingCalendar] | None = None) -> Engine:
        """An engine on a private in-memory SQLite database (one connection, thread-safe)."""
        return cls("sqlite://", clock=clock, calendars=calendars)

    def calendar_for(self, agency: str) -> WorkingCalendar:
        """The working-day calendar deadlines of ``agency`` are counted on."""
        return self.calendars.get(agency, self.default_calendar)

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    # --- procedures -------------------------------------------------------------------------

    def register(self, procedure: Procedure) -> Procedure:
        """Store a procedure version in the database so every engine on it can use it.

        Registering the same code and version again is a no-op if the content is the same,
        and :class:`~dossier.errors.ProcedureConflict` if it differs.
        """
        if not isinstance(procedure, Procedure):
            raise InvalidInput("register() takes a Procedure (see dossier.load_procedure)")
        for attempt in (1, 2):
            try:
                with self.db.transaction() as tx:
                    self._register_in(tx, procedure)
                break
            except Exception as exc:
                # another engine inserted the same code+version between our read and write
                if attempt == 2 or not self.db.is_integrity_error(exc):
                    raise
        with self._cache_lock:
            self._procedures.setdefault(procedure.key, procedure)
        return procedure

    def _register_in(self, tx: Tx, procedure: Procedure) -> None:
        found = repo.find_procedure(tx, procedure.code, procedure.version)
        if found is None:
            repo.insert_procedure(
                tx, procedure.code, procedure.version, procedure.effective_from,
                procedure.effective_until, procedure.canonical_json(),
                procedure.content_hash, self._now())
        elif found[0] != procedure.content_hash and Procedure.from_json(found[1]) != procedure:
            # (a different hash with equal content: stored before the schema gained fields)
            raise ProcedureConflict(
                f"procedure {procedure.code} version {procedure.version} is already "
                "registered with different content; give the new content a new version")

    def procedure(self, code: str, version: str) -> Procedure:
        """A registered procedure version."""
        with self.db.transaction(write=False) as tx:
            return self._load_procedure(tx, code, version)

    def _load_procedure(self, tx: Tx, code: str, version: str) -> Procedure:
        cached = self._procedures.get((code, version))
        if cached is not None:
            return cached
        found = repo.find_procedure(tx, code, version)
        if found is None:
            raise ProcedureNotFound(f"procedure {code} version {version} is not registered")
        procedure = Procedure.from_json(found[1])
        with self._cache_lock:
            return self._procedures.setdefault((code, version), procedure)

    def _book(self, procedure: Procedure) -> RuleBook:
        book = self._books.get(procedure.key)
        if book is None:
            with self._cache_lock:
                book = self._books.setdefault(procedure.key, RuleBook(procedure))
        return book

    def _in_force(self, tx: Tx, code: str, instant_day: date) -> Procedure:
        versions = [v for v in repo.procedure_versions(tx, code)
                    if v.effective_from <= instant_day
                    and (v.effective_until is None or instant_day <= v.effective_until)]
        if not versions:
            raise ProcedureNotFound(f"no version of procedure {code!r} is registered and in "
                                    f"force on {instant_day.isoformat()}")
        latest = max(versions, key=lambda v: (v.effective_from, v.version))
        return self._load_procedure(tx, code, latest.version)

    # --- commands ---------------------------------------------------------------------------

    def submit(self, procedure_code: str, *, applicant: Mapping[str, Any], channel: str,
               actor: Actor, agency: str | None = None,
               fee_basis: Mapping[str, Any] | FeeBasis | None = None) -> Dossier:
        """Create a dossier in ``awaiting_reception`` and record its ``submit`` event.

        A clerk submits for their own agency (``channel`` ``counter`` or ``post``); a citizen
        submits online to the ``agency`` they name and becomes the dossier's owner.
        ``fee_basis`` (``{"pages": 3, "copies": 2}``) feeds the procedure's fee rule.
        """
        check_actor(actor)
        if channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}; got {channel!r}")
        clean_applicant = check_applicant(applicant)
        basis = FeeBasis.parse(fee_basis)
        agency = submitting_agency(actor, channel, agency)
        now = self._now()
        with self.db.transaction() as tx:
            procedure = self._in_force(tx, procedure_code, local_date(now))
            if channel == "online" and procedure.service_level is ServiceLevel.OFFLINE:
                raise InvalidInput(f"procedure {procedure.code} is not offered online")
            day = local_date(now).strftime("%y%m%d")
            number = repo.next_counter(tx, "dossier", f"{agency}:{day}")
            draft = Dossier(
                id=0, code=f"{agency}-{day}-{number:04d}", procedure_code=procedure.code,
                procedure_version=procedure.version, agency=agency, channel=channel,
                state=State.AWAITING_RECEPTION, resume_state=None,
                owner=actor.id if actor.role is Role.CITIZEN else None,
                applicant=clean_applicant, fee_due=compute_fee(procedure.fee, basis),
                paid_amount=0, version=0, event_count=0, head_hash=GENESIS, submitted_at=now,
                received_at=None, updated_at=now, closed_at=None)
            event = chain_event(
                draft, trigger=Trigger.SUBMIT.value, source=None,
                target=State.AWAITING_RECEPTION.value, actor=actor.id, role=actor.role.value,
                on_behalf_of=None, at=now,
                data={"procedure": procedure.code, "version": procedure.version,
                      "channel": channel, "fee_due": draft.fee_due})
            dossier = after_event(draft, event)
            dossier = replace(dossier, id=repo.insert_dossier(tx, dossier, basis.as_dict()))
            repo.insert_event(tx, dossier.id, event)
        log.info("%s submitted (%s %s, %s) by %s", dossier.code, procedure.code,
                 procedure.version, channel, actor.id)
        return dossier

    def fire(self, code: str, trigger: str, *, actor: Actor, on_behalf_of: str | None = None,
             if_version: int | None = None, **data: Any) -> Dossier:
        """Fire ``trigger`` on dossier ``code`` as ``actor``; return the new snapshot.

        ``data`` is what the trigger takes (see :mod:`dossier.trigger_data`). ``if_version``
        makes the call fail with :class:`~dossier.errors.ConcurrencyConflict` unless the
        dossier is still at that version (what a user saw on screen). Checks, in order:
        unknown dossier, foreign agency or not the owner, trigger/state, role, data, guards.
        """
        check_actor(actor)
        if not isinstance(code, str) or not isinstance(trigger, str):
            raise InvalidInput("fire() takes a dossier code and a trigger name")
        if trigger == Trigger.EXTEND:
            return self._extend(code, actor, data, if_version, on_behalf_of)
        now = self._now()
        with self.db.transaction() as tx:
            before = self._load_for(tx, code, actor)
            procedure = self._load_procedure(tx, before.procedure_code, before.procedure_version)
            book = self._book(procedure)
            rules = book.candidates(before.state, trigger)
            roles = book.allowed_roles(before.state, trigger)
            if actor.role not in roles:
                raise PermissionDenied(
                    f"{code}: a {actor.role.value} may not {trigger} in state "
                    f"{before.state.value} (allowed: {', '.join(sorted(roles))})")
            fired = Trigger(trigger)
            clean = validate_trigger_data(fired, data, procedure)
            if if_version is not None and if_version != before.version:
                raise ConcurrencyConflict(f"{code} is at version {before.version}, not "
                                          f"{if_version}: reload it and decide again")
            if fired is Trigger.RECEIVE:
                _check_arrival(before, clean, now)
            behalf = on_behalf_of_for(actor, before, fired, on_behalf_of)
            rule = book.resolve(code, rules, _GuardView(tx, before, procedure, clean))
            after = self._apply(tx, before, procedure, fired, rule.target, actor, behalf,
                                clean, now)
        if log.isEnabledFor(logging.INFO):  # spare the enum look-ups when nobody listens
            log.info("%s %s: %s -> %s by %s (%s)", code, trigger, before.state.value,
                     after.state.value, actor.id, actor.role.value)
        return after

    def _apply(self, tx: Tx, before: Dossier, procedure: Procedure, trigger: Trigger,
               target: State, actor: Actor, behalf: str | None, clean: Mapping[str, Any],
               now: datetime) -> Dossier:
        """Record one allowed transition: deadlines, event, row, clock ledger; return the row."""
        sla_change = sla.on_transition(
            before.deadlines, procedure=procedure, channel=before.channel, trigger=trigger,
            source=before.state, target=target, data=clean, at=now,
            calendar=self.calendar_for(before.agency))
        event = chain_event(before, trigger=trigger.value, source=before.state.value,
                            target=target.value, actor=actor.id, role=actor.role.value,
                            on_behalf_of=behalf, at=now, data={**clean, **sla_change.event_data})
        after = after_event(before, event, deadlines=sla_change.deadlines,
                            **transition_changes(before, trigger, target, clean, now))
        if not repo.update_dossier(tx, before, after):
            raise ConcurrencyConflict(f"{before.code} was changed by someone else; reload it")
        repo.insert_event(tx, before.id, event)
        if sla_change.pause_end is not None:
            end = sla_change.pause_end
            repo.close_pause(tx, before.id, end.ended_at, end.due_before, end.due_after)
        if sla_change.pause_start is not None:
            start = sla_change.pause_start
            repo.open_pause(tx, before.id, start.started_at, start.reason, start.legal_basis,
                            actor.id, actor.role.value)
        if trigger is not Trigger.PAY and (target is State.AWAITING_PAYMENT
                                           or target in FINAL_STATES):
            # a fee paid ahead completes pay now; a closed dossier's open attempts end
            after = self._billing.after_transition(tx, after, procedure, now)
        return after

    def _pay_in(self, tx: Tx, before: Dossier, procedure: Procedure, actor: Actor,
                behalf: str | None, data: Mapping[str, Any], now: datetime) -> Dossier:
        """Fire ``pay`` inside ``tx`` (a gateway's success, a clerk's counter confirmation);
        the same role, data and guard checks as :meth:`fire`."""
        book = self._book(procedure)
        rules = book.candidates(before.state, Trigger.PAY.value)
        if actor.role not in book.allowed_roles(before.state, Trigger.PAY.value):
            raise PermissionDenied(f"{before.code}: a {actor.role.value} may not pay")
        clean = validate_trigger_data(Trigger.PAY, data, procedure)
        rule = book.resolve(before.code, rules, _GuardView(tx, before, procedure, clean))
        return self._apply(tx, before, procedure, Trigger.PAY, rule.target, actor, behalf,
                           clean, now)

    def extend(self, code: str, *, actor: Actor, reason: str, appointment_at: datetime | str,
               if_version: int | None = None) -> Dossier:
        """Issue an apology letter (văn bản xin lỗi và hẹn lại) with a new appointment date.

        Once per dossier, by a clerk or leader of its agency, while it is open and its clock
        has started. The dossier is still judged against its due date: returned after it, it
        counts as late. Also reachable as ``fire(code, "extend", reason=…, appointment_at=…)``.
        """
        check_actor(actor)
        return self._extend(code, actor, {"reason": reason, "appointment_at": appointment_at},
                            if_version)

    def _extend(self, code: str, actor: Actor, data: Mapping[str, Any],
                if_version: int | None, on_behalf_of: str | None = None) -> Dossier:
        now = self._now()
        with self.db.transaction() as tx:
            before = self._load_for(tx, code, actor)
            d = before.deadlines
            if before.is_final or d.appointment_at is None:
                raise TransitionNotAllowed(f"{code}: only an open dossier whose clock has "
                                           "started can get a new appointment")
            if d.extended:
                raise TransitionNotAllowed(f"{code} already had its appointment moved once; "
                                           "an apology letter is issued at most once")
            if actor.role not in (Role.CLERK, Role.LEADER):
                raise PermissionDenied(f"{code}: a {actor.role.value} may not issue an apology "
                                       "letter (clerk or leader)")
            if on_behalf_of is not None:
                raise InvalidInput("an apology letter is issued by staff in their own name")
            procedure = self._load_procedure(tx, before.procedure_code, before.procedure_version)
            clean = validate_trigger_data(Trigger.EXTEND, data, procedure)
            if if_version is not None and if_version != before.version:
                raise ConcurrencyConflict(f"{code} is at version {before.version}, not "
                                          f"{if_version}: reload it and decide again")
            new_appointment = datetime.fromisoformat(clean["appointment_at"])
            if new_appointment <= max(d.appointment_at, now):
                raise InvalidInput(f"{code}: the new appointment must be later than the current "
                                   f"one ({d.appointment_at.isoformat()}) and than now")
            calendar = self.calendar_for(before.agency)
            deadlines = sla.extend(d, procedure=procedure, new_appointment=new_appointment,
                                   calendar=calendar, at=now)
            deadlines = replace(deadlines,
                                next_timer_at=sla.next_timer(before.state, deadlines))
            event = chain_event(before, trigger=Trigger.EXTEND.value, source=before.state.value,
                                target=before.state.value, actor=actor.id,
                                role=actor.role.value, on_behalf_of=None, at=now,
                                data={**clean, "previous_appointment_at":
                                      d.appointment_at.astimezone(LOCAL_TZ).isoformat()})
            after = after_event(before, event, deadlines=deadlines)
            if not repo.update_dossier(tx, before, after):
                raise ConcurrencyConflict(f"{code} was changed by someone else; reload it")
            repo.insert_event(tx, before.id, event)
        log.info("%s extend: new appointment %s by %s", code, clean["appointment_at"], actor.id)
        return after

    # --- timers -----------------------------------------------------------------------------

    def sweep(self, now: datetime | None = None, *, batch: int = 500,
              max_batches: int | None = None) -> SweepReport:
        """Fire every timer due at ``now`` (default: the clock): warnings, overdue events and
        refusals of dossiers whose time to supplement ran out.

        Runs in batches of ``batch`` dossiers, each batch one short write transaction; on
        PostgreSQL rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several workers can
        sweep at once. Each dossier's due timers are re-checked inside the transaction, so a
        row swept twice (or by two workers) produces one event.
        """
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidInput("batch must be a positive whole number")
        at = self._now() if now is None else require_aware(now, "now")
        fired: dict[str, int] = {}
        batches = 0
        while max_batches is None or batches < max_batches:
            with self.db.transaction() as tx:
                codes = repo.due_dossier_codes(tx, at, batch,
                                               skip_locked=not self.db.is_sqlite)
                for code in codes:
                    timer = self._fire_timer(tx, code, at)
                    if timer is not None:
                        fired[timer.value] = fired.get(timer.value, 0) + 1
            batches += 1
            if len(codes) < batch:
                break
        report = SweepReport(at=at, fired=fired)
        if report.total:
            log.info("sweep at %s: %s", at.isoformat(), report)
        return report

    def _fire_timer(self, tx: Tx, code: str, now: datetime) -> sla.Timer | None:
        before = self._load(tx, code)
        timer = sla.due_timer(before.state, before.deadlines, now)
        system = Actor.system()
        if timer is None:
            # nothing due after all (already fired, or the due date moved): re-arm the index
            expected = sla.next_timer(before.state, before.deadlines)
            if expected != before.deadlines.next_timer_at:
                repo.set_next_timer(tx, before.id, expected)
            return None
        procedure = self._load_procedure(tx, before.procedure_code, before.procedure_version)
        if timer is sla.Timer.SUPPLEMENT_EXPIRED:
            self._apply(tx, before, procedure, Trigger.REFUSE, State.REFUSED, system, None,
                        {"reason": sla.SUPPLEMENT_EXPIRED_REASON}, now)
            return timer
        d = before.deadlines
        assert d.appointment_at is not None
        trigger = Trigger.OVERDUE if timer is sla.Timer.OVERDUE else Trigger.SLA_WARNING
        calendar = self.calendar_for(before.agency)
        event = chain_event(
            before, trigger=trigger.value, source=before.state.value,
            target=before.state.value, actor=system.id, role=system.role.value,
            on_behalf_of=None, at=now,
            data={"appointment_at": d.appointment_at.astimezone(LOCAL_TZ).isoformat(),
                  "remaining": calendar.remaining_text(now, d.appointment_at)})
        after = after_event(before, event, deadlines=sla.after_timer(before.state, d, timer))
        if not repo.update_dossier(tx, before, after):
            raise ConcurrencyConflict(f"{code} was changed by someone else; reload it")
        repo.insert_event(tx, before.id, event)
        return timer

    def attach(self, code: str, component: str, data: bytes, filename: str, *, actor: Actor,
               media_type: str | None = None) -> Attachment:
        """Store a file for a dossier component (content-addressed by SHA-256).

        Staff of the dossier's agency or its owner may attach while the dossier is open; the
        attachment is recorded as an ``attach`` event in the dossier's history.
        """
        check_actor(actor)
        if not isinstance(data, bytes | bytearray) or not data:
            raise InvalidInput("attach() needs the file content as non-empty bytes")
        if len(data) > _MAX_ATTACHMENT:
            raise InvalidInput(f"file is larger than {_MAX_ATTACHMENT // 2**20} MiB")
        if not isinstance(filename, str) or not filename.strip() or "/" in filename:
            raise InvalidInput("filename must be a plain file name")
        content = bytes(data)
        digest = hashlib.sha256(content).hexdigest()
        kind = media_type or mimetypes.guess_type(filename)[0] or "application/octet-stream"
        now = self._now()
        with self.db.transaction() as tx:
            before = self._load_for(tx, code, actor)
            if actor.role not in STAFF_ROLES | {Role.CITIZEN}:
                raise PermissionDenied(f"{code}: a {actor.role.value} may not attach files")
            if before.is_final:
                raise TransitionNotAllowed(f"{code} is {before.state.value}; it takes no files")
            procedure = self._load_procedure(tx, before.procedure_code, before.procedure_version)
            if procedure.component(component) is None:
                known = ", ".join(c.id for c in procedure.components) or "none"
                raise InvalidInput(f"{code}: procedure {procedure.code} has no component "
                                   f"{component!r} (its components: {known})")
            attachment = Attachment(component=component, filename=filename, sha256=digest,
                                    size=len(content), media_type=kind, attached_by=actor.id,
                                    attached_at=now)
            event = chain_event(before, trigger=Trigger.ATTACH.value,
                                source=before.state.value, target=before.state.value,
                                actor=actor.id, role=actor.role.value, on_behalf_of=None,
                                at=now, data={"component": component, "filename": filename,
                                              "sha256": digest, "size": len(content)})
            if not repo.update_dossier(tx, before, after_event(before, event)):
                raise ConcurrencyConflict(f"{code} was changed by someone else; reload it")
            repo.put_blob(tx, digest, content)
            repo.insert_attachment(tx, before.id, attachment)
            repo.insert_event(tx, before.id, event)
        log.info("%s attach %s (%d bytes) by %s", code, component, len(content), actor.id)
        return attachment

    # --- payments ---------------------------------------------------------------------------

    @property
    def gateways(self) -> GatewayRegistry:
        """The payment gateways this engine uses, by name."""
        return self._billing.gateways

    def request_payment(self, code: str, provider: str, *, actor: Actor,
                        idempotency_key: str | None = None, return_url: str = "",
                        client_ip: str = "127.0.0.1",
                        expires_in: timedelta = DEFAULT_EXPIRY) -> Payment:
        """Open a payment attempt of the dossier's fee with ``provider``; return it with what
        the citizen needs (``redirect_url``, ``qr_payload`` or ``counter_instructions``).

        The amount is the dossier's ``fee_due`` (the procedure's fee rule over the fee basis
        given at submission). The dossier's owner or staff of its agency may ask, while the
        dossier is open and its fee unpaid, at any step: a fee paid before the dossier
        reaches ``awaiting_payment`` completes ``pay`` by itself when it gets there. The same
        ``idempotency_key`` returns the same payment; reused for another amount, provider or
        dossier it raises :class:`~dossier.errors.IdempotencyConflict`. Without a key every
        call opens a new attempt. A provider that refuses raises
        :class:`~dossier.errors.PaymentError` and the attempt is stored as ``failed``.
        """
        return self._billing.request_payment(
            code, provider, actor=actor, idempotency_key=idempotency_key,
            return_url=return_url, client_ip=client_ip, expires_in=expires_in)

    def handle_payment_callback(self, provider: str, params_or_body: RawCallback) -> CallbackReply:
        """Verify and apply a provider's callback (IPN, bank notification); return the HTTP
        answer the provider expects.

        Checks, in VNPay's order: signature and merchant (97), order (01), amount and
        currency (04), already processed (02). Every callback is recorded
        (:meth:`payment_callbacks`); only a verified one for a known order with the right
        amount changes anything. A success completes ``pay`` (as ``system``, on behalf of
        the payer) in the same transaction when the dossier waits in ``awaiting_payment``;
        a success for an attempt that had expired, failed or been cancelled, or for a
        dossier already paid or closed, puts the payment in ``needs_review``. A replay
        changes nothing. A failure marks a pending payment ``failed``.
        """
        return self._billing.handle_callback(provider, params_or_body)

    def confirm_counter_payment(self, code: str, *, actor: Actor, amount: int,
                                method: str = "cash", reference: str | None = None,
                                idempotency_key: str | None = None) -> Payment:
        """The fee was taken at the counter (``method`` ``cash`` or ``pos``; ``reference``:
        the cash-book line or POS slip, required for ``pos``).

        Only the role of the procedure's ``pay`` step (a clerk) of the dossier's agency may
        confirm, and only the exact fee due. It uses the dossier's open ``counter`` attempt
        (from :meth:`request_payment`) or records a new one, issues the receipt and, when
        the dossier waits in ``awaiting_payment``, fires ``pay`` as that clerk.
        """
        return self._billing.confirm_counter(code, actor=actor, amount=amount, method=method,
                                             reference=reference,
                                             idempotency_key=idempotency_key)

    def refund(self, code: str, *, actor: Actor, reason: str, idempotency_key: str,
               amount: int | None = None, order_ref: str | None = None) -> Refund:
        """Give back all (``amount=None``: what is left) or part of a received payment.

        A clerk or leader of the dossier's agency may refund a dossier that was refused,
        withdrawn or stopped, or any payment in ``needs_review`` (paid late, twice, or for a
        closed dossier). Never more than was paid, minus earlier refunds
        (:class:`~dossier.errors.RefundNotAllowed`). ``order_ref`` picks the payment (default:
        the latest with money left). The same ``idempotency_key`` returns the same refund.
        Providers without a refund API (counter, VietQR) leave the refund ``pending`` until
        :meth:`confirm_refund`.
        """
        return self._billing.refund(code, actor=actor, reason=reason,
                                    idempotency_key=idempotency_key, amount=amount,
                                    order_ref=order_ref)

    def confirm_refund(self, refund_ref: str, *, actor: Actor) -> Refund:
        """A pending refund was paid back by hand (cash, bank transfer)."""
        return self._billing.confirm_refund(refund_ref, actor=actor)

    def expire_stale_payments(self, now: datetime | None = None, *,
                              older_than: timedelta = MOP_UP_AFTER,
                              batch: int = 200) -> MopUpReport:
        """Ask the provider about attempts pending for longer than ``older_than``: paid ones
        take the normal success path, failed ones are marked ``failed``, and ones past their
        expiry that the provider does not report paid are marked ``expired``. A provider
        that cannot be reached leaves the attempt for the next run."""
        return self._billing.expire_stale(now, older_than=older_than, batch=batch)

    def issue_pending_receipts(self) -> int:
        """Produce receipts numbered but not issued yet (the issuer failed); return how many."""
        return self._billing.issue_receipts()

    # --- signatures and certified copies (dossier.signatures) -------------------------------

    def sign_result(self, code: str, *, actor: Actor, signer: str,
                    document: bytes | None = None, signer_name: str | None = None,
                    lookup_url: str = "") -> Dossier | SignatureRequest:
        """Sign the dossier's result with the signer registered as ``signer`` (the leader of
        the ``sign`` step acts). A signer that signs at once fires ``sign`` and returns the
        dossier; a remote signer returns the pending :class:`SignatureRequest`, completed by
        :meth:`poll_signatures` (the worker) or :meth:`signature_callback`. ``document``
        defaults to the result page rendered from ``templates/ket-qua.html.j2``."""
        return self._signatures.sign_result(code, actor=actor, signer=signer, document=document,
                                            signer_name=signer_name, lookup_url=lookup_url)

    def poll_signatures(self, now: datetime | None = None, *, batch: int = 100) -> dict[str, int]:
        """Ask remote signers about pending requests; fire ``sign`` for those now signed."""
        return self._signatures.poll_signatures(now, batch=batch)

    def signature_callback(self, provider: str, transaction_id: str) -> SignatureRequest:
        """A signing service said a request changed: poll that one request now."""
        return self._signatures.signature_callback(provider, transaction_id)

    def certify_copy(self, code: str, component: str, *, actor: Actor, signer: str,
                     certifier_name: str | None = None,
                     certifier_title: str = DEFAULT_CERTIFIER_TITLE) -> Dossier:
        """Issue the electronic certified copy (bản sao điện tử chứng thực từ bản chính) of a
        stored original: statement page with its number and book, signed; ``certify`` fires
        once every certifiable component has its copy."""
        return self._signatures.certify_copy(code, component, actor=actor, signer=signer,
                                             certifier_name=certifier_name,
                                             certifier_title=certifier_title)

    def documents(self, code: str) -> list[DocumentRecord]:
        """The dossier's signed documents (results, certified copies), oldest first."""
        return self._signatures.documents(code)

    def read_document(self, code: str, sha256: str) -> bytes:
        """The bytes of one of the dossier's documents."""
        return self._signatures.read_document(code, sha256)

    def signature_requests(self, code: str) -> list[SignatureRequest]:
        """The dossier's remote signature requests, oldest first."""
        return self._signatures.requests(code)

    def payments(self, code: str) -> list[Payment]:
        """The dossier's payment attempts, oldest first."""
        return self._billing.payments(code)

    def refunds(self, code: str) -> list[Refund]:
        """The dossier's refunds, oldest first."""
        return self._billing.refunds(code)

    def receipts(self, code: str) -> list[StoredReceipt]:
        """The dossier's e-receipts (one per succeeded payment), oldest first."""
        return self._billing.receipts(code)

    def payment_callbacks(self, *, order_ref: str | None = None,
                          review: bool = False) -> list[PaymentCallback]:
        """Callbacks received (of one order), oldest first; ``review=True``: only those a
        person must look at (forged, unknown order, wrong amount, not applied)."""
        return self._billing.callbacks(order_ref=order_ref, review_only=review)

    def payment_summary(self, agency: str | None = None) -> PaymentSummary:
        """How paid dossiers (of one agency) paid: online or at the counter, from their
        ``pay`` events; ``.online_rate`` is the provinces' online-payment indicator."""
        return self._billing.summary(agency)

    def reconcile(self, provider: str, lines: Iterable[StatementLine], *,
                  layout: str | None = None,
                  days: Iterable[date] | None = None) -> ReconciliationReport:
        """Match a provider's statement lines against our payments of ``provider`` paid on
        ``days`` (Vietnam dates; default: the dates the statement covers). ``layout`` names
        the statement layout when it differs from the provider name."""
        return self._billing.reconcile(provider, lines, layout=layout, days=days)

    # --- queries ----------------------------------------------------------------------------

    def get(self, code: str) -> Dossier:
        """The dossier as it is now (an immutable snapshot)."""
        with self.db.transaction(write=False) as tx:
            return self._load(tx, code)

    def history(self, code: str) -> list[Event]:
        """The dossier's events, oldest first."""
        with self.db.transaction(write=False) as tx:
            return repo.load_events(tx, self._load(tx, code).id)

    def attachments(self, code: str) -> list[Attachment]:
        """The files attached to the dossier, oldest first."""
        with self.db.transaction(write=False) as tx:
            return repo.load_attachments(tx, self._load(tx, code).id)

    def read_attachment(self, code: str, sha256: str) -> bytes:
        """The content of one of the dossier's attached files."""
        with self.db.transaction(write=False) as tx:
            dossier = self._load(tx, code)
            if sha256 not in {a.sha256 for a in repo.load_attachments(tx, dossier.id)}:
                raise InvalidInput(f"{code} has no attachment with SHA-256 {sha256}")
            blob = repo.get_blob(tx, sha256)
        assert blob is not None  # attachments reference blobs by foreign key
        return blob

    def clock_pauses(self, code: str) -> list[ClockPause]:
        """The dossier's clock-pause ledger (supplement rounds that stopped the clock)."""
        with self.db.transaction(write=False) as tx:
            return repo.load_pauses(tx, self._load(tx, code).id)

    def remaining_text(self, code: str, now: datetime | None = None) -> str | None:
        """"Còn 2 ngày 3 giờ" / "Quá 1 ngày 2 giờ" until the appointment; None before
        reception or once the dossier is closed."""
        dossier = self.get(code)
        appointment = dossier.deadlines.appointment_at
        if appointment is None or dossier.is_final:
            return None
        at = self._now() if now is None else require_aware(now, "now")
        return self.calendar_for(dossier.agency).remaining_text(at, appointment)

    def codes(self, agency: str | None = None) -> list[str]:
        """Every dossier code (of one agency), in submission order."""
        with self.db.transaction(write=False) as tx:
            return repo.list_dossier_codes(tx, agency)

    def verify_audit(self, code: str) -> bool:
        """``True`` if the dossier's event log matches its hash chain; else :class:`AuditError`."""
        with self.db.transaction(write=False) as tx:
            dossier = self._load(tx, code)
            events = repo.load_events(tx, dossier.id)
        verify_chain(code, events, dossier.head_hash, dossier.event_count)
        return True

    # --- helpers ----------------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_aware(self.clock.now(), "clock.now()")

    def _load_for(self, tx: Tx, code: str, actor: Actor) -> Dossier:
        dossier = self._load(tx, code)
        check_party(actor, dossier)
        return dossier

    def _load(self, tx: Tx, code: str) -> Dossier:
        dossier = repo.load_dossier(tx, code) if isinstance(code, str) else None
        if dossier is None:
            raise DossierNotFound(f"no dossier with code {code!r}")
        return dossier

@dataclass(frozen=True)
class SweepReport:
    """What one :meth:`Engine.sweep` fired, by timer (``sla_warning``, ``overdue``,
    ``supplement_expired``)."""

    at: datetime
    fired: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.fired.values())

    def __str__(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.fired.items())) or "nothing due"


def _check_arrival(dossier: Dossier, data: Mapping[str, Any], now: datetime) -> None:
    """The post channel's clock starts when the post brought the dossier, given with receive."""
    arrived = data.get("arrived_at")
    if dossier.channel == "post" and dossier.received_at is None:
        if arrived is None:
            raise InvalidInput(f"{dossier.code} came by post: give arrived_at= (when the post "
                               "delivered it) with receive; the clock starts then")
        if datetime.fromisoformat(arrived) > now:
            raise InvalidInput(f"{dossier.code}: arrived_at is in the future")
    elif arrived is not None:
        raise InvalidInput("arrived_at is for the first reception of a dossier sent by post")


class _GuardView:
    """What the guards see of one dossier during one ``fire``; the file query runs lazily."""

    def __init__(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                 data: Mapping[str, Any]) -> None:
        self._tx, self._dossier = tx, dossier
        self.procedure, self.data = procedure, data
        self._stored: frozenset[str] | None = None

    state = property(lambda self: self._dossier.state)
    resume_state = property(lambda self: self._dossier.resume_state)
    received = property(lambda self: self._dossier.received_at is not None)
    fee_due = property(lambda self: self._dossier.fee_due)
    paid_amount = property(lambda self: self._dossier.paid_amount)

    def stored_components(self) -> frozenset[str]:
        if self._stored is None:
            self._stored = repo.stored_components(self._tx, self._dossier.id)
        return self._stored


def _is_memory(url: str) -> bool:
    return url.startswith("sqlite") and url.split("://", 1)[-1] in ("", "/", "/:memory:")
