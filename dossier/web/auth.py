"""Who calls the JSON API: a pluggable ``authenticate(request) -> Actor | None``.

The default, :func:`bearer_tokens`, reads ``Authorization: Bearer <token>`` and looks the
token up in a static table (``dossier.toml``'s ``[[web.tokens]]``). An integrator with a
single sign-on passes their own callable to :func:`dossier.web.create_app` instead; it runs
in a worker thread, so it may block (a database, an introspection call).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from starlette.requests import Request

from dossier.actors import Actor

Authenticate = Callable[[Request], Actor | None]


def bearer_tokens(tokens: Mapping[str, Actor]) -> Authenticate:
    """An authenticator for a static token table: the actor of the bearer token, or None.

    Tokens are compared by their SHA-256 digests in constant time, so a token's prefix
    cannot be found by timing.
    """
    table = [(hashlib.sha256(token.encode()).digest(), actor) for token, actor in tokens.items()]

    def authenticate(request: Request) -> Actor | None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return None
        digest = hashlib.sha256(given.strip().encode("utf-8", "surrogateescape")).digest()
        found = None
        for known, actor in table:  # every entry compared, whichever matches
            if hmac.compare_digest(known, digest):
                found = actor
        return found

    return authenticate
