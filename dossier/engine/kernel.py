"""The kernel: the one write path every change to a dossier goes through.

::

    move = kernel.check(tx, code, Trigger.APPROVE, actor, data)   # load → party → state → role
    after = kernel.apply(tx, move, now)                           # → assignee → data → guards
                                                                  # deadlines, event, row
    kernel.record(tx, dossier, Trigger.ATTACH, actor, data=…, now=…)  # an event, no move

:meth:`Kernel.check` loads the dossier, checks the actor is a party to it, that the trigger
is allowed in its state and to the actor's role (:mod:`dossier.policy`), that the step is not
assigned to someone else, validates the data, the ``if_version`` the caller saw and the
guards. :meth:`Kernel.apply` computes the deadlines (and who does the next step) and writes
the event, the row (conditional on the version read: a concurrent writer gets
:class:`~dossier.errors.ConcurrencyConflict`), the clock-pause ledger and the digitisation
records (``digitise``, ``return_result``: :mod:`dossier.digitisation`), then runs the
transition hooks (the payment service's: a fee paid ahead completes ``pay`` on arrival in
``awaiting_payment``). :meth:`Kernel.record` appends an event that moves no state (attach,
apology letter, timers). All of it inside the caller's transaction: the caller decides what
else commits with it (a payment row, a signed document), and an error anywhere rolls all of
it back. Every event is written by :meth:`Kernel.write_event`, which also writes one outbox
row per sink that wants the event (:mod:`dossier.engine.messages`): the transactional outbox.

The services (payments, signing) are given the kernel, never the :class:`Engine`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, TypeVar

from dossier import digitisation, policy, sla, text
from dossier.actors import Actor
from dossier.agencies import EMPTY_DIRECTORY, AgencyDirectory
from dossier.applicant_keys import NO_APPLICANT_KEYS, ApplicantKeys
from dossier.audit import NO_KEYS, AuditKeys
from dossier.calendar import WorkingCalendar
from dossier.clock import Clock, local_date, require_aware
from dossier.effects import after_event, chain_event, transition_changes
from dossier.engine import messages
from dossier.engine.procedures import ProcedureCatalog
from dossier.errors import ConcurrencyConflict, DossierNotFound, InvalidInput
from dossier.procedure.model import Procedure
from dossier.records import Deadlines, Dossier, Event
from dossier.sinks.base import Sink
from dossier.states import State, Trigger
from dossier.store import digitisation_repo as drepo
from dossier.store import outbox_repo
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Database, Tx
from dossier.trigger_data import validate_trigger_data

log = logging.getLogger("dossier")

T = TypeVar("T")
#: Runs inside the transaction after every transition; returns the dossier as it is then.
TransitionHook = Callable[[Tx, Dossier, Procedure, datetime], Dossier]


@dataclass(frozen=True, kw_only=True)
class Recording:
    """An event about to be written, as record hooks see it: ``dossier`` as it was before,
    what fires (``trigger``, by ``actor``), the state it goes to, the event's data so far
    and the deadlines the dossier will have."""

    dossier: Dossier
    trigger: Trigger
    target: State
    actor: Actor
    data: Mapping[str, Any]
    deadlines: Deadlines
    at: datetime


#: Runs inside the transaction before an event is written; what it returns is added to the
#: event's data (the forms service: the form it issued, with its SHA-256).
RecordHook = Callable[[Tx, Recording], Mapping[str, Any]]
_NO_SINKS: Mapping[str, Sink] = MappingProxyType({})


@dataclass(frozen=True, kw_only=True)
class Move:
    """A transition checked and ready to record: ``actor`` fires ``trigger`` on ``dossier``
    (as read in this transaction), which goes to ``target``."""

    dossier: Dossier
    procedure: Procedure
    trigger: Trigger
    target: State
    actor: Actor
    on_behalf_of: str | None
    data: Mapping[str, Any]


class Kernel:
    """Load → authorise → resolve → record, on one database, with one clock and calendar set."""

    def __init__(self, db: Database, *, clock: Clock,
                 calendars: Mapping[str, WorkingCalendar],
                 default_calendar: WorkingCalendar,
                 audit_keys: AuditKeys = NO_KEYS,
                 sinks: Mapping[str, Sink] = _NO_SINKS,
                 applicant_keys: ApplicantKeys = NO_APPLICANT_KEYS,
                 agencies: AgencyDirectory = EMPTY_DIRECTORY) -> None:
        self.db = db
        #: the agency directory (empty in library use without one)
        self.agencies = agencies
        #: where events go after commit, by name (the outbox rows name them)
        self.sinks: Mapping[str, Sink] = MappingProxyType(dict(sinks))
        self.clock = clock
        self.audit_keys = audit_keys
        #: index the applicant's ID number (see :mod:`dossier.applicant_keys`)
        self.applicant_keys = applicant_keys
        self.calendars = dict(calendars)
        self.default_calendar = default_calendar
        self.procedures = ProcedureCatalog()
        self._hooks: list[TransitionHook] = []
        self._record_hooks: list[RecordHook] = []

    def prepare_calendars(self) -> None:
        """Build every calendar's day tables for this year and the next, so that the first
        fire after start computes its deadlines as fast as any later one."""
        year = local_date(self.now()).year
        for calendar in {id(c): c for c in (self.default_calendar,
                                            *self.calendars.values())}.values():
            calendar.prepare(year, year + 1)

    # --- time and transactions --------------------------------------------------------------

    def now(self) -> datetime:
        return require_aware(self.clock.now(), "clock.now()")

    def calendar_for(self, agency: str) -> WorkingCalendar:
        """The working-day calendar deadlines of ``agency`` are counted on."""
        return self.calendars.get(agency, self.default_calendar)

    def transaction(self, *, write: bool = True) -> AbstractContextManager[Tx]:
        """One database transaction (see :meth:`Database.transaction`)."""
        return self.db.transaction(write=write)

    def retrying(self, work: Callable[[Tx], T]) -> T:
        """``work`` in a write transaction, run once more if a concurrent writer inserted the
        same unique row first (the second run sees that row and decides again)."""
        try:
            with self.db.transaction() as tx:
                return work(tx)
        except Exception as exc:
            if not self.db.is_integrity_error(exc):
                raise
        with self.db.transaction() as tx:
            return work(tx)

    def on_transition(self, hook: TransitionHook) -> None:
        """Run ``hook`` inside the transaction after every transition."""
        self._hooks.append(hook)

    def on_record(self, hook: RecordHook) -> None:
        """Run ``hook`` inside the transaction before every event a trigger records (not
        ``submit``); its answer joins the event's data."""
        self._record_hooks.append(hook)

    def check_agency(self, agency: str) -> None:
        """:class:`InvalidInput` when there is an agency directory and ``agency`` is not in
        it: paperwork would print a code where the agency's name belongs."""
        if len(self.agencies) and agency not in self.agencies:
            raise InvalidInput(f"agency {agency} is not in the agency directory: add it to "
                               "[[agencies]] in dossier.toml (code, name, place…) before "
                               "dossiers are submitted to it")
    # --- reads ------------------------------------------------------------------------------

    def load(self, tx: Tx, code: str) -> Dossier:
        """The dossier row; :class:`~dossier.errors.DossierNotFound` if there is none."""
        if not isinstance(code, str) or text.problem(code, text.Kind.DOSSIER_CODE):
            # (a NUL or an over-long code would be a raw driver error on PostgreSQL)
            raise DossierNotFound(f"no dossier with code {code!r}"[:200])
        dossier = repo.load_dossier(tx, code)
        if dossier is None:
            raise DossierNotFound(f"no dossier with code {code!r}")
        return dossier

    def load_for(self, tx: Tx, code: str, actor: Actor) -> Dossier:
        """The dossier, if ``actor`` is a party to it."""
        dossier = self.load(tx, code)
        policy.check_party(actor, dossier)
        return dossier

    def load_as(self, tx: Tx, code: str, actor: Actor | None) -> Dossier:
        """The dossier for a read: checked against ``actor``'s party rules when one is given
        (without one the caller is trusted server code)."""
        if actor is None:
            return self.load(tx, code)
        return self.load_for(tx, code, policy.check_actor(actor))

    def procedure_of(self, tx: Tx, dossier: Dossier) -> Procedure:
        """The procedure version the dossier keeps for life."""
        return self.procedures.get(tx, dossier.procedure_code, dossier.procedure_version)

    def authorise(self, tx: Tx, code: str, actor: Actor,
                  action: policy.Action) -> tuple[Dossier, Procedure]:
        """The dossier and its procedure, if ``actor`` may perform ``action`` on it."""
        dossier = self.load(tx, code)
        procedure = self.procedure_of(tx, dossier)
        policy.authorise(actor, dossier, action, procedure)
        return dossier, procedure

    def applicant_digest(self, applicant: Mapping[str, Any], key_id: str | None) -> str:
        """What the ``submit`` event records of the applicant: a digest, never the data.

        Keyed (HMAC) with the audit key ``key_id`` names (the current one when recording,
        the submit event's when verifying), so that an ID number cannot be guessed back from
        it by trying every number; plain SHA-256 for ``None``."""
        body = json.dumps(dict(applicant), ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode()
        secret = self.audit_keys.secret(key_id)
        if secret is None:
            return hashlib.sha256(body).hexdigest()
        return hmac.new(secret, body, hashlib.sha256).hexdigest()

    def read_blob(self, tx: Tx, dossier: Dossier, sha256: str, listed: Iterable[str],
                  what: str) -> bytes:
        """The bytes of a file the dossier lists (``listed``: its SHA-256 digests)."""
        if sha256 not in set(listed):
            raise InvalidInput(f"{dossier.code} has no {what} with SHA-256 {sha256}")
        blob = repo.get_blob(tx, sha256)
        assert blob is not None  # attachments and documents reference blobs by foreign key
        return blob

    # --- the write path ---------------------------------------------------------------------

    def check(self, tx: Tx, dossier: str | Dossier, trigger: Trigger | str, actor: Actor,
              data: Mapping[str, Any], *, if_version: int | None = None,
              on_behalf_of: str | None = None, now: datetime,
              pending: Collection[str] = ()) -> Move:
        """Everything ``fire`` checks, in its documented order: the dossier exists, the actor
        is a party, the version is the one the caller saw (a stale version is a conflict
        whatever else changed), the trigger is allowed in the state, to the role, the step is
        not assigned to someone else, the data is valid, the guards pass (except those
        ``pending``: the ones the caller is about to satisfy, e.g. the signed result not made
        yet)."""
        before = self.load(tx, dossier) if isinstance(dossier, str) else dossier
        policy.check_party(actor, before)
        if if_version is not None:  # a stale screen is told so before anything it shows
            check_version(before, if_version)
        procedure = self.procedures.get(tx, before.procedure_code, before.procedure_version)
        book = self.procedures.book(procedure)
        name = str(trigger)  # a StrEnum's value; an unknown name is refused by the rule book
        rules = book.candidates(before.state, name)
        policy.authorise_trigger(actor, before, name, book.allowed_roles(before.state, name))
        trigger = Trigger(name)
        if trigger in policy.ASSIGNED_WORK:
            policy.check_assignment(actor, before, trigger.value)
        clean = validate_trigger_data(trigger, data, procedure)
        if trigger is Trigger.RECEIVE:
            _check_arrival(before, clean, now)
        behalf = policy.on_behalf_of_for(actor, before, trigger, on_behalf_of)
        view = GuardView(tx, before, procedure, clean, now=now,
                         calendar=self.calendar_for(before.agency))
        rule = book.resolve(before.code, rules, view, pending=pending)
        return Move(dossier=before, procedure=procedure, trigger=trigger, target=rule.target,
                    actor=actor, on_behalf_of=behalf, data=clean)

    def apply(self, tx: Tx, move: Move, now: datetime) -> Dossier:
        """Record a checked transition: deadlines, event, row, clock ledger, hooks."""
        before, trigger, target = move.dossier, move.trigger, move.target
        # the special case counts only where the time limit is set: looked up only then
        case = repo.dossier_case(tx, before.id) if move.procedure.cases \
            and trigger in (Trigger.RECEIVE, Trigger.SUPPLEMENT) else None
        change = sla.on_transition(
            before.deadlines, procedure=move.procedure, channel=before.channel,
            trigger=trigger, source=before.state, target=target, data=move.data, at=now,
            calendar=self.calendars.get(before.agency, self.default_calendar), case=case)
        after = self.record(tx, before, trigger, move.actor, target=target, now=now,
                            on_behalf_of=move.on_behalf_of,
                            data={**move.data, **change.event_data}, deadlines=change.deadlines,
                            step_role=policy.step_role(move.procedure, target),
                            **transition_changes(before, trigger, target, move.data, now))
        if change.pause_end is not None:
            end = change.pause_end
            repo.close_pause(tx, before.id, end.ended_at, end.due_before, end.due_after)
        if change.pause_start is not None:
            start = change.pause_start
            repo.open_pause(tx, before.id, start.started_at, start.reason, start.legal_basis,
                            move.actor.id, move.actor.role.value)
        if trigger in (Trigger.DIGITISE, Trigger.RETURN_RESULT):
            self._record_digitisation(tx, move, after, now)
        for hook in self._hooks:
            after = hook(tx, after, move.procedure, now)
        return after

    def fire(self, tx: Tx, dossier: str | Dossier, trigger: Trigger | str, actor: Actor,
             data: Mapping[str, Any], *, now: datetime, if_version: int | None = None,
             on_behalf_of: str | None = None) -> tuple[Dossier, Dossier]:
        """:meth:`check` then :meth:`apply`; the dossier before and after."""
        move = self.check(tx, dossier, trigger, actor, data, if_version=if_version,
                          on_behalf_of=on_behalf_of, now=now)
        return move.dossier, self.apply(tx, move, now)

    def _record_digitisation(self, tx: Tx, move: Move, after: Dossier, now: datetime) -> None:
        """The digitisation records of a ``digitise`` (the components scanned here) or a
        ``return_result`` (the result), written with its event (``after.event_count``)."""
        code, by, seq = after.code, move.actor.id, after.event_count
        if move.trigger is Trigger.DIGITISE:
            records = digitisation.scanned(
                code, repo.load_attachments(tx, after.id), drepo.records_of(tx, after.id),
                move.data.get("pages", {}), by=by, at=now, seq=seq)
        else:
            records = [digitisation.result(code, srepo.documents_of(tx, after.id),
                                           move.data.get("method"), by=by, at=now, seq=seq)]
        drepo.insert(tx, after.id, records)

    def record(self, tx: Tx, before: Dossier, trigger: Trigger, actor: Actor, *,
               data: Mapping[str, Any], now: datetime, target: State | None = None,
               on_behalf_of: str | None = None, deadlines: Deadlines | None = None,
               **changes: Any) -> Dossier:
        """Append one event to the dossier's chain and write the row with it (``changes``
        and ``deadlines`` besides the head, count and version); the row is written only if
        still at ``before.version``. The actor's display name and title join the data (the
        control sheet prints who handed the dossier over); then the record hooks add theirs."""
        data = {**data, **named(actor)}
        if self._record_hooks:
            seen = Recording(dossier=before, trigger=trigger, target=target or before.state,
                             actor=actor, data=data, deadlines=deadlines or before.deadlines,
                             at=now)
            for hook in self._record_hooks:
                data = {**data, **hook(tx, seen)}
        event = chain_event(before, trigger=trigger.value, source=before.state.value,
                            target=(target or before.state).value, actor=actor.id,
                            role=actor.role.value, on_behalf_of=on_behalf_of, at=now,
                            data=data, key=self.audit_keys.current)
        if deadlines is not None:
            changes["deadlines"] = deadlines
        after = after_event(before, event, **changes)
        event_id = repo.record_change(tx, before, after, event)
        if event_id is None:
            raise ConcurrencyConflict(f"{before.code} was changed by someone else; reload it")
        self._enqueue(tx, after, event, event_id)
        return after

    def write_event(self, tx: Tx, after: Dossier, event: Event) -> None:
        """Insert ``event`` (which left the dossier as ``after``) and, in the same
        transaction, one outbox row per sink that wants its message."""
        self._enqueue(tx, after, event, repo.insert_event(tx, after.id, event))

    def _enqueue(self, tx: Tx, after: Dossier, event: Event, event_id: int) -> None:
        """The outbox rows of an event just inserted (row ``event_id``)."""
        if not self.sinks:
            return
        kind = messages.message_type(event)
        wanted = [name for name, sink in self.sinks.items() if sink.wants(kind)]
        if wanted:
            message = messages.message_for(after, event)
            outbox_repo.insert_messages(
                tx, sinks=wanted, dossier_id=after.id, seq=event.seq, event_id=event_id,
                message_id=message.id, payload=messages.payload(message), at=event.at)


def named(actor: Actor) -> dict[str, str]:
    """What an event records of who acted besides the account: name and title, if known."""
    named = {"actor_name": actor.name, "actor_title": actor.title}
    return {key: value for key, value in named.items() if value}


def check_version(dossier: Dossier, if_version: int | None) -> None:
    """:class:`ConcurrencyConflict` unless the dossier is at the version the caller saw."""
    if if_version is not None and if_version != dossier.version:
        raise ConcurrencyConflict(f"{dossier.code} is at version {dossier.version}, not "
                                  f"{if_version}: reload it and decide again")


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


class GuardView:
    """What the guards see of one dossier in one transaction (see
    :class:`dossier.guards.GuardContext`); the queries run only when a guard asks."""

    def __init__(self, tx: Tx, dossier: Dossier, procedure: Procedure,
                 data: Mapping[str, Any], *, now: datetime, calendar: WorkingCalendar) -> None:
        self._tx, self._dossier = tx, dossier
        self.procedure, self.data = procedure, data
        self.now, self._calendar = now, calendar
        self._stored: frozenset[str] | None = None

    state = property(lambda self: self._dossier.state)
    resume_state = property(lambda self: self._dossier.resume_state)
    received = property(lambda self: self._dossier.received_at is not None)
    fee_due = property(lambda self: self._dossier.fee_due)
    paid_amount = property(lambda self: self._dossier.paid_amount)

    def supplement_requests(self) -> int:
        return repo.count_events(self._tx, self._dossier.id, Trigger.REQUEST_SUPPLEMENT.value)

    def after_reception(self, working_days: int) -> datetime | None:
        received = self._dossier.received_at
        if received is None:
            return None
        return self._calendar.add(received, working_days, "working_days")

    def stored_components(self) -> frozenset[str]:
        if self._stored is None:
            self._stored = repo.stored_components(self._tx, self._dossier.id)
        return self._stored

    def signed_results(self) -> frozenset[str]:
        return frozenset(d.sha256 for d in srepo.documents_of(self._tx, self._dossier.id)
                         if d.kind == "result")

    def certified_components(self) -> frozenset[str]:
        return frozenset(d.component for d in srepo.documents_of(self._tx, self._dossier.id)
                         if d.kind == "certified_copy" and d.component)
