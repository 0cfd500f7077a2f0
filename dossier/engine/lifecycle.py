"""The lifecycle commands on the kernel: submit, fire, attach and the apology letter.

Each is one transaction; each validates its input before it opens it, and raises (writing
nothing) when a check fails. Logs name dossiers by code and people by account id only.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from dossier import digitisation, policy, sla, states, text
from dossier.actors import Actor
from dossier.audit import GENESIS
from dossier.calendar import WorkingCalendar
from dossier.clock import LOCAL_TZ, local_date
from dossier.effects import after_event, chain_event
from dossier.engine.kernel import Kernel, check_version, named
from dossier.errors import InvalidInput, TransitionNotAllowed
from dossier.fees import FeeBasis, compute_fee
from dossier.policy import Action
from dossier.procedure.model import ComponentForm, Procedure, ServiceLevel
from dossier.records import Attachment, Deadlines, DocumentRecord, Dossier, ReuseKind, ReuseSource
from dossier.states import Role, State, Trigger
from dossier.store import digitisation_repo as drepo
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Tx
from dossier.text import Kind
from dossier.trigger_data import validate_trigger_data

log = logging.getLogger("dossier")

CHANNELS = states.CHANNELS
MAX_ATTACHMENT = 50 * 1024 * 1024
#: A fee due no dossier reaches (a trillion VND), far inside BIGINT (9.2 × 10**18).
MAX_FEE_DUE = 10**12


#: Media types whose content starts with a signature we can check: a file declared (or, by its
#: extension, guessed) as one of these must start with it, so that a renamed executable is not
#: kept as a "PDF" that the officer then opens.
MAGIC: Mapping[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}


def check_filename(filename: object) -> str:
    """A file name kept as given (in NFC) only when it is safe to show and to save under.

    Refused: path separators of either kind and ``..`` (it must not name a place to write),
    control characters (CR/LF split log lines and headers) and bidirectional overrides and
    isolates (``invoice\u202egpj.exe`` shows as ``invoiceexe.jpg``).
    """
    name = text.clean("filename", filename, Kind.FILENAME, strip=False)
    if name != name.strip():
        raise InvalidInput("filename must not begin or end with whitespace")
    if "/" in name or "\\" in name or ".." in name:
        raise InvalidInput("filename must be a plain file name: no '/', '\\' or '..'")
    return name


def check_media_type(declared: object, filename: str, content: bytes) -> str:
    """The media type to store: ``declared`` (or guessed from the extension), checked against
    the content's magic bytes for the types in :data:`MAGIC`."""
    if declared is None:
        kind = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    else:
        kind = text.clean("media_type", declared, Kind.MEDIA_TYPE).lower()
        main, slash, sub = kind.partition("/")
        if not slash or not main or not sub or any(ch.isspace() for ch in kind):
            raise InvalidInput("media_type must look like 'type/subtype' (e.g. "
                               "'application/pdf')")
    signatures = MAGIC.get(kind)
    if signatures is not None and not content.startswith(signatures):
        how = "declared" if declared is not None else "named by its extension"
        raise InvalidInput(f"the file is {how} as {kind} but its content is not")
    return kind


