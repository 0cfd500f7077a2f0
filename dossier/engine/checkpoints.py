"""Checkpoints of the whole ledger, like a transparency log's signed tree heads.

A checkpoint states, per agency: how many dossiers there were, the last code of every day
(codes are ``{agency}-{yymmdd}-{nnnn}``, numbered from 1 per agency and day), and a Merkle
root over every dossier's chain head as of the newest event then (``up_to_event``). It is
authenticated with the audit key (HMAC-SHA256; the key id is in the statement), so whoever
holds the key can check it and nobody without it can forge one. Kept outside the database
(a file, a WORM store, a second organisation), it proves later that no dossier that existed
then was deleted or rewritten: :func:`verify` recomputes each agency's root from the events
up to the same event id, and lists the gaps in each agency-day's numbering.

What it does not prove: anything about events after the checkpoint (take them often); and on
PostgreSQL an event committed after the checkpoint with a smaller id than ``up_to_event``
(transactions commit out of id order) makes :func:`verify` report a rewrite that is not one:
take checkpoints when writers are quiet, or retake and compare.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dossier.engine.kernel import Kernel
from dossier.errors import AuditError, InvalidInput
from dossier.store import repository as repo

FORMAT = "dossier-checkpoint/1"
_CODE = re.compile(r"(?P<agency>.+)-(?P<day>\d{6})-(?P<number>\d{4,})")


def merkle_root(leaves: Sequence[bytes]) -> str:
    """RFC 6962's tree hash: leaves hashed with a 0x00 prefix, nodes with 0x01; an empty tree
    is the hash of nothing."""
    if not leaves:
        return hashlib.sha256(b"").hexdigest()
    level = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]
    while len(level) > 1:
        paired = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
                  for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # the odd node moves up unchanged
        level = paired
    return level[0].hex()


def _leaf(code: str, seq: int, head: str) -> bytes:
    return f"{code}\n{seq}\n{head}".encode()


def _agencies(heads: Sequence[tuple[str, str, int, str]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for agency, code, seq, head in heads:
        entry = out.setdefault(agency, {"dossiers": 0, "last_code_of_day": {}, "_leaves": []})
        entry["dossiers"] += 1
        entry["_leaves"].append(_leaf(code, seq, head))
        found = _CODE.fullmatch(code)
        if found:
            days = entry["last_code_of_day"]
            if found["day"] not in days or _number(days[found["day"]]) < int(found["number"]):
                days[found["day"]] = code
    for entry in out.values():
        entry["merkle_root"] = merkle_root(entry.pop("_leaves"))
    return out


def _number(code: str) -> int:
    found = _CODE.fullmatch(code)
    return int(found["number"]) if found else 0


def _canonical(statement: Mapping[str, Any]) -> bytes:
    body = {k: v for k, v in statement.items() if k != "mac"}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def take(kernel: Kernel) -> dict[str, Any]:
    """A checkpoint of the ledger now, authenticated with the current audit key."""
    key = kernel.audit_keys.current
    if key is None:
        raise InvalidInput("a checkpoint is authenticated with the audit key: configure one "
                           "(Engine(audit_key=…) or DOSSIER_AUDIT_KEY)")
    with kernel.transaction(write=False) as tx:
        up_to = repo.max_event_id(tx)
        heads = repo.ledger_heads(tx, up_to)
    statement: dict[str, Any] = {
        "format": FORMAT, "taken_at": kernel.now().isoformat(), "up_to_event": up_to,
        "key_id": key.id, "agencies": _agencies(heads)}
    statement["mac"] = hmac.new(key.secret, _canonical(statement), hashlib.sha256).hexdigest()
    return statement


@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`verify` found: ``problems`` (deleted or rewritten dossiers, by agency) and
    ``gaps`` (agency-day → numbers missing from its code sequence, up to the checkpoint's
    last code of that day)."""

    taken_at: datetime
    problems: Sequence[str] = ()
    gaps: Mapping[str, Sequence[int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(kernel: Kernel, statement: Any) -> CheckpointReport:
    """Check a checkpoint's MAC, then the ledger against it; :class:`AuditError` if the
    statement itself is forged or not a checkpoint."""
    if not isinstance(statement, Mapping) or statement.get("format") != FORMAT:
        raise InvalidInput(f"not a {FORMAT} statement")
    try:
        secret = kernel.audit_keys.secret(str(statement.get("key_id")))
    except KeyError:
        raise AuditError("checkpoint", None, f"made with audit key {statement.get('key_id')}, "
                                             "which this engine does not have") from None
    assert secret is not None
    expected = hmac.new(secret, _canonical(statement), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(statement.get("mac", ""))):
        raise AuditError("checkpoint", None, "the statement's MAC does not match: it was "
                                             "altered or not made with this key")
    try:
        up_to = int(statement["up_to_event"])
        then: Mapping[str, Mapping[str, Any]] = statement["agencies"]
        taken_at = datetime.fromisoformat(statement["taken_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"checkpoint statement is incomplete: {exc}") from exc
    with kernel.transaction(write=False) as tx:
        now = _agencies(repo.ledger_heads(tx, up_to))
        codes = [code for _, code, _, _ in repo.ledger_heads(tx, repo.max_event_id(tx))]
    problems = []
    for agency, was in sorted(then.items()):
        is_ = now.get(agency, {"dossiers": 0, "merkle_root": merkle_root([])})
        if is_["dossiers"] != was.get("dossiers"):
            problems.append(f"{agency}: {was.get('dossiers')} dossiers at the checkpoint, "
                            f"{is_['dossiers']} of them now: a dossier was deleted")
        elif is_["merkle_root"] != was.get("merkle_root"):
            problems.append(f"{agency}: the dossiers' chains up to the checkpoint changed: a "
                            "dossier was rewritten")
    present = {(m["agency"], m["day"], int(m["number"]))
               for m in (_CODE.fullmatch(c) for c in codes) if m}
    gaps: dict[str, list[int]] = {}
    for agency, was in then.items():
        for day, last in dict(was.get("last_code_of_day", {})).items():
            missing = [n for n in range(1, _number(str(last)) + 1)
                       if (agency, day, n) not in present]
            if missing:
                gaps[f"{agency} {day}"] = missing
    return CheckpointReport(taken_at=taken_at, problems=tuple(problems), gaps=gaps)
