"""Fake remote signing services that speak the real protocols, on 127.0.0.1.

For tests and the demo; each runs an aiohttp server in a background thread on a random free
port and is a context manager::

    with FakeCscService(pki) as csc:
        signer = CscRemoteSigner(csc.url, token=csc.token, pin=csc.pin)

* :class:`FakeCscService` — CSC API v1 (``credentials/list``, ``credentials/info``,
  ``credentials/authorize`` with PIN and, at SCAL 2, hash-bound SAD, ``signatures/signHash``).
* :class:`FakePhoneService` — the phone-confirmation mapping of :mod:`dossier.signing.phone`;
  the test (or demo) plays the signer's phone with :meth:`~FakePhoneService.confirm`,
  :meth:`~FakePhoneService.reject`, or lets a request lapse by moving the injected clock.
* :class:`FakeTsaService` — an RFC 3161 time-stamping authority over HTTP.

``fault`` makes a service misbehave on the signing call: ``"garbage"`` (a signature that is
not one), ``"not-json"``, ``"error"`` (HTTP 500) or ``"slow"`` (answers after ``delay`` s).
All keys come from a :class:`~dossier.signing.testpki.TestPki`; nothing here is secure.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any

from aiohttp import web
from asn1crypto import tsp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

from dossier.clock import Clock, SystemClock
from dossier.signing.testpki import Issued, TestPki, shared_test_pki

_RSA_SHA256 = "1.2.840.113549.1.1.11"
_RSA = "1.2.840.113549.1.1.1"
_SHA256 = "2.16.840.1.101.3.4.2.1"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sign_digest(key: rsa.RSAPrivateKey, digest: bytes) -> bytes:
    return key.sign(digest, padding.PKCS1v15(), utils.Prehashed(hashes.SHA256()))


class _BackgroundServer:
    """An aiohttp application served from its own thread and event loop."""

    fault: str | None = None
    delay: float = 2.0

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        ready = threading.Event()
        loop = asyncio.new_event_loop()

        async def serve() -> None:
            app = web.Application()
            self.routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(serve())
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        loop, runner = self._loop, self._runner

        async def shutdown() -> None:
            if runner is not None:
                await runner.cleanup()
            loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), loop)
        self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> _BackgroundServer:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    async def _misbehave(self) -> web.Response | None:
        """The faulty answer to a signing call, or None to answer properly."""
        if self.fault == "slow":
            await asyncio.sleep(self.delay)
        elif self.fault == "not-json":
            return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
        elif self.fault == "error":
            return web.json_response({"error": "server_error", "error_description": "down",
                                      "message": "down"}, status=500)
        return None


def _error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description,
                              "message": description}, status=status)


@dataclass
class _Sad:
    credential_id: str
    hashes: frozenset[str] | None
    remaining: int
    expires_at: Any


class FakeCscService(_BackgroundServer):
    """A CSC v1 remote signing service holding ``pki.remote_signer`` as ``credential_id``."""

    def __init__(self, pki: TestPki | None = None, *, clock: Clock | None = None,
                 token: str = "csc-test-token", pin: str = "123456", scal: int = 2,
                 sad_lifetime: int = 300, credential_id: str = "cred-001") -> None:
        super().__init__()
        self.pki = pki or shared_test_pki()
        self.clock = clock or SystemClock()
        self.token, self.pin, self.scal = token, pin, scal
        self.sad_lifetime = sad_lifetime
        self.credentials: dict[str, Issued] = {credential_id: self.pki.remote_signer}
        self._sads: dict[str, _Sad] = {}
        self.signed_hashes: list[str] = []  # what reached the service: digests only

    def __enter__(self) -> FakeCscService:
        self.start()
        return self

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/csc/v1/info", self._info)
        app.router.add_post("/csc/v1/credentials/list", self._list)
        app.router.add_post("/csc/v1/credentials/info", self._cred_info)
        app.router.add_post("/csc/v1/credentials/authorize", self._authorize)
        app.router.add_post("/csc/v1/signatures/signHash", self._sign_hash)

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "invalid_token", "missing or wrong bearer token")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "invalid_request", "body is not JSON")
        return body if isinstance(body, dict) else _error(400, "invalid_request", "not an object")

    async def _info(self, request: web.Request) -> web.Response:
        return web.json_response({"specs": "1.0.4.0", "name": "Dossier fake CSC",
                                  "lang": "vi-VN", "authType": ["oauth2code"],
                                  "methods": ["credentials/list", "credentials/info",
                                              "credentials/authorize", "signatures/signHash"]})

    async def _list(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        return web.json_response({"credentialIDs": sorted(self.credentials)})

    async def _cred_info(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        holder = self.credentials.get(str(body.get("credentialID")))
        if holder is None:
            return _error(400, "invalid_request", "Invalid parameter credentialID")
        chain = [holder.cert_der, self.pki.intermediate.cert_der, self.pki.root.cert_der]
        return web.json_response({
            "key": {"status": "enabled", "algo": [_RSA_SHA256, _RSA], "len": 2048},
            "cert": {"status": "valid", "certificates": [_b64(c) for c in chain]},
            "authMode": "explicit", "PIN": {"presence": "true", "format": "N"},
            "SCAL": str(self.scal), "multisign": 1, "lang": "vi-VN"})

    async def _authorize(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        credential_id = str(body.get("credentialID"))
        if credential_id not in self.credentials:
            return _error(400, "invalid_request", "Invalid parameter credentialID")
        if body.get("PIN") != self.pin:
            return _error(400, "invalid_pin", "The PIN is invalid")
        hashes_ = body.get("hash")
        if self.scal == 2 and not hashes_:
            return _error(400, "invalid_request", "Missing parameter hash (SCAL 2)")
        sad = secrets.token_urlsafe(24)
        self._sads[sad] = _Sad(credential_id, frozenset(hashes_) if hashes_ else None,
                               int(body.get("numSignatures", 1)),
                               self.clock.now() + timedelta(seconds=self.sad_lifetime))
        return web.json_response({"SAD": sad, "expiresIn": self.sad_lifetime})

    async def _sign_hash(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        faulty = await self._misbehave()
        if faulty is not None:
            return faulty
        sad = self._sads.get(str(body.get("SAD")))
        if sad is None or sad.credential_id != body.get("credentialID"):
            return _error(400, "invalid_request", "Invalid parameter SAD")
        if self.clock.now() >= sad.expires_at:
            return _error(400, "invalid_request", "SAD expired")
        hashes_ = [str(h) for h in body.get("hash") or []]
        if body.get("hashAlgo") not in (None, _SHA256) or body.get("signAlgo") not in (
                _RSA_SHA256, _RSA):
            return _error(400, "invalid_request", "Unsupported hashAlgo or signAlgo")
        if sad.hashes is not None and not set(hashes_) <= sad.hashes:
            return _error(400, "invalid_request", "Hash not authorised by this SAD")
        if len(hashes_) > sad.remaining:
            return _error(400, "invalid_request", "SAD used up")
        sad.remaining -= len(hashes_)
        self.signed_hashes.extend(hashes_)
        key = self.credentials[sad.credential_id].key
        if self.fault == "garbage":
            signatures = [_b64(secrets.token_bytes(256)) for _ in hashes_]
        else:
            signatures = [_b64(_sign_digest(key, base64.b64decode(h))) for h in hashes_]
        return web.json_response({"signatures": signatures})


@dataclass
class PhoneRequest:
    """One request waiting on the fake signer's phone."""

    transaction_id: str
    user_id: str
    description: str
    digest: bytes
    expires_at: Any
    status: str = "waiting"
    reason: str = ""
    signature: bytes | None = None


