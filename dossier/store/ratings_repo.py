"""The SQL of citizens' ratings: one row per rated dossier (see migration 0010)."""

from __future__ import annotations

import json
from typing import Any

from dossier.records import Dossier
from dossier.store.database import Tx
from dossier.store.repository import dumps

_COLUMNS = "r.level, r.criteria, r.comment, r.actor, r.role, r.on_behalf_of, r.rated_at"


def insert(tx: Tx, dossier: Dossier, *, level: str, criteria: dict[str, str],
           comment: str | None, actor: str, role: str, on_behalf_of: str | None,
           at: Any) -> None:
    """Store the rating of ``dossier``; a second one for the same dossier violates
    ``uq_ratings_dossier`` (:class:`~dossier.errors.DuplicateRecord` from the database)."""
    tx.execute("INSERT INTO ratings (dossier_id, level, criteria, comment, actor, role,"
               " on_behalf_of, rated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               (dossier.id, level, dumps(criteria), comment, actor, role, on_behalf_of,
                tx.instant_in(at)))


def find(tx: Tx, dossier_id: int) -> tuple[Any, ...] | None:
    """``(level, criteria, comment, actor, role, on_behalf_of, rated_at)`` of the dossier's
    rating (criteria decoded, instant aware), or None when it has none."""
    row = tx.one(f"SELECT {_COLUMNS} FROM ratings r WHERE r.dossier_id = ?", (dossier_id,))
    if row is None:
        return None
    return (row[0], json.loads(row[1]), row[2], row[3], row[4], row[5],
            tx.instant_out(row[6]))