def submit(kernel: Kernel, procedure_code: str, *, applicant: Mapping[str, Any], channel: str,
           actor: Actor, agency: str | None,
           fee_basis: Mapping[str, Any] | FeeBasis | None, case: str | None = None) -> Dossier:
    """Create a dossier in ``awaiting_reception`` with its ``submit`` event (which records
    the special ``case`` declared, if any)."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}; got {channel!r}")
    # looked up, not stored, but a NUL in a query parameter is a raw driver error
    procedure_code = text.clean("procedure_code", procedure_code, Kind.PROCEDURE_CODE)
    clean_applicant = policy.check_applicant(applicant)
    basis = FeeBasis.parse(fee_basis)
    agency = policy.submitting_agency(actor, channel, agency)
    kernel.check_agency(agency)
    if case is not None:
        case = text.clean("case", case, Kind.COMPONENT)
    now = kernel.now()
    with kernel.transaction() as tx:
        procedure = kernel.procedures.in_force(tx, procedure_code, local_date(now))
        if channel == "online" and procedure.service_level is ServiceLevel.OFFLINE:
            raise InvalidInput(f"procedure {procedure.code} is not offered online")
        if case is not None and procedure.special_case(case) is None:
            known = ", ".join(c.id for c in procedure.cases) or "none"
            raise InvalidInput(f"procedure {procedure.code} v{procedure.version} has no case "
                               f"{case!r} (its cases: {known})")
        fee_due = compute_fee(procedure.fee, basis)
        if fee_due > MAX_FEE_DUE:  # pages × copies × price can outgrow BIGINT
            raise InvalidInput(f"the fee for this fee_basis ({fee_due} VND) is beyond "
                               f"{MAX_FEE_DUE:,} VND; check pages and copies")
        day = local_date(now).strftime("%y%m%d")
        key = kernel.audit_keys.current
        number = repo.next_counter(tx, "dossier", f"{agency}:{day}")
        draft = Dossier(
            id=0, code=f"{agency}-{day}-{number:04d}", procedure_code=procedure.code,
            procedure_version=procedure.version, agency=agency, channel=channel,
            state=State.AWAITING_RECEPTION, resume_state=None,
            owner=actor.id if actor.role is Role.CITIZEN else None,
            applicant=clean_applicant, fee_due=fee_due,
            paid_amount=0, version=0, event_count=0, head_hash=GENESIS, submitted_at=now,
            received_at=None, updated_at=now, closed_at=None,
            step_role=policy.step_role(procedure, State.AWAITING_RECEPTION))
        # the first event has no row to update yet: the row is inserted with it
        event = chain_event(
            draft, trigger=Trigger.SUBMIT.value, source=None,
            target=State.AWAITING_RECEPTION.value, actor=actor.id, role=actor.role.value,
            on_behalf_of=None, at=now,
            data={"procedure": procedure.code, "version": procedure.version,
                  "channel": channel, "fee_due": draft.fee_due, **named(actor),
                  "applicant_digest": kernel.applicant_digest(
                      clean_applicant, key.id if key is not None else None),
                  # keyed as the applicant's: it says where they lived, so no sink gets it
                  **({"applicant_case": case} if case is not None else {})},
            key=key)
        dossier = after_event(draft, event)
        id_number = clean_applicant.get("id_number")
        indexed = kernel.applicant_keys.digest(id_number) if id_number else None
        dossier = replace(dossier, id=repo.insert_dossier(tx, dossier, basis.as_dict(),
                                                          applicant_key_digest=indexed,
                                                          case=case))
        kernel.write_event(tx, dossier, event)
    log.info("%s submitted (%s %s, %s) by %s", dossier.code, procedure.code,
             procedure.version, channel, actor.id)
    return dossier


def fire(kernel: Kernel, code: str, trigger: str, *, actor: Actor,
         on_behalf_of: str | None, if_version: int | None, data: Mapping[str, Any]) -> Dossier:
    """One trigger through the kernel, in its own transaction."""
    now = kernel.now()
    with kernel.transaction() as tx:
        before, after = kernel.fire(tx, code, trigger, actor, data, now=now,
                                    if_version=if_version, on_behalf_of=on_behalf_of)
    if log.isEnabledFor(logging.INFO):  # spare the enum look-ups when nobody listens
        log.info("%s %s: %s -> %s by %s (%s)", code, trigger, before.state.value,
                 after.state.value, actor.id, actor.role.value)
    return after


def attach(kernel: Kernel, code: str, component: str, data: bytes, filename: str, *,
           actor: Actor, media_type: str | None,
           reused_from: ReuseSource | Mapping[str, Any] | None = None) -> Attachment:
    """Store a component file (content-addressed) with its ``attach`` event; a reused one
    (``reused_from``) also with its digitisation record, once its bytes are checked."""
    if not isinstance(data, bytes | bytearray) or not data:
        raise InvalidInput("attach() needs the file content as non-empty bytes")
    if len(data) > MAX_ATTACHMENT:
        raise InvalidInput(f"file is larger than {MAX_ATTACHMENT // 2**20} MiB")
    code = text.clean("code", code, Kind.DOSSIER_CODE)
    filename = check_filename(filename)
    component = text.clean("component", component, Kind.COMPONENT)
    content = bytes(data)
    digest = hashlib.sha256(content).hexdigest()
    kind = check_media_type(media_type, filename, content)
    source = None if reused_from is None else digitisation.parse_reuse(reused_from)
    now = kernel.now()
    with kernel.transaction() as tx:
        before, procedure = kernel.authorise(tx, code, actor, Action.ATTACH)
        if before.is_final:
            raise TransitionNotAllowed(f"{code} is {before.state.value}; it takes no files")
        spec = procedure.component(component)
        if spec is None:
            known = ", ".join(c.id for c in procedure.components) or "none"
            raise InvalidInput(f"{code}: procedure {procedure.code} has no component "
                               f"{component!r} (its components: {known})")
        if spec.form is ComponentForm.SHOWN:
            raise InvalidInput(f"{code}: {component!r} is only shown at the counter (xuất "
                               "trình) and checked there; it is not attached or kept")
        attachment = Attachment(component=component, filename=filename, sha256=digest,
                                size=len(content), media_type=kind, attached_by=actor.id,
                                attached_at=now)
        event_data: dict[str, Any] = {"component": component, "filename": filename,
                                      "sha256": digest, "size": len(content)}
        if source is not None:
            digitisation.check_reuse(code, source, digest, _earlier_documents(tx, source))
            event_data["reused_from"] = {"kind": source.kind.value,
                                         "reference": source.reference}
        after = kernel.record(tx, before, Trigger.ATTACH, actor, now=now, data=event_data)
        repo.put_blob(tx, digest, content)
        repo.insert_attachment(tx, before.id, attachment)
        if source is not None:
            drepo.insert(tx, before.id, [digitisation.reused(
                code, component, source, by=actor.id, at=now, seq=after.event_count)])
    log.info("%s attach %s (%d bytes) by %s", code, component, len(content), actor.id)
    return attachment


def _earlier_documents(tx: Tx, source: ReuseSource) -> list[DocumentRecord] | None:
    """The documents of the earlier dossier a reused result comes from (None: not here)."""
    if source.kind is not ReuseKind.DOSSIER:
        return []
    earlier = repo.load_dossier(tx, source.reference)
    return None if earlier is None else srepo.documents_of(tx, earlier.id)


def extend(kernel: Kernel, code: str, actor: Actor, data: Mapping[str, Any],
           if_version: int | None, on_behalf_of: str | None = None) -> Dossier:
    """The apology letter (văn bản xin lỗi và hẹn lại): a new, later appointment, once."""
    now = kernel.now()
    with kernel.transaction() as tx:
        before = kernel.load_for(tx, code, actor)
        check_version(before, if_version)
        d = before.deadlines
        if before.is_final or d.appointment_at is None:
            raise TransitionNotAllowed(f"{code}: only an open dossier whose clock has "
                                       "started can get a new appointment")
        if d.extended:
            raise TransitionNotAllowed(f"{code} already had its appointment moved once; "
                                       "an apology letter is issued at most once")
        procedure = kernel.procedure_of(tx, before)
        policy.authorise(actor, before, Action.EXTEND, procedure)
        if on_behalf_of is not None:
            raise InvalidInput("an apology letter is issued by staff in their own name")
        clean = validate_trigger_data(Trigger.EXTEND, data, procedure)
        calendar = kernel.calendar_for(before.agency)
        _check_apology_in_time(code, d, procedure, calendar, now)
        new_appointment = datetime.fromisoformat(clean["appointment_at"])
        if new_appointment <= max(d.appointment_at, now):
            raise InvalidInput(f"{code}: the new appointment must be later than the current "
                               f"one ({d.appointment_at.isoformat()}) and than now")
        deadlines = sla.extend(d, procedure=procedure, new_appointment=new_appointment,
                               calendar=calendar, at=now)
        after = kernel.record(
            tx, before, Trigger.EXTEND, actor, now=now,
            data={**clean, "previous_appointment_at":
                  d.appointment_at.astimezone(LOCAL_TZ).isoformat()},
            deadlines=replace(deadlines, next_timer_at=sla.next_timer(before.state, deadlines)))
    log.info("%s extend: new appointment %s by %s", code, clean["appointment_at"], actor.id)
    return after


def _check_apology_in_time(code: str, d: Deadlines, procedure: Procedure,
                           calendar: WorkingCalendar, now: datetime) -> None:
    """The apology letter comes before the due date, and at least the procedure's
    ``apology_before`` before it (an agency setting; none: any time before)."""
    due = d.due_at
    if due is None:
        return
    lead = procedure.apology_before
    latest = due if lead is None else calendar.subtract(due, lead.amount, lead.unit)
    in_time = now < due if lead is None else now <= latest
    if not in_time:
        when = latest.astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
        unit = lead.unit.value.replace("_", " ").removesuffix("s") if lead else ""
        ahead = "" if lead is None else \
            f" ({lead.amount} {unit}{'' if lead.amount == 1 else 's'} before the due date)"
        raise TransitionNotAllowed(
            f"{code}: an apology letter must be issued before the due date; the last moment "
            f"was {when}{ahead}. The dossier is now late: return it as soon as it is done")
