"""The web surface (``pip install 'dossier[web]'``, ``dossier serve``): an ASGI application
over one :class:`~dossier.engine.Engine`.

::

    from dossier.web import create_app, WebSettings, bearer_tokens
    app = create_app(engine, settings=WebSettings(tokens={"…": clerk}))

Routes: ``/healthz``, ``/openapi.json``, the JSON API under ``/api/v1/`` (see
:mod:`dossier.web.api`), payment gateways' and signers' callbacks
(:mod:`dossier.web.callbacks`), and the public pages ``/tra-cuu``, ``/danh-gia/{code}``,
``/chi-so`` (:mod:`dossier.web.pages`). Errors are RFC 9457 problem+json
(:mod:`dossier.web.problems`); security headers, body limits and CSRF are in
:mod:`dossier.web.security`.
"""

from dossier.web.app import create_app
from dossier.web.auth import Authenticate, bearer_tokens
from dossier.web.settings import LookupLimit, WebSettings

__all__ = ["Authenticate", "LookupLimit", "WebSettings", "bearer_tokens", "create_app"]