class FakePhoneService(_BackgroundServer):
    """The phone-confirmation service of :mod:`dossier.signing.phone`, with a fake phone.

    ``users`` maps account ids to key holders (default: ``"signer"`` →
    ``pki.remote_signer``). Requests lapse ``request_ttl`` seconds after creation by ``clock``.
    """

    def __init__(self, pki: TestPki | None = None, *, clock: Clock | None = None,
                 client_id: str = "dossier-test", client_secret: str = "client-secret-test",
                 users: dict[str, Issued] | None = None, request_ttl: int = 300) -> None:
        super().__init__()
        self.pki = pki or shared_test_pki()
        self.clock = clock or SystemClock()
        self.client_id, self.client_secret = client_id, client_secret
        self.users = users if users is not None else {"signer": self.pki.remote_signer}
        self.request_ttl = request_ttl
        self.requests: dict[str, PhoneRequest] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> FakePhoneService:
        self.start()
        return self

    # -- the signer's phone ------------------------------------------------------------

    def waiting(self) -> list[str]:
        """Transaction ids still waiting for the signer, oldest first."""
        with self._lock:
            return [t for t, r in self.requests.items() if self._current(r) == "waiting"]

    def confirm(self, transaction_id: str) -> None:
        """The signer confirms on the phone: the service signs the digest."""
        with self._lock:
            req = self._waiting(transaction_id)
            holder = self.users[req.user_id]
            req.signature = secrets.token_bytes(256) if self.fault == "garbage" else \
                _sign_digest(holder.key, req.digest)
            req.status = "done"

    def reject(self, transaction_id: str, reason: str = "Người ký từ chối") -> None:
        """The signer rejects the request on the phone."""
        with self._lock:
            req = self._waiting(transaction_id)
            req.status, req.reason = "rejected", reason

    def expire(self, transaction_id: str) -> None:
        """Let the request lapse now, whatever the clock says."""
        with self._lock:
            self._waiting(transaction_id).status = "expired"

    def _waiting(self, transaction_id: str) -> PhoneRequest:
        req = self.requests[transaction_id]
        if self._current(req) != "waiting":
            raise ValueError(f"request {transaction_id} is {req.status}, not waiting")
        return req

    def _current(self, req: PhoneRequest) -> str:
        if req.status == "waiting" and self.clock.now() >= req.expires_at:
            req.status = "expired"
        return req.status

    # -- HTTP ------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/certificates", self._certificates)
        app.router.add_post("/v1/signatures", self._create)
        app.router.add_get("/v1/signatures/{transaction_id}", self._status)

    def _authorised(self, request: web.Request) -> bool:
        expected = "Basic " + _b64(f"{self.client_id}:{self.client_secret}".encode())
        return request.headers.get("Authorization") == expected

    async def _json(self, request: web.Request) -> dict[str, Any] | web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorized", "wrong client id or secret")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "bad_request", "body is not JSON")
        if not isinstance(body, dict) or body.get("user_id") not in self.users:
            return _error(404, "unknown_user", "no such signer account")
        return body

    async def _certificates(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        holder = self.users[body["user_id"]]
        return web.json_response({"certificates": [
            _b64(holder.cert_der), _b64(self.pki.intermediate.cert_der),
            _b64(self.pki.root.cert_der)]})

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if isinstance(body, web.Response):
            return body
        faulty = await self._misbehave()
        if faulty is not None:
            return faulty
        try:
            digest = base64.b64decode(body["hashes"][0]["hash"], validate=True)
            transaction_id = str(body.get("transaction_id") or secrets.token_hex(16))
        except (KeyError, IndexError, TypeError, ValueError):
            return _error(400, "bad_request", "hashes[0].hash must be base64")
        if body.get("hash_algorithm") != "SHA-256" or len(digest) != 32:
            return _error(400, "bad_request", "only SHA-256 digests are accepted")
        ttl = int(body.get("expires_in") or self.request_ttl)
        expires_at = self.clock.now() + timedelta(seconds=min(ttl, self.request_ttl))
        with self._lock:
            existing = self.requests.get(transaction_id)
            if existing is None or self._current(existing) in ("rejected", "expired"):
                self.requests[transaction_id] = PhoneRequest(
                    transaction_id=transaction_id, user_id=body["user_id"],
                    description=str(body.get("description", "")), digest=digest,
                    expires_at=expires_at)
            req = self.requests[transaction_id]
        return web.json_response({"transaction_id": transaction_id, "status": req.status,
                                  "expires_at": req.expires_at.isoformat()}, status=201)

    async def _status(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "unauthorized", "wrong client id or secret")
        if self.fault in ("not-json", "error", "slow"):
            faulty = await self._misbehave()
            if faulty is not None:
                return faulty
        with self._lock:
            req = self.requests.get(request.match_info["transaction_id"])
            if req is None:
                return _error(404, "not_found", "no such transaction")
            answer: dict[str, Any] = {"transaction_id": req.transaction_id,
                                      "status": self._current(req)}
            if req.status == "done" and req.signature is not None:
                answer["signatures"] = [{"name": "signature",
                                         "signature": _b64(req.signature)}]
            if req.reason:
                answer["reason"] = req.reason
        return web.json_response(answer)


class FakeTsaService(_BackgroundServer):
    """An RFC 3161 time-stamping authority at ``{url}/tsa`` signing with ``pki.tsa``; its
    tokens carry ``clock``'s time when one is given (else the system time)."""

    def __init__(self, pki: TestPki | None = None, *, clock: Clock | None = None) -> None:
        super().__init__()
        self.pki = pki or shared_test_pki()
        self.clock = clock
        self._stamper = self.pki.timestamper()

    def __enter__(self) -> FakeTsaService:
        self.start()
        return self

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/tsa"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/tsa", self._stamp)

    async def _stamp(self, request: web.Request) -> web.Response:
        try:
            req = tsp.TimeStampReq.load(await request.read())
            _ = req.native  # parse fully now: a malformed request is the client's error
        except ValueError:
            return web.Response(status=400, text="malformed TimeStampReq")
        stamper = self._stamper if self.clock is None else \
            self.pki.timestamper(self.clock.now())
        resp = await stamper.async_request_tsa_response(req)
        return web.Response(body=resp.dump(), content_type="application/timestamp-reply")
