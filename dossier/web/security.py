"""What every answer carries and what every request may send: security headers, body size
limits, and the forms' CSRF tokens.

**Headers.** A Content-Security-Policy without ``unsafe-inline`` (the pages load one
stylesheet from this origin and run no script), ``frame-ancestors 'none'``,
``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: no-referrer`` (the lookup's
address holds an ID number: it must not travel in a Referer).

**CSRF.** A signed double-submit token: the form page sets a random nonce in an HttpOnly,
SameSite=Strict cookie, and the form carries ``HMAC(secret, nonce | form path)``; a post is
taken only when the field matches the cookie's nonce for that path. A forged cross-site post
has neither the cookie (SameSite) nor the secret to make the field.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dossier.web.problems import BodyTooLarge, CsrfFailed

CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
)
CSRF_COOKIE = "dossier_csrf"
CSRF_FIELD = "csrf_token"


class SecurityHeaders:
    """ASGI middleware: adds the security headers to every HTTP answer (a page may widen
    ``style-src`` with hashes of its own inline styles through ``csp_style_hashes``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [(n, v) for n, v in HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def csp_with_styles(hashes: Iterable[str]) -> str:
    """The policy allowing, besides our stylesheet, inline styles with these SHA-256 hashes
    (base64), e.g. a self-contained report's own ``<style>``."""
    extra = " ".join(f"'sha256-{h}'" for h in hashes)
    return CSP.replace("style-src 'self'", f"style-src 'self' {extra}".rstrip())


def style_hash(css: str) -> str:
    """The CSP hash of an inline ``<style>`` element's text."""
    return base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it exceeds ``limit`` bytes (a declared
    Content-Length over it is refused before anything is read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body may be at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body may be at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Csrf:
    """Issues and checks the forms' CSRF tokens (see the module's docstring)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, nonce: str, path: str) -> str:
        return hmac.new(self._secret, f"{nonce}|{path}".encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> tuple[str, str]:
        """``(nonce, token)`` for a form posting to this request's path: the cookie's nonce
        is reused when the browser has one, so two open tabs both stay valid."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if len(nonce) != 32 or not nonce.isalnum():
            nonce = secrets.token_hex(16)
        return nonce, self._mac(nonce, request.url.path)

    def set_cookie(self, response: Response, request: Request, nonce: str) -> None:
        response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")

    def check(self, request: Request, token: str) -> None:
        """Refuse (403) a post whose token is not the one issued for the cookie's nonce."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if not nonce or not token.isascii() or not hmac.compare_digest(
                token.encode(), self._mac(nonce, request.url.path).encode()):
            raise CsrfFailed("this form has expired or was not sent from our page: open it "
                             "again and send it once more")
