"""Checkpoints of the whole ledger, like a transparency log's signed tree heads.

A checkpoint states, per agency: how many dossiers there were, the last code of every day
(codes are ``{agency}-{yymmdd}-{nnnn}``, numbered from 1 per agency and day), and a Merkle
root over every dossier's chain head as of the newest event then (``up_to_event``). Kept
outside the database (a file, a WORM store, a second organisation), it proves later that no
dossier that existed then was deleted or rewritten: :func:`verify` recomputes each agency's
root from the events up to the same event id, and lists the gaps in each agency-day's
numbering.

It is authenticated in one or both of two ways, over the same bytes (the *canonical
statement*: the JSON object without its ``mac`` and ``cms`` members, keys sorted, no
whitespace, ``ensure_ascii=False``, UTF-8):

- ``mac``: HMAC-SHA256 with the current audit key (``key_id`` names it), whenever the engine
  has one: whoever holds the key can check it, nobody without it can forge one;
- ``cms``: base64 of a detached CMS signature by the agency's signer
  (:class:`~dossier.signing.base.SignsStatements`, with an RFC 3161 timestamp when the signer
  has a TSA): anyone with the agency's root certificate can check it, and it needs no secret
  shared with the database's operators. ``openssl cms -verify -binary -inform DER -content
  canonical.json -CAfile root.pem -purpose any`` checks it too.

``dossier-checkpoint/1`` statements (MAC only, over the object without ``mac``) still verify.

What it does not prove: anything about events after the checkpoint (take them often). On
PostgreSQL, where transactions commit out of id order, a checkpoint covers the events of
transactions below the visibility horizon when it was taken (``below_txid``, the oldest
transaction then running): an event committed later with a smaller id is outside it then and
at verification, so it is not mistaken for a rewrite.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dossier.engine.kernel import Kernel
from dossier.errors import AuditError, InvalidInput, SigningError
from dossier.plugins import load_object
from dossier.signing.base import SignsStatements, StatementSignature
from dossier.store import repository as repo

if TYPE_CHECKING:
    from cryptography import x509

FORMAT = "dossier-checkpoint/2"
#: The first format: MAC only, its canonical form the object without ``mac``.
FORMAT_1 = "dossier-checkpoint/1"
#: The CMS checker, known by name: pyHanko loads when a signed checkpoint is made or checked.
CMS_VERIFIER = "dossier.signing.statements:verify_statement"
_AUTHENTICATORS = {FORMAT: ("mac", "cms"), FORMAT_1: ("mac",)}
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


def canonical(statement: Mapping[str, Any]) -> bytes:
    """The bytes a checkpoint's MAC and CMS signature are over (see the module docstring)."""
    left_out = _AUTHENTICATORS.get(str(statement.get("format")), ("mac", "cms"))
    body = {k: v for k, v in statement.items() if k not in left_out}
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _cms_verifier() -> Callable[..., StatementSignature]:
    verifier: Callable[..., StatementSignature] = load_object(CMS_VERIFIER)
    return verifier


def take(kernel: Kernel, signer: SignsStatements | None = None) -> dict[str, Any]:
    """A checkpoint of the ledger now, with a MAC under the current audit key (when there is
    one) and a CMS signature by ``signer`` (when given); at least one of the two."""
    key = kernel.audit_keys.current
    if signer is not None and not isinstance(signer, SignsStatements):
        raise InvalidInput("signer must implement dossier.signing.base.SignsStatements "
                           "(LocalSigner and CscRemoteSigner do)")
    if key is None and signer is None:
        raise InvalidInput("a checkpoint is authenticated with the audit key or signed: "
                           "configure an audit key (Engine(audit_key=…) or DOSSIER_AUDIT_KEY) "
                           "or give a signer")
    with kernel.transaction(write=False) as tx:
        # PostgreSQL commits out of id order: only events of transactions below the
        # visibility horizon count, a set that cannot grow (one committing late with a
        # smaller id is outside it now and at verification)
        horizon = None if kernel.db.is_sqlite else repo.visibility_horizon(tx)
        up_to = repo.max_event_id(tx, horizon)
        heads = repo.ledger_heads(tx, up_to, horizon)
    statement: dict[str, Any] = {
        "format": FORMAT, "taken_at": kernel.now().isoformat(), "up_to_event": up_to,
        "agencies": _agencies(heads)}
    if horizon is not None:
        statement["below_txid"] = horizon
    if key is not None:
        statement["key_id"] = key.id
    body = canonical(statement)
    if key is not None:
        statement["mac"] = hmac.new(key.secret, body, hashlib.sha256).hexdigest()
    if signer is not None:  # outside the transaction: a TSA may take seconds
        signature = signer.sign_statement(body)
        # checked before it is handed out: a checkpoint that cannot verify later is worse
        # than none (a remote signer answering garbage, a third-party signer's bug)
        found = _cms_verifier()(body, signature) if isinstance(signature, bytes) else None
        if found is None or not found.ok:
            why = "; ".join(found.problems) if found else "not bytes"
            raise SigningError(f"the signer's CMS signature over the checkpoint does not "
                               f"check out ({why}); no checkpoint was made")
        statement["cms"] = base64.b64encode(signature).decode("ascii")
    return statement


