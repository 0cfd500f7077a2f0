"""One HTTP POST for the sinks that speak HTTP (webhooks, the portal client), via stdlib
:mod:`urllib.request`.

Only the response status decides: what each status means is the caller's business. The
helper itself only raises :class:`~dossier.sinks.base.DeliveryFailed` (retryable) when no
response came at all: refused connection, DNS failure, timeout, reset. Redirects are not
followed (a webhook receiver that moved must be reconfigured, and following a 3xx with the
signed body to another host would hand it to whoever controls the redirect).

Error messages show the endpoint as ``scheme://host:port`` only: a path or query string may
carry a token.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from dossier.errors import InvalidInput
from dossier.sinks.base import DeliveryFailed

#: The most of a response body we read: receivers answer "ok", not documents.
MAX_REPLY_BYTES = 64 * 1024

USER_AGENT = "dossier-sinks/1"


@dataclass(frozen=True, kw_only=True)
class Reply:
    """The status and (truncated) body of one response."""

    status: int
    body: bytes = b""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def check_url(kind: str, url: Any) -> str:
    """``url`` if it is an absolute http(s) URL with a host; :class:`InvalidInput` otherwise."""
    if not isinstance(url, str):
        raise InvalidInput(f"{kind}: url must be a string")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{kind}: url must be an absolute http:// or https:// URL")
    if any(ch.isspace() for ch in url):
        raise InvalidInput(f"{kind}: url must not contain spaces or line breaks")
    return url


def endpoint(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: what error messages and logs may show."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: Any, newurl: str) -> None:
        return None  # the 3xx comes back as an HTTPError: a failed delivery


_OPENER = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float,
         what: str) -> Reply:
    """POST ``body`` to ``url``; the response, whatever its status.

    :class:`DeliveryFailed` (retryable) when there is no response; ``what`` names the peer in
    the message (``"webhook 'partner'"``).
    """
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"User-Agent": USER_AGENT, **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Reply(status=response.status, body=response.read(MAX_REPLY_BYTES))
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(status=exc.code, body=exc.read(MAX_REPLY_BYTES))
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DeliveryFailed(f"{what}: no answer from {endpoint(url)} "
                             f"({type(reason).__name__}: {reason}); will retry") from exc
