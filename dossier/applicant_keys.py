"""The applicant key: dossiers found by the applicant's ID number without indexing the number.

Each dossier row keeps ``applicant_key_digest`` = HMAC-SHA256 under the *applicant key* of the
ID number (its ASCII digits, after a fixed label), written at submission and indexed, so
``find(applicant_id=…)`` and the public status lookup are one index probe and the number
itself is never indexed. A plain hash would not do: there are only 10**12 twelve-digit
numbers (far fewer once a birth year and province are guessed), so anyone who can read the
database could hash them all; the key is kept out of the database, like the audit key.

Keys come from ``Engine(applicant_key=…)`` (a secret, or several) or, without one, from
:data:`ENV_VAR` (comma-separated). **Rotation:** list the new key first and keep the old ones:
new dossiers are indexed under the first key, and a search tries every key's digest (one index
probe each), so dossiers indexed under an old key are still found. Drop an old key only once
the dossiers indexed under it need no longer be found. A dossier submitted while no key was
configured has no digest and is not found this way. Without any key, a search by ID number is
refused (:class:`~dossier.errors.InvalidInput`): there is no unkeyed fallback.

Digests are never put in an event, a log line or an error message; the number never is.
Pure: stdlib only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence

from dossier.errors import InvalidInput

#: The environment variable :meth:`ApplicantKeys.of` reads when given no key: comma-separated
#: secrets, the first one current (at least :data:`MIN_SECRET` characters each).
ENV_VAR = "DOSSIER_APPLICANT_KEY"
MIN_SECRET = 32
# a digest made for this purpose only, whatever else the same secret were (mis)used for
_LABEL = b"dossier applicant id number\x00"
# compared when there is nothing to compare with, so that a miss costs what a match costs
_NOTHING = "0" * 64


class ApplicantKeys:
    """The applicant keys of one engine: the first indexes new dossiers, all are searched."""

    __slots__ = ("_secrets",)

    def __init__(self, secrets: Sequence[bytes | str] = ()) -> None:
        raw = [s.encode() if isinstance(s, str) else bytes(s) for s in secrets]
        if any(len(secret) < MIN_SECRET for secret in raw):
            raise InvalidInput(f"an applicant key must have at least {MIN_SECRET} bytes (e.g. "
                               "64 hex digits of a random 256-bit key); keep it out of the "
                               "database and out of the code")
        self._secrets: tuple[bytes, ...] = tuple(raw)

    @classmethod
    def of(cls, value: ApplicantKeys | bytes | str | Sequence[bytes | str] | None,
           environ: Mapping[str, str] | None = None) -> ApplicantKeys:
        """Keys from ``Engine(applicant_key=…)``: a secret, several (the first current), or
        none (then :data:`ENV_VAR`, if set)."""
        if isinstance(value, ApplicantKeys):
            return value
        if value is None:
            text = (os.environ if environ is None else environ).get(ENV_VAR, "")
            return cls([s.strip() for s in text.split(",") if s.strip()])
        if isinstance(value, bytes) or isinstance(value, str):  # noqa: SIM101 (mypy narrows)
            return cls([value])
        secrets = [v for v in value if isinstance(v, bytes | str)] \
            if isinstance(value, Sequence) else []
        if not secrets or len(secrets) != len(value):
            raise InvalidInput("applicant_key must be a secret (bytes or str) or a list of them")
        return cls(secrets)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"ApplicantKeys({len(self._secrets)} key(s))"

    def digest(self, id_number: str) -> str | None:
        """The digest new dossiers are indexed by (the first key's); None without a key."""
        return _hmac(self._secrets[0], id_number) if self._secrets else None

    def digests(self, id_number: str) -> tuple[str, ...]:
        """The digest under every key, the current one first: what a search looks for."""
        return tuple(_hmac(secret, id_number) for secret in self._secrets)

    def matches(self, id_number: str, stored: str | None) -> bool:
        """Whether ``stored`` is the digest of ``id_number`` under one of the keys, compared
        in constant time (every key is tried, whatever the first gave)."""
        found = False
        for candidate in self.digests(id_number) or (_NOTHING,):
            found |= hmac.compare_digest(candidate, stored or _NOTHING)
        return found and stored is not None and bool(self._secrets)


def _hmac(secret: bytes, id_number: str) -> str:
    return hmac.new(secret, _LABEL + id_number.encode("ascii"), hashlib.sha256).hexdigest()


NO_APPLICANT_KEYS = ApplicantKeys()