@dataclass(frozen=True)
class CheckpointReport:
    """What :func:`verify` found: ``problems`` (deleted or rewritten dossiers, by agency) and
    ``gaps`` (agency-day → numbers missing from its code sequence, up to the checkpoint's
    last code of that day). ``signature`` says who signed it (subject CN and O), when, whether
    the chain was checked, and the RFC 3161 time when the signature is timestamped."""

    taken_at: datetime
    problems: Sequence[str] = ()
    gaps: Mapping[str, Sequence[int]] = field(default_factory=dict)
    #: The CMS signature's signer, signing time and timestamp, when the statement is signed.
    signature: StatementSignature | None = None
    #: Whether the MAC was checked (False: no MAC, or a key this engine does not have, and
    #: the CMS signature, its chain checked up to a trust anchor, vouched instead).
    mac_checked: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(kernel: Kernel, statement: Any, *,
           trust: Sequence[x509.Certificate] | None = None) -> CheckpointReport:
    """Check a checkpoint's MAC and CMS signature, then the ledger against it.

    :class:`AuditError` if the statement itself is forged, altered or badly signed, or (with
    ``trust``, the certificates its signature must chain to) not signed at all;
    :class:`InvalidInput` if it is not a checkpoint.
    """
    if not isinstance(statement, Mapping) or statement.get("format") not in _AUTHENTICATORS:
        raise InvalidInput(f"not a {FORMAT} (or {FORMAT_1}) statement")
    body = canonical(statement)
    unchecked_mac = _check_mac(kernel, statement, body)
    signed = statement.get("format") == FORMAT and "cms" in statement
    signature = _check_cms(statement, body, trust) if signed else None
    if trust is not None and signature is None:
        raise AuditError("checkpoint", None, "the statement is not signed (no cms), but "
                                             "trust anchors were given: a MAC alone does not "
                                             "prove who made it")
    # a signature vouches for the statement only if its chain ends at an anchor we trust:
    # anyone can make a certificate with the agency's name on it
    if unchecked_mac and (signature is None or not signature.chain_checked):
        raise AuditError("checkpoint", None, f"nothing authenticates the statement: "
                         f"{unchecked_mac}, and " + ("it is not signed" if signature is None
                                                      else "its signature's chain was not "
                                                      "checked (give the trust anchors)"))
    try:
        up_to = int(statement["up_to_event"])
        horizon = None if statement.get("below_txid") is None \
            else str(int(statement["below_txid"]))
        then: Mapping[str, Mapping[str, Any]] = statement["agencies"]
        taken_at = datetime.fromisoformat(statement["taken_at"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"checkpoint statement is incomplete: {exc}") from exc
    if horizon is not None and kernel.db.is_sqlite:
        raise InvalidInput("this checkpoint was taken on PostgreSQL (below_txid): verify it "
                           "against that database")
    with kernel.transaction(write=False) as tx:
        now = _agencies(repo.ledger_heads(tx, up_to, horizon))
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
    return CheckpointReport(taken_at=taken_at, problems=tuple(problems), gaps=gaps,
                            signature=signature, mac_checked=not unchecked_mac)


def _check_mac(kernel: Kernel, statement: Mapping[str, Any], body: bytes) -> str:
    """Why the MAC could not be checked (``""``: it was, and it holds); :class:`AuditError`
    if it is wrong."""
    if "mac" not in statement:
        return "it has no MAC"
    try:
        secret = kernel.audit_keys.secret(str(statement.get("key_id")))
    except KeyError:
        return (f"its MAC was made with audit key {statement.get('key_id')}, which this "
                "engine does not have")
    assert secret is not None
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, str(statement.get("mac", ""))):
        raise AuditError("checkpoint", None, "the statement's MAC does not match: it was "
                                             "altered or not made with this key")
    return ""


def _check_cms(statement: Mapping[str, Any], body: bytes,
               trust: Sequence[x509.Certificate] | None) -> StatementSignature:
    try:
        signature = base64.b64decode(str(statement["cms"]), validate=True)
    except (binascii.Error, ValueError):
        raise AuditError("checkpoint", None, "the statement's cms is not base64") from None
    found = _cms_verifier()(body, signature, trust=trust)
    if not found.ok:
        raise AuditError("checkpoint", None, "the statement's CMS signature does not check "
                                             f"out: {'; '.join(found.problems)}")
    return found
