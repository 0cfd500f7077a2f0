"""Finding work, the third part of :class:`~dossier.engine.Engine`'s public API: queries
(:meth:`~QueriesApi.find`, :meth:`~QueriesApi.count`), work queues, assignment and the public
status lookup. The rules of filters, orders and cursors are in :mod:`dossier.query`, the SQL
in :mod:`dossier.store.search`.

Reads take an optional ``actor=``: given, the party rules of writes apply (staff see their
agency's dossiers, a citizen their own); left out, the caller is trusted server code that has
checked who asks itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from dossier import policy
from dossier.actors import Actor
from dossier.calendar import describe_working_time
from dossier.engine import assignment
from dossier.engine.kernel import Kernel
from dossier.errors import DossierNotFound, InvalidInput
from dossier.policy import check_actor
from dossier.public import PublicStatus, public_status
from dossier.query import (
    Filters,
    Page,
    WorkItem,
    build_filters,
    check_limit,
    check_order,
    decode_cursor,
    encode_cursor,
    scope,
)
from dossier.records import Dossier
from dossier.states import Role, State
from dossier.store import repository as repo
from dossier.store import search

#: what ``lookup`` says for an unknown code, a wrong ID number and a dossier without one alike
NOT_FOUND = "no dossier matches this code and ID number; check both as written on the receipt"


class QueriesApi:
    """Queries, work queues, assignment and the public status lookup."""

    _kernel: Kernel

    def find(self, *, agency: str | None = None,
             state: State | str | Iterable[State | str] | None = None,
             procedure: str | None = None, channel: str | None = None,
             owner: str | None = None, assignee: str | None = None,
             portal_status: int | Iterable[int] | None = None,
             received_between: tuple[datetime, datetime] | None = None,
             due_before: datetime | None = None, overdue: bool = False,
             applicant_id: str | None = None, text: str | None = None,
             order: str = "submitted", after: str | None = None, limit: int = 50,
             actor: Actor | None = None) -> Page[Dossier]:
        """One page of the dossiers every given filter selects, in ``order``.

        Filters: ``agency``; ``state`` (one or several); ``procedure`` (its code);
        ``channel``; ``owner`` (the citizen account); ``assignee`` (the officer's id);
        ``portal_status`` (the national portal's codes, one or several);
        ``received_between=(start, end)`` (received at or after ``start``, before ``end``);
        ``due_before`` (the dossier's due date is before it); ``overdue=True`` (open, clock
        running, due date passed now); ``applicant_id`` (the applicant's ID number, looked up
        by its keyed digest: needs the applicant key, see :mod:`dossier.applicant_keys`);
        ``text`` (a part of the code, ASCII case ignored).

        ``order``: ``submitted`` (default), ``updated``, ``due`` or ``step_due``, earliest
        first; ``limit`` 1–500; ``after`` the ``next`` of the page before (see
        :mod:`dossier.query` for what a cursor guarantees). With ``actor``, only what they
        may see: staff their agency's dossiers, a citizen their own
        (:class:`~dossier.errors.PermissionDenied` if the filters ask for others').
        """
        filters = self._filters(
            actor, applicant_id, agency=agency, state=state, procedure=procedure,
            channel=channel, owner=owner, assignee=assignee, portal_status=portal_status,
            received_between=received_between, due_before=due_before, overdue=overdue,
            text_in_code=text)
        order = check_order(order)
        limit = check_limit(limit)
        with self._kernel.transaction(write=False) as tx:
            query = search.find_query(tx, filters, order, postgres=not self._kernel.db.is_sqlite)
            fingerprint = filters.fingerprint(order)
            position = None if after is None else decode_cursor(after, fingerprint,
                                                                query.keyed)
            found, last = search.page(tx, query, position, limit)
        return Page(items=tuple(d for d, _ in found),
                    next=None if last is None else encode_cursor(fingerprint, last))

    def count(self, *, agency: str | None = None,
              state: State | str | Iterable[State | str] | None = None,
              procedure: str | None = None, channel: str | None = None,
              owner: str | None = None, assignee: str | None = None,
              portal_status: int | Iterable[int] | None = None,
              received_between: tuple[datetime, datetime] | None = None,
              due_before: datetime | None = None, overdue: bool = False,
              applicant_id: str | None = None, text: str | None = None,
              actor: Actor | None = None) -> int:
        """How many dossiers :meth:`find` with the same filters would page through."""
        filters = self._filters(
            actor, applicant_id, agency=agency, state=state, procedure=procedure,
            channel=channel, owner=owner, assignee=assignee, portal_status=portal_status,
            received_between=received_between, due_before=due_before, overdue=overdue,
            text_in_code=text)
        with self._kernel.transaction(write=False) as tx:
            query = search.find_query(tx, filters, "submitted",
                                      postgres=not self._kernel.db.is_sqlite)
            return search.count(tx, query)

    def queue(self, actor: Actor, *, limit: int = 50,
              after: str | None = None) -> Page[WorkItem]:
        """``actor``'s work queue: the open dossiers of their agency whose current step their
        role does — those assigned to them first, then unassigned ones (assigned to someone
        else: not here), each group by step due date, most urgent first; dossiers whose step
        has no due date yet (not received) after the dated ones, oldest first.

        A citizen's queue is their own open dossiers, those waiting for their supplement
        first. Each :class:`~dossier.query.WorkItem` has the working time left until the
        step is due. ``limit`` and ``after`` as in :meth:`find`.
        """
        check_actor(actor)
        limit = check_limit(limit)
        if actor.role is Role.CITIZEN:
            query = search.citizen_queue(actor.id)
        elif actor.role is Role.SYSTEM or actor.agency is None:
            raise InvalidInput("a work queue is a person's: the system's work is the sweep")
        else:
            query = search.staff_queue(actor.agency, actor.role.value, actor.id)
        fingerprint = Filters().fingerprint(f"queue:{actor.role.value}:{actor.agency}:{actor.id}")
        position = None if after is None else decode_cursor(after, fingerprint, query.keyed)
        now = self._kernel.now()
        with self._kernel.transaction(write=False) as tx:
            found, last = search.page(tx, query, position, limit)
        return Page(items=tuple(self._work_item(d, group < 2, now) for d, group in found),
                    next=None if last is None else encode_cursor(fingerprint, last))

    def assign(self, code: str, assignee: Actor | None, *, actor: Actor,
               if_version: int | None = None) -> Dossier:
        """Assign the dossier's current step to ``assignee`` (phân công; None: to nobody).

        A clerk or leader of the dossier's agency assigns, to an officer of that agency with
        the role the procedure gives the step. It is recorded as an ``assign`` event and
        shown as :attr:`Dossier.assignee`, on the control sheet and to :meth:`find`
        (``assignee=``). While assigned, only the assignee or a leader does the step's work
        (its trigger, a supplement request or refusal at it, the fee, the signature, the
        certified copies): anyone else gets :class:`~dossier.errors.PermissionDenied` naming
        the assignee. Reassigning is another event; the assignment ends when the dossier
        leaves the step (a new step is a new assignment).
        """
        check_actor(actor)
        return assignment.assign(self._kernel, code, assignee, actor, if_version)

    def lookup(self, code: str, *, id_number: str) -> PublicStatus:
        """The public status of dossier ``code`` (tra cứu hồ sơ), for whoever gives the
        applicant's ID number: see :class:`~dossier.public.PublicStatus` for what it shows.

        An unknown code, a wrong ID number and a dossier submitted without one raise the same
        :class:`~dossier.errors.DossierNotFound` with the same message, so the page tells
        nothing about which codes exist. The number is compared by its keyed digest (in
        constant time), so it needs the applicant key (:class:`InvalidInput` without one).
        A page calling this must still throttle tries per client and per code: an ID number
        is guessable once its province and birth year are known.
        """
        keys = self._kernel.applicant_keys
        if not keys:
            raise InvalidInput("lookup needs the applicant key (Engine(applicant_key=…) or "
                               "$DOSSIER_APPLICANT_KEY): ID numbers are compared by it")
        policy.check_id_number("id_number", id_number)
        with self._kernel.transaction(write=False) as tx:
            found = search.with_digest(tx, code)
            dossier, stored = found if found is not None else (None, None)
            if not keys.matches(id_number, stored) or dossier is None:
                raise DossierNotFound(NOT_FOUND)
            name = self._kernel.procedure_of(tx, dossier).name
            events = repo.load_events(tx, dossier.id)
        return public_status(dossier, name, events)

    # --- helpers ----------------------------------------------------------------------------

    def _filters(self, actor: Actor | None, applicant_id: str | None,
                 **criteria: Any) -> Filters:
        digests: tuple[str, ...] = ()
        if applicant_id is not None:
            keys = self._kernel.applicant_keys
            if not keys:
                raise InvalidInput("applicant_id= needs the applicant key (Engine("
                                   "applicant_key=…) or $DOSSIER_APPLICANT_KEY): ID numbers "
                                   "are indexed only by their keyed digest")
            digests = keys.digests(policy.check_id_number("applicant_id", applicant_id))
        filters = build_filters(now=self._kernel.now(), applicant_digests=digests, **criteria)
        return scope(filters, actor)

    def _work_item(self, dossier: Dossier, assigned: bool, now: datetime) -> WorkItem:
        due = dossier.step_due_at
        if due is None:
            return WorkItem(dossier=dossier, assigned=assigned, remaining=None,
                            remaining_text=None)
        calendar = self._kernel.calendar_for(dossier.agency)
        left = calendar.working_time_between(now, due)
        return WorkItem(dossier=dossier, assigned=assigned, remaining=left,
                        remaining_text=describe_working_time(left,
                                                             calendar.working_day_length))
