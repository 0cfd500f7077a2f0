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
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from dossier import store
from dossier.actors import STAFF_ROLES, Actor
from dossier.audit import GENESIS, verify_chain
from dossier.authorise import (
    check_actor,
    check_applicant,
    check_party,
    on_behalf_of_for,
    submitting_agency,
)
from dossier.clock import Clock, SystemClock, local_date, require_aware
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
from dossier.procedure.model import Procedure, ServiceLevel
from dossier.records import Attachment, Dossier, Event
from dossier.rulebook import RuleBook
from dossier.states import Role, State, Trigger
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
    """

    def __init__(self, url: str | None = None, *, clock: Clock | None = None) -> None:
        url = url or DEFAULT_URL
        self.db = Database(url, in_memory=_is_memory(url))
        try:
            store.ensure_schema(self.db)
        except BaseException:
            self.db.dispose()
            raise
        self.clock: Clock = clock or SystemClock()
        self._procedures: dict[tuple[str, str], Procedure] = {}
        self._books: dict[tuple[str, str], RuleBook] = {}
        self._cache_lock = threading.Lock()

    @classmethod
    def in_memory(cls, *, clock: Clock | None = None) -> Engine:
        """An engine on a private in-memory SQLite database (one connection, thread-safe)."""
        return cls("sqlite://", clock=clock)

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
        elif found[0] != procedure.content_hash:
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
            behalf = on_behalf_of_for(actor, before, fired, on_behalf_of)
            rule = book.resolve(code, rules, _GuardView(tx, before, procedure, clean))
            event = chain_event(before, trigger=trigger, source=before.state.value,
                                target=rule.target.value, actor=actor.id,
                                role=actor.role.value, on_behalf_of=behalf, at=now, data=clean)
            after = after_event(before, event,
                                **transition_changes(before, fired, rule.target, clean, now))
            if not repo.update_dossier(tx, before, after):
                raise ConcurrencyConflict(f"{code} was changed by someone else; reload it")
            repo.insert_event(tx, before.id, event)
        if log.isEnabledFor(logging.INFO):  # spare the enum look-ups when nobody listens
            log.info("%s %s: %s -> %s by %s (%s)", code, trigger, before.state.value,
                     after.state.value, actor.id, actor.role.value)
        return after

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
