"""The SQL of digitisation records (table ``digitisation_records``), on a :class:`Tx`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dossier.records import DigitisationKind, DigitisationRecord, ReuseKind
from dossier.store.database import Tx

_COLUMNS = ("d.code, r.kind, r.component, r.sha256, r.actor, r.at, r.seq, r.pages, r.source,"
            " r.source_ref, r.returned_electronically")


def insert(tx: Tx, dossier_id: int, records: Iterable[DigitisationRecord]) -> None:
    for r in records:
        tx.execute(
            "INSERT INTO digitisation_records (dossier_id, seq, kind, component, sha256, pages,"
            " source, source_ref, returned_electronically, actor, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (dossier_id, r.seq, r.kind.value, r.component, r.sha256, r.pages,
             r.source.value if r.source else None, r.source_ref, r.returned_electronically,
             r.by, tx.instant_in(r.at)))


def records_of(tx: Tx, dossier_id: int) -> list[DigitisationRecord]:
    """The dossier's records, in the order they were made."""
    rows = tx.all(f"SELECT {_COLUMNS} FROM digitisation_records r"
                  " JOIN dossiers d ON d.id = r.dossier_id WHERE r.dossier_id = ?"
                  " ORDER BY r.seq, r.id", (dossier_id,))
    return [_record(tx, row) for row in rows]


def _record(tx: Tx, r: Any) -> DigitisationRecord:
    return DigitisationRecord(
        dossier_code=r[0], kind=DigitisationKind(r[1]), component=r[2], sha256=r[3], by=r[4],
        at=tx.instant_out(r[5]), seq=r[6], pages=r[7],  # type: ignore[arg-type]
        source=ReuseKind(r[8]) if r[8] else None, source_ref=r[9],
        returned_electronically=None if r[10] is None else bool(r[10]))
