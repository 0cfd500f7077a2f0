"""How adapters talk HTTP: a two-method :class:`Transport` port and a stdlib implementation.

Adapters never import an HTTP client; they get a transport. Tests and the demo plug in the
in-process :class:`~dossier.payments.fake.FakeProviderService` instead of the network.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dossier.errors import PaymentError


@dataclass(frozen=True, kw_only=True)
class HttpResponse:
    """Status, body and headers of one HTTP response."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; :class:`PaymentError` if it is not one."""
        try:
            value = json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PaymentError(f"provider answered HTTP {self.status} with a body that is "
                               "not JSON") from exc
        if not isinstance(value, dict):
            raise PaymentError(f"provider answered HTTP {self.status} with JSON that is not "
                               "an object")
        return value


@runtime_checkable
class Transport(Protocol):
    """Posts a request and returns the response; raises :class:`PaymentError` if unreachable."""

    def post_json(self, url: str, payload: Mapping[str, Any]) -> HttpResponse: ...

    def post_form(self, url: str, fields: Mapping[str, str]) -> HttpResponse: ...


class UrllibTransport:
    """The real network, through :mod:`urllib.request` (HTTPS certificates are verified)."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        # MoMo asks for at least 30 s on create/query/refund.
        self.timeout = timeout

    def post_json(self, url: str, payload: Mapping[str, Any]) -> HttpResponse:
        body = json.dumps(dict(payload), ensure_ascii=False).encode()
        return self._post(url, body, "application/json; charset=UTF-8")

    def post_form(self, url: str, fields: Mapping[str, str]) -> HttpResponse:
        body = urllib.parse.urlencode(dict(fields)).encode()
        return self._post(url, body, "application/x-www-form-urlencoded")

    def _post(self, url: str, body: bytes, content_type: str) -> HttpResponse:
        if not url.startswith(("https://", "http://")):
            raise PaymentError(f"refusing to post to {url!r}: only http(s) URLs are allowed")
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return HttpResponse(status=response.status, body=response.read(),
                                    headers=dict(response.headers.items()))
        except urllib.error.HTTPError as exc:
            return HttpResponse(status=exc.code, body=exc.read(),
                                headers=dict(exc.headers.items()))
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PaymentError(f"cannot reach payment provider at {url}: {exc}; "
                               "retry later") from exc
