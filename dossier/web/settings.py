"""What the web application is told: limits, its CSRF secret, its API tokens.

:class:`WebSettings` is what :func:`dossier.web.create_app` takes; ``dossier serve`` builds
it from ``dossier.toml``'s ``[web]`` table (:meth:`WebSettings.from_deployment`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dossier.actors import Actor
from dossier.errors import InvalidInput

if TYPE_CHECKING:
    from dossier.config import Deployment


@dataclass(frozen=True, kw_only=True)
class LookupLimit:
    """Tries of the public lookup allowed per ``window`` seconds: ``per_client`` from one
    client address, ``per_code`` for one dossier code from every address together (an ID
    number is guessable once its province and birth year are known, so one code must not be
    tried from many addresses either)."""

    per_client: int = 20
    per_code: int = 10
    window: float = 600.0

    def __post_init__(self) -> None:
        if self.per_client < 1 or self.per_code < 1 or self.window <= 0:
            raise InvalidInput("lookup limits must be positive")


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    """The web application's settings; every field has a safe default.

    ``tokens`` maps bearer tokens to actors (what the default authentication reads);
    ``csrf_secret`` keys the forms' CSRF tokens (default: a random one per process, so a
    form opened before a restart must be sent again). Body limits are in bytes.
    """

    tokens: Mapping[str, Actor] = field(default_factory=dict, repr=False)
    csrf_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    lookup: LookupLimit = LookupLimit()
    max_json_bytes: int = 64 * 1024
    max_form_bytes: int = 16 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    max_callback_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if len(self.csrf_secret) < 16:
            raise InvalidInput("csrf_secret must be at least 16 bytes")
        for name in ("max_json_bytes", "max_form_bytes", "max_upload_bytes",
                     "max_callback_bytes"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"{name} must be positive")

    @classmethod
    def from_deployment(cls, deployment: Deployment) -> WebSettings:
        """The settings of ``dossier.toml``'s ``[web]`` table."""
        web = deployment.web
        extra = {} if web.csrf_secret is None else {"csrf_secret": web.csrf_secret.encode()}
        return cls(tokens=dict(deployment.web_tokens),
                   lookup=LookupLimit(per_client=web.lookup.per_client,
                                      per_code=web.lookup.per_code, window=web.lookup.window),
                   max_json_bytes=web.max_json_bytes, max_form_bytes=web.max_form_bytes,
                   max_upload_bytes=web.max_upload_bytes,
                   max_callback_bytes=web.max_callback_bytes, **extra)
