"""The forms service: numbers the one-stop-shop forms in the transaction of the event that
calls for them and issues them right after it; renders the control sheet on demand; exports
the tracking book.

At ``receive``, ``request_supplement``, ``refuse``, ``extend`` and ``stop`` the kernel's record
hook (:meth:`Kernel.on_record`) picks the form of the circular in force that day
(:mod:`dossier.documents.circulars`), takes the next number of the agency's series for that
form and year (an atomic counter, so two clerks never share a number) and writes
``{"form": {kind, circular, number}}`` into the event. The event then fixes everything the
form prints (number, date, people, reason, deadlines), so the document is a function of it.

The PDF is made after the commit, as receipts are: :meth:`FormsService.issue` renders it,
signs it with the agency's seal when it has one that signs here and at once (a local key;
otherwise it is kept unsigned), and stores it as a document of the dossier (kind
``form-0N``, its number and circular, its SHA-256) in a short transaction of its own.
``Engine.fire`` and ``Engine.extend`` issue the forms of the dossier they moved before they
return (unless ``FormSettings.at_fire`` is false); the worker's ``forms`` job issues the
rest (timers, services) from where it last stopped, reading the event feed. Why not inside
the event's transaction: rendering costs about 130 ms and sealing about 300 ms more
(``bench/forms.py``), against about 0.3 ms for the transition itself; held in the write
transaction, that would cap a SQLite database near ten receptions a second and hold
PostgreSQL row locks as long. A seal that fails leaves the form unsigned (logged): a lapsed
certificate must not stop the counter.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any, Literal

from dossier.actors import Actor
from dossier.clock import LOCAL_TZ, local_date
from dossier.documents.base import FormRenderer, FormSheet, Sealer
from dossier.documents.circulars import (
    FORMS,
    ISSUED_AT,
    Circular,
    FormSpec,
    Use,
    circular_for,
    form_for,
    spec_of,
    symbol_problem,
)
from dossier.documents.wording import short_date
from dossier.engine.kernel import Kernel, Recording
from dossier.errors import DossierError, InvalidInput, SigningError
from dossier.forms import sheets
from dossier.policy import check_party
from dossier.procedure.model import Procedure
from dossier.records import Deadlines, DocumentRecord, Dossier, Event
from dossier.states import Trigger
from dossier.store import feed_repo
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.forms")
#: Where the worker's scan of the event feed stopped (two counters: txid, id).
_CURSOR = "forms-feed"

#: The renderer used when the engine is given none (loaded on first use: Jinja2, fpdf2).
OFFICIAL_FORMS = "dossier.documents.official:OfficialForms"
PDF = "application/pdf"
#: How long one run of the worker's forms job goes on reading the feed, in seconds.
RUN_SECONDS = 10.0
#: At most this many dossiers in one tracking-book export.
BOOK_LIMIT = 20_000
BOOK_COLUMNS = ("TT", "Mã hồ sơ", "Tên thủ tục hành chính", "Số lượng hồ sơ (bộ)",
                "Tên cá nhân, tổ chức", "Địa chỉ, số điện thoại", "Cơ quan chủ trì giải quyết",
                "Nhận hồ sơ", "Hẹn trả kết quả", "Trả kết quả", "Ghi chú")


@dataclass(frozen=True, kw_only=True)
class FormSettings:
    """How an agency numbers its forms: ``symbols`` maps a form's use (``"reception"``,
    ``"supplement"``, ``"refusal"``, ``"apology"``, ``"stop"``) to the symbol after its number
    (``05/GTN``). The circulars fix none: these are settings, defaults in
    :data:`dossier.forms.sheets.SYMBOLS`."""

    symbols: Mapping[str, str] = field(default_factory=dict)
    #: True: ``Engine.fire`` makes the forms of the event it committed before it returns (a
    #: counter prints form 01 at once; the request waits for the PDF). False: the request
    #: returns after the commit and the worker's ``forms`` job makes them (API processes that
    #: should not render; the number is taken in the transaction either way).
    at_fire: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.at_fire, bool):
            raise InvalidInput("at_fire must be true or false")
        for use, symbol in self.symbols.items():
            problem = symbol_problem(use, symbol)
            if problem is not None:
                raise InvalidInput(f"form symbols: {problem}")

    def symbol(self, use: Use) -> str:
        return self.symbols.get(use.value, sheets.SYMBOLS.get(use, ""))


class FormsService:
    """Issues, re-renders and lists the forms of one engine's dossiers."""

    def __init__(self, kernel: Kernel, *, renderer: FormRenderer | None = None,
                 seal: Sealer | None = None, settings: FormSettings | None = None) -> None:
        if renderer is not None and not isinstance(renderer, FormRenderer):
            raise InvalidInput("forms must implement dossier.documents.base.FormRenderer")
        self.kernel = kernel
        self.settings = settings or FormSettings()
        self._renderer = renderer
        self._seal = seal
        kernel.on_record(self._issue)

    @property
    def renderer(self) -> FormRenderer:
        if self._renderer is None:
            from dossier.plugins import load_object

            self._renderer = load_object(OFFICIAL_FORMS)()
        return self._renderer

    # --- issued by the kernel -------------------------------------------------------------

    def _issue(self, tx: Tx, rec: Recording) -> Mapping[str, Any]:
        use = ISSUED_AT.get(rec.trigger)
        spec = form_for(use, local_date(rec.at)) if use is not None else None
        if spec is None:  # no form for this trigger (or none in that circular)
            return {}
        year = local_date(rec.at).year
        number = repo.next_counter(
            tx, "form", f"{rec.dossier.agency}:{spec.circular.folder}:{spec.kind}:{year}")
        return {"form": {"kind": spec.kind, "circular": spec.circular.value,
                         "number": number}}

    # --- made after the commit ------------------------------------------------------------

    def issue(self, code: str | None = None, *, limit: int = 500,
              budget: float = RUN_SECONDS) -> int:
        """Make and store the forms events numbered and no document holds yet: those of
        dossier ``code``, or (``None``) those of every dossier from where the last run
        stopped, reading the feed ``limit`` events at a time until it is caught up (a busy
        province writes far more events between two runs than one page) or ``budget``
        seconds have passed (so that a worker asked to stop is not held by a backlog; the
        next run goes on from there). Returns how many were stored. A form that cannot be
        made is logged and tried again next time (the scan does not pass it)."""
        if code is not None:
            with self.kernel.transaction(write=False) as tx:
                dossier = self.kernel.load(tx, code)
                waiting = [e for e in repo.load_events(tx, dossier.id) if "form" in e.data]
            return sum(self._store(code, event) for event in waiting)
        stored, began = 0, perf_counter()
        while True:
            made, caught_up = self._issue_page(limit)
            stored += made
            if caught_up or perf_counter() - began > budget:
                return stored

    def _issue_page(self, limit: int) -> tuple[int, bool]:
        """One page of the feed: (forms stored, whether the scan stopped: the end of the
        feed or a form that could not be made)."""
        postgres = not self.kernel.db.is_sqlite
        with self.kernel.transaction(write=False) as tx:
            txid = repo.read_counter(tx, _CURSOR, "txid")
            event_id = repo.read_counter(tx, _CURSOR, "id")
            rows = feed_repo.events_after(tx, postgres=postgres, txid=txid,
                                          event_id=event_id, limit=limit)
        stored, reached, failed = 0, (txid, event_id), False
        for event, at_txid, at_id in rows:
            if "form" in event.data:
                try:
                    stored += self._store(event.code, event)
                except DossierError as exc:
                    log.warning("%s: form %s not issued yet: %s", event.code,
                                event.data["form"].get("kind"), type(exc).__name__)
                    failed = True
                    break
            reached = (at_txid, at_id)
        if reached != (txid, event_id):
            with self.kernel.transaction() as tx:
                repo.set_counter(tx, _CURSOR, "txid", reached[0])
                repo.set_counter(tx, _CURSOR, "id", reached[1])
        return stored, failed or len(rows) < limit

    def _store(self, code: str, event: Event) -> int:
        """The form ``event`` numbered, made and stored unless it is already; 1 if stored."""
        form = event.data["form"]
        with self.kernel.transaction(write=False) as tx:
            dossier = self.kernel.load(tx, code)
            if _stored(tx, dossier, form):
                return 0
            sheet = self._again(tx, dossier, event)
        pdf, signer = self._sealed(self.renderer.pdf(sheet), sheet, dossier.agency)
        digest = hashlib.sha256(pdf).hexdigest()
        year = local_date(event.at).year
        with self.kernel.transaction() as tx:
            repo.lock_dossier(tx, dossier.id, postgres=not self.kernel.db.is_sqlite)
            if _stored(tx, dossier, form):  # another worker got there first
                return 0
            repo.put_blob(tx, digest, pdf)
            srepo.insert_document(tx, dossier.id, DocumentRecord(
                dossier_code=code, kind=sheet.kind,
                filename=f"{sheet.kind}-so-{sheet.number:02d}-{year}.pdf", sha256=digest,
                size=len(pdf), media_type=PDF, signed_by=event.actor, provider=signer,
                created_at=self.kernel.now(), number=sheet.number, book=sheet.circular))
        log.info("%s: %s %s issued%s", code, sheet.kind, sheet.reference,
                 f", sealed with {signer}" if signer else ", unsigned")
        return 1

    def _sheet(self, tx: Tx, spec: FormSpec, dossier: Dossier, data: Mapping[str, Any],
               deadlines: Deadlines, at: datetime, number: int, name: str | None,
               title: str | None, role: str) -> FormSheet:
        procedure = self.kernel.procedure_of(tx, dossier)
        return sheets.issued(spec, dossier=dossier, procedure=procedure,
                             head=sheets.letterhead(self.kernel.agencies, dossier.agency),
                             data=data, deadlines=deadlines, at=at, number=number,
                             symbol=self.settings.symbol(spec.use), name=name, title=title,
                             role=role)

    def _sealed(self, pdf: bytes, sheet: FormSheet, agency: str) -> tuple[bytes, str]:
        if self._seal is None:
            return pdf, ""
        try:
            sealed = self._seal(pdf, agency=agency, dossier_code=sheet.dossier_code,
                                reason=f"{sheet.title} số {sheet.reference}",
                                field_name=f"BieuMau{sheet.kind[-2:]}So{sheet.number}",
                                signed_at=self.kernel.now())
        except SigningError as exc:
            log.warning("%s: %s %s kept unsigned: %s", sheet.dossier_code, sheet.kind,
                        sheet.reference, type(exc).__name__)
            return pdf, ""
        return (sealed.pdf, sealed.signer) if sealed is not None else (pdf, "")

    # --- on demand ------------------------------------------------------------------------

    def render(self, code: str, kind: str, *, fmt: Literal["pdf", "html"] = "pdf",
               actor: Actor | None = None) -> bytes:
        """The form ``kind`` of dossier ``code``: an issued form rendered again as issued
        (unsigned), or the control sheet of the circular in force now."""
        if fmt not in ("pdf", "html"):
            raise InvalidInput("format must be 'pdf' or 'html'")
        now = self.kernel.now()
        with self.kernel.transaction(write=False) as tx:
            dossier = self.kernel.load(tx, code)
            if actor is not None:
                check_party(actor, dossier)
            procedure = self.kernel.procedure_of(tx, dossier)
            events = repo.load_events(tx, dossier.id)
            issuer = _issuing_event(events, kind)
            if issuer is not None:
                sheet = self._again(tx, dossier, issuer)
            else:
                sheet = self._control(dossier, procedure, events, kind, now)
        if fmt == "html":
            return self.renderer.html(sheet).encode("utf-8")
        return self.renderer.pdf(sheet)

    def _again(self, tx: Tx, dossier: Dossier, event: Event) -> FormSheet:
        form = event.data["form"]
        spec = spec_of(form["kind"], Circular(form["circular"]))
        started = event.data.get("arrived_at") or event.at
        deadlines = Deadlines(
            clock_started_at=datetime.fromisoformat(started) if isinstance(started, str)
            else started, due_at=_instant(event.data.get("due_at")),
            appointment_at=_instant(event.data.get("due_at")),
            supplement_due_at=_instant(event.data.get("supplement_due_at")))
        return self._sheet(tx, spec, dossier, event.data, deadlines, event.at,
                           int(form["number"]), event.data.get("actor_name"),
                           event.data.get("actor_title"), event.role)

    def _control(self, dossier: Dossier, procedure: Procedure, events: list[Event], kind: str,
                 now: datetime) -> FormSheet:
        circular = circular_for(local_date(now))
        spec = spec_of(kind, circular)
        if spec.use is not Use.CONTROL_SHEET:
            control = FORMS[circular][Use.CONTROL_SHEET].kind
            raise InvalidInput(
                f"{dossier.code} has no {kind} ({spec.title}) to render: forms made on demand "
                f"are the control sheet ({control} under Thông tư {circular.value}); the "
                "tracking book is engine.tracking_book(); issued forms are listed by "
                "engine.documents()")
        reception = next((e for e in events if "form" in e.data
                          and e.trigger == Trigger.RECEIVE.value), None)
        ref = ""
        if reception is not None:
            number = int(reception.data["form"]["number"])
            ref = f"{number:02d}/{self.settings.symbol(Use.RECEPTION)}"
        return sheets.control_sheet(
            spec, dossier=dossier, procedure=procedure,
            head=sheets.letterhead(self.kernel.agencies, dossier.agency), events=events,
            at=now, reception_ref=ref)

    # --- the tracking book ----------------------------------------------------------------

    def tracking_book(self, agency: str, start: date, end: date, *,
                      fmt: Literal["pdf", "csv"] = "pdf") -> bytes:
        """Sổ theo dõi hồ sơ of ``agency``: the dossiers it received from ``start`` to
        ``end`` (Vietnam dates, both included), as a PDF (the form of the circular in force
        today) or as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
        if fmt not in ("pdf", "csv"):
            raise InvalidInput("format must be 'pdf' or 'csv'")
        if not isinstance(start, date) or not isinstance(end, date) or end < start:
            raise InvalidInput("give the period as two dates, start <= end")
        if not isinstance(agency, str):
            raise InvalidInput("agency must be an agency code")
        self.kernel.check_agency(agency)
        now = self.kernel.now()
        begin = datetime.combine(start, time(), LOCAL_TZ)
        stop = datetime.combine(end + timedelta(days=1), time(), LOCAL_TZ)
        head = sheets.letterhead(self.kernel.agencies, agency)
        with self.kernel.transaction(write=False) as tx:
            found = repo.received_between(tx, agency, begin, stop, BOOK_LIMIT + 1)
            if len(found) > BOOK_LIMIT:
                raise InvalidInput(f"more than {BOOK_LIMIT} dossiers in that period: export "
                                   "it in shorter periods")
            rows = [sheets.book_row(d, self.kernel.procedure_of(tx, d), head.name)
                    for d in found]
        if fmt == "csv":
            return _csv(rows)
        spec = FORMS[circular_for(local_date(now))][Use.TRACKING_BOOK]
        sheet = sheets.tracking_book(spec, head=head, rows=rows, start=short_date(begin),
                                     end=short_date(stop - timedelta(seconds=1)), at=now)
        return self.renderer.pdf(sheet)


def _stored(tx: Tx, dossier: Dossier, form: Mapping[str, Any]) -> bool:
    return any(d.kind == form["kind"] and d.number == form["number"]
               and d.book == form["circular"] for d in srepo.documents_of(tx, dossier.id))


def _issuing_event(events: list[Event], kind: str) -> Event | None:
    """The latest event that issued a form of ``kind``."""
    for event in reversed(events):
        form = event.data.get("form")
        if isinstance(form, Mapping) and form.get("kind") == kind:
            return event
    return None


def _instant(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(BOOK_COLUMNS)
    for i, r in enumerate(rows, start=1):
        writer.writerow([i, r["code"], r["procedure"], 1, r["applicant"], r["contact"],
                         r["agency"], r["received"], r["due"], r["returned"], r["note"]])
    return out.getvalue().encode("utf-8-sig")
