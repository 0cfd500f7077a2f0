"""Registered procedure versions and their rule books, cached per engine."""

from __future__ import annotations

import threading
from datetime import date, datetime

from dossier.errors import ProcedureConflict, ProcedureNotFound
from dossier.procedure.model import Procedure
from dossier.rulebook import RuleBook
from dossier.store import repository as repo
from dossier.store.database import Tx


class ProcedureCatalog:
    """Procedure versions stored in the database, parsed once and kept with their rule books.

    A stored version never changes (registering other content under the same version is a
    :class:`~dossier.errors.ProcedureConflict`), so the caches need no invalidation.
    """

    def __init__(self) -> None:
        self._procedures: dict[tuple[str, str], Procedure] = {}
        self._books: dict[tuple[str, str], RuleBook] = {}
        self._lock = threading.Lock()

    def store(self, tx: Tx, procedure: Procedure, now: datetime) -> None:
        """Insert ``procedure`` unless the same content is stored already."""
        found = repo.find_procedure(tx, procedure.code, procedure.version)
        if found is None:
            repo.insert_procedure(
                tx, procedure.code, procedure.version, procedure.effective_from,
                procedure.effective_until, procedure.canonical_json(),
                procedure.content_hash, now)
        elif found[0] != procedure.content_hash and Procedure.from_json(found[1]) != procedure:
            # (a different hash with equal content: stored before the schema gained fields)
            raise ProcedureConflict(
                f"procedure {procedure.code} version {procedure.version} is already "
                "registered with different content; give the new content a new version")

    def remember(self, procedure: Procedure) -> None:
        """Keep a version just registered, with its rule book built now (at start-up, where
        registering happens, rather than in the first fire)."""
        with self._lock:
            kept = self._procedures.setdefault(procedure.key, procedure)
        self.book(kept)

    def get(self, tx: Tx, code: str, version: str) -> Procedure:
        """A registered version; :class:`~dossier.errors.ProcedureNotFound` if there is none."""
        cached = self._procedures.get((code, version))
        if cached is not None:
            return cached
        found = repo.find_procedure(tx, code, version)
        if found is None:
            raise ProcedureNotFound(f"procedure {code} version {version} is not registered")
        procedure = Procedure.from_json(found[1])
        with self._lock:
            return self._procedures.setdefault((code, version), procedure)

    def in_force(self, tx: Tx, code: str, day: date) -> Procedure:
        """The version of ``code`` in force on local date ``day`` (the latest to start)."""
        versions = [v for v in repo.procedure_versions(tx, code)
                    if v.effective_from <= day
                    and (v.effective_until is None or day <= v.effective_until)]
        if not versions:
            raise ProcedureNotFound(f"no version of procedure {code!r} is registered and in "
                                    f"force on {day.isoformat()}")
        latest = max(versions, key=lambda v: (v.effective_from, v.version))
        return self.get(tx, code, latest.version)

    def book(self, procedure: Procedure) -> RuleBook:
        """The compiled lifecycle of ``procedure`` (built once per version)."""
        book = self._books.get(procedure.key)
        if book is None:
            with self._lock:
                book = self._books.setdefault(procedure.key, RuleBook(procedure))
        return book
