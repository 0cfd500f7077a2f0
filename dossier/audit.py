"""The per-dossier event hash chain: each event stores the hash of the one before it.

Without an audit key a link is SHA-256 over the event's canonical JSON and the previous hash:
it detects edits, but whoever can write the database can recompute it. With a key
(:class:`AuditKeys`, from ``Engine(audit_key=…)`` or ``DOSSIER_AUDIT_KEY``) a link is
HMAC-SHA256 under a key that is never stored in the database, so rewriting history needs the
key. Each event records the id of the key it was made with (a digest of the key, not the
key), so keys can be rotated: the first key signs, the others still verify.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dossier.errors import AuditError, InvalidInput

GENESIS = "0" * 64

# The canonical form of an event: what json.dumps(…) with these options writes. One shared
# encoder (stateless, so thread-safe) spares building a new one per event on the hot path.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                              default=str)


#: The environment variable :meth:`AuditKeys.from_env` reads: comma-separated secrets, the
#: first one current (at least 32 characters each: a random 256-bit key in hex or base64).
ENV_VAR = "DOSSIER_AUDIT_KEY"
MIN_SECRET = 32


@dataclass(frozen=True)
class AuditKey:
    """One secret that links events; ``id`` is what events record (a digest, not the key)."""

    id: str
    secret: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes | str) -> AuditKey:
        raw = secret.encode() if isinstance(secret, str) else bytes(secret)
        if len(raw) < MIN_SECRET:
            raise InvalidInput(f"an audit key must have at least {MIN_SECRET} bytes (e.g. 64 "
                               "hex digits of a random 256-bit key); keep it out of the "
                               "database and out of the code")
        return cls(id=hashlib.sha256(b"dossier audit key id\0" + raw).hexdigest()[:16],
                   secret=raw)


class AuditKeys:
    """The keys of one engine: the first links new events, every one verifies old events."""

    def __init__(self, keys: Sequence[AuditKey] = ()) -> None:
        self._keys = {key.id: key for key in keys}
        self.current: AuditKey | None = keys[0] if keys else None

    @classmethod
    def of(cls, value: AuditKeys | bytes | str | Sequence[bytes | str] | None) -> AuditKeys:
        """Keys from ``Engine(audit_key=…)``: a secret, several (the first current), or none
        (then ``DOSSIER_AUDIT_KEY``, if set)."""
        if isinstance(value, AuditKeys):
            return value
        if value is None:
            return cls.from_env(os.environ)
        secrets = [value] if isinstance(value, bytes | str) else list(value)
        return cls([AuditKey.from_secret(secret) for secret in secrets])

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AuditKeys:
        text = environ.get(ENV_VAR, "").strip()
        return cls([AuditKey.from_secret(s.strip()) for s in text.split(",") if s.strip()])

    def __bool__(self) -> bool:
        return self.current is not None

    def secret(self, key_id: str | None) -> bytes | None:
        """The secret of ``key_id`` (None: an unkeyed link); :class:`KeyError` if unknown."""
        return None if key_id is None else self._keys[key_id].secret


NO_KEYS = AuditKeys()


def event_hash(*, dossier: str, seq: int, trigger: str, source: str | None, target: str,
               actor: str, role: str, on_behalf_of: str | None, at: datetime,
               data: Mapping[str, Any], prev_hash: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 under ``key`` (or, without one, SHA-256) over a canonical JSON of everything
    an event says and the previous hash."""
    body = _CANONICAL.encode(
        [dossier, seq, trigger, source, target, actor, role, on_behalf_of,
         at.isoformat(timespec="microseconds"), data, prev_hash]).encode()
    if key is None:
        return hashlib.sha256(body).hexdigest()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def verify_chain(code: str, events: Iterable[Any], head_hash: str, event_count: int,
                 keys: AuditKeys = NO_KEYS) -> None:
    """Raise :class:`AuditError` at the first event that does not fit the chain.

    A keyed event needs its key among ``keys``; once a dossier's chain is keyed, an unkeyed
    event after it is a downgrade (someone recomputed history without the key) and fails."""
    prev = GENESIS
    count = 0
    keyed = False
    for expected_seq, event in enumerate(events, start=1):
        count = expected_seq
        if event.seq != expected_seq:
            raise AuditError(code, expected_seq,
                             f"found event #{event.seq} where #{expected_seq} belongs "
                             "(an event was deleted or reordered)")
        if event.prev_hash != prev:
            raise AuditError(code, expected_seq, "previous-hash link does not match "
                                                 "(an event before it was changed or removed)")
        key_id = getattr(event, "key_id", None)
        if key_id is None and keyed:
            # a keyed engine never writes an unkeyed link after a keyed one: only history
            # rewritten without the key looks like this
            raise AuditError(code, expected_seq, "an unkeyed link after keyed ones (history "
                                                 "was rewritten without the key)")
        try:
            secret = keys.secret(key_id)
        except KeyError:
            raise AuditError(code, expected_seq, f"linked with audit key {key_id}, which this "
                                                 "engine does not have: configure it to "
                                                 "verify") from None
        keyed = keyed or key_id is not None
        recomputed = event_hash(
            dossier=code, seq=event.seq, trigger=event.trigger, source=event.source,
            target=event.target, actor=event.actor, role=event.role,
            on_behalf_of=event.on_behalf_of, at=event.at, data=event.data, prev_hash=prev,
            key=secret)
        if not hmac.compare_digest(recomputed, event.hash):
            raise AuditError(code, expected_seq, "content does not match its hash "
                                                 "(the event was edited)")
        prev = event.hash
    if count != event_count:
        raise AuditError(code, None, f"the dossier records {event_count} events but "
                                     f"{count} are stored (an event was deleted or added)")
    if prev != head_hash:
        raise AuditError(code, None, "the last event is not the recorded head of the chain")
