"""Digitisation records (số hóa hồ sơ, kết quả giải quyết thủ tục hành chính). Pure.

What the national portal reports per dossier (Thông tư 01/2023/TT-VPCP): for each component,
whether it was digitised here (by whom, when, how many pages) or reused, from the result of
an earlier procedure or from the citizen's data store (kho dữ liệu), and whether the result
was digitised and returned electronically. The kernel writes the records in the transaction
of the event that makes them:

- ``attach(..., reused_from=…)`` records a reused component, once its bytes hash to the
  SHA-256 the source gave (:func:`check_reuse`);
- ``digitise`` records every stored component not yet recorded as scanned here, with the
  ``pages`` the officer gives (:func:`scanned`);
- ``return_result`` records the result (:func:`result`).

:func:`flags` turns a dossier's records into what the quality indicators count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dossier import text
from dossier.errors import InvalidInput
from dossier.records import (
    Attachment,
    DigitisationKind,
    DigitisationRecord,
    DocumentRecord,
    ReuseKind,
    ReuseSource,
)
from dossier.text import Kind


@dataclass(frozen=True, kw_only=True)
class DigitisationFlags:
    """One dossier's digitisation as the quality indicators count it: the components
    digitised here, those reused, and whether the result was digitised and returned
    electronically."""

    dossier_code: str
    digitised: frozenset[str]
    reused: frozenset[str]
    result_digitised: bool
    returned_electronically: bool


def flags(code: str, records: Iterable[DigitisationRecord]) -> DigitisationFlags:
    """The flags of dossier ``code`` from its records (``engine.digitisation(code)``)."""
    digitised: set[str] = set()
    reused: set[str] = set()
    result_digitised = electronic = False
    for record in records:
        if record.kind is DigitisationKind.DIGITISED and record.component:
            digitised.add(record.component)
        elif record.kind is DigitisationKind.REUSED and record.component:
            reused.add(record.component)
        elif record.kind is DigitisationKind.RESULT:
            result_digitised = record.result_digitised
            electronic = bool(record.returned_electronically)
    return DigitisationFlags(dossier_code=code, digitised=frozenset(digitised),
                             reused=frozenset(reused), result_digitised=result_digitised,
                             returned_electronically=electronic)


def parse_reuse(value: Any) -> ReuseSource:
    """A :class:`ReuseSource`, or a mapping ``{"kind": "dossier"|"data_store", "reference":
    …, "sha256": …}``, checked."""
    if isinstance(value, ReuseSource):
        kind, reference, sha256 = value.kind, value.reference, value.sha256
    elif isinstance(value, Mapping) and set(value) == {"kind", "reference", "sha256"}:
        kind, reference, sha256 = value["kind"], value["reference"], value["sha256"]
    else:
        raise InvalidInput("reused_from must be a ReuseSource or {'kind': 'dossier' or "
                           "'data_store', 'reference': …, 'sha256': …}")
    if kind not in ReuseKind.__members__.values():
        raise InvalidInput(f"reused_from kind must be one of "
                           f"{', '.join(k.value for k in ReuseKind)}; got {kind!r}")
    reference = text.clean("reused_from reference", reference, Kind.REFERENCE)
    if not isinstance(sha256, str) or len(sha256) != 64 \
            or any(c not in "0123456789abcdef" for c in sha256):
        raise InvalidInput("reused_from sha256 must be 64 lower-case hex digits")
    return ReuseSource(kind=ReuseKind(kind), reference=reference, sha256=sha256)


def check_reuse(code: str, source: ReuseSource, digest: str,
                earlier: Sequence[DocumentRecord] | None) -> None:
    """Raise :class:`InvalidInput` unless the attached bytes (``digest``) are the document the
    source names. For an earlier dossier, ``earlier`` is its documents (None: no such
    dossier here), and one of them must be that document."""
    if digest != source.sha256:
        raise InvalidInput(f"{code}: the reused file hashes to {digest}, not to the SHA-256 "
                           f"the source gave ({source.sha256}): it is not that document")
    if source.kind is ReuseKind.DOSSIER:
        if earlier is None:
            raise InvalidInput(f"{code}: no earlier dossier {source.reference!r} to reuse a "
                               "result from")
        if not any(d.sha256 == digest for d in earlier):
            raise InvalidInput(f"{code}: dossier {source.reference} has no result or certified "
                               f"copy with SHA-256 {digest}")


def reused(code: str, component: str, source: ReuseSource, *, by: str, at: datetime,
           seq: int) -> DigitisationRecord:
    """The record of a component taken from ``source`` by ``by`` (event ``seq``)."""
    return DigitisationRecord(dossier_code=code, kind=DigitisationKind.REUSED,
                              component=component, sha256=source.sha256, by=by, at=at, seq=seq,
                              source=source.kind, source_ref=source.reference)


def scanned(code: str, attachments: Sequence[Attachment], recorded: Iterable[DigitisationRecord],
            pages: Mapping[str, int], *, by: str, at: datetime,
            seq: int) -> list[DigitisationRecord]:
    """The records a ``digitise`` by ``by`` (event ``seq``) adds: one per stored component
    not recorded yet (as scanned or reused), with its latest file and the ``pages`` given."""
    done = {r.component for r in recorded if r.component}
    latest: dict[str, str] = {}
    for attachment in attachments:  # oldest first: the last one wins
        if attachment.component not in done:
            latest[attachment.component] = attachment.sha256
    return [DigitisationRecord(dossier_code=code, kind=DigitisationKind.DIGITISED,
                               component=component, sha256=sha256, by=by, at=at, seq=seq,
                               pages=pages.get(component))
            for component, sha256 in latest.items()]


def result(code: str, documents: Sequence[DocumentRecord], method: str | None, *, by: str,
           at: datetime, seq: int) -> DigitisationRecord:
    """The record of the result returned by ``by`` (event ``seq``): digital if the engine
    holds a signed result (or else a certified copy), electronic if returned ``online``."""
    digital = [d for d in documents if d.kind == "result"] \
        or [d for d in documents if d.kind == "certified_copy"]
    return DigitisationRecord(dossier_code=code, kind=DigitisationKind.RESULT, component=None,
                              sha256=digital[-1].sha256 if digital else None, by=by, at=at,
                              seq=seq, returned_electronically=method == "online")
