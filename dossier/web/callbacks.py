"""Endpoints that payment gateways and remote signers call, and the page a payer returns to.

* ``GET|POST /payments/{provider}/ipn`` hands the call to
  :meth:`~dossier.engine.Engine.handle_payment_callback` and answers exactly what the
  gateway's :class:`~dossier.payments.base.CallbackReply` says (VNPay's ``RspCode`` JSON,
  MoMo's 204…). Query parameters and form posts go as decoded parameters, any other body
  (MoMo's JSON) as raw bytes, at most ``max_callback_bytes``.
* ``GET /payments/{provider}/return`` shows the payer what the provider says about the
  payment, verified by the gateway; it changes nothing (the IPN does).
* ``POST /signing/{provider}/callback`` with ``transaction_id`` (JSON, form or query): a
  remote signer says a request changed; the engine then asks the signing service itself,
  so the call proves nothing and needs no secret.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dossier.errors import CallbackVerificationError, InvalidInput
from dossier.payments.base import PaymentOutcome, RawCallback
from dossier.web import serialise
from dossier.web.context import call, context
from dossier.web.pages import render
from dossier.web.problems import BadRequest, NotFound
from dossier.web.security import read_body

_FORM = "application/x-www-form-urlencoded"
_TRANSACTION_KEYS = ("transaction_id", "transactionId", "tranId")


def _provider(request: Request) -> str:
    provider = str(request.path_params["provider"])
    if provider not in context(request).engine.gateways:
        raise NotFound(f"no payment provider {provider!r} is configured here")
    return provider


async def _raw_callback(request: Request) -> RawCallback:
    if request.method == "GET":
        return dict(request.query_params)
    body = await read_body(request, context(request).settings.max_callback_bytes)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == _FORM:
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return body  # the gateway refuses it and the engine records it for review
    return body


async def ipn(request: Request) -> Response:
    provider = _provider(request)
    raw = await _raw_callback(request)
    reply = await call(context(request).engine.handle_payment_callback, provider, raw)
    return Response(reply.body, status_code=reply.status, media_type=reply.content_type,
                    headers={"Cache-Control": "no-store"})


async def payment_return(request: Request) -> Response:
    provider = _provider(request)
    gateway = context(request).engine.gateways.get(provider)
    try:
        parsed = await call(gateway.parse_callback, dict(request.query_params))
    except CallbackVerificationError:
        return render(request, "thanh-toan.html.j2", {"verified": False}, status=400)
    return render(request, "thanh-toan.html.j2", {
        "verified": True, "succeeded": parsed.outcome is PaymentOutcome.SUCCEEDED,
        "pending": parsed.outcome is PaymentOutcome.PENDING, "amount": parsed.amount,
        "order_ref": parsed.order_ref, "provider": provider})


async def signature_callback(request: Request) -> Response:
    provider = str(request.path_params["provider"])
    transaction = await _transaction_id(request)
    try:
        found = await call(context(request).engine.signature_callback, provider, transaction)
    except InvalidInput:
        raise NotFound(f"no signature request {transaction!r} of signer {provider!r}") \
            from None
    return JSONResponse(serialise.signature_request(found),
                        headers={"Cache-Control": "no-store"})


async def _transaction_id(request: Request) -> str:
    body = await read_body(request, context(request).settings.max_callback_bytes)
    fields: dict[str, Any] = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind == _FORM:
            fields.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        elif body.strip():
            value = json.loads(body)
            if isinstance(value, dict):
                fields.update(value)
    except (ValueError, RecursionError):
        raise BadRequest("the body must be JSON or form fields") from None
    for key in _TRANSACTION_KEYS:
        value = fields.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            text = str(value)
            if len(text) > 200:
                raise BadRequest("transaction_id is too long")
            return text
    raise BadRequest("send the signing service's transaction_id")


ROUTES = [
    Route("/payments/{provider}/ipn", ipn, methods=["GET", "POST"]),
    Route("/payments/{provider}/return", payment_return, methods=["GET"]),
    Route("/signing/{provider}/callback", signature_callback, methods=["POST"]),
]
