"""Providers' callbacks (IPN, bank notifications): verified, judged, applied, recorded.

Every callback is recorded (the review queue); only a verified one for a known order with
the right amount changes anything, and it is judged and applied in one transaction together
with the ``pay`` it completes. A replay changes nothing. A callback the engine could not
apply because a clerk changed the dossier at that moment is answered "error" so that the
provider retries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from dossier.engine.kernel import Kernel
from dossier.errors import CallbackVerificationError, DossierError, InvalidInput
from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
    MatchesCredits,
    ParsedCallback,
    PaymentGateway,
    PaymentOutcome,
    RawCallback,
    callback_verdict,
)
from dossier.payments.registry import GatewayRegistry
from dossier.payments.service.receipts import Receipts
from dossier.payments.service.settlement import (
    Settlement,
    dedup_key,
    hold_dossier,
    raw_text,
)
from dossier.records import PaymentState
from dossier.store import payments_repo as prepo
from dossier.store.database import Tx
from dossier.text import for_record

log = logging.getLogger("dossier.payments")

#: Largest callback body (or total size of a parameter mapping) parsed: real IPNs are about
#: a kilobyte; anything this large is refused before the gateway parses it.
MAX_CALLBACK_BYTES = 64 * 1024
#: Deepest JSON nesting parsed: real IPN bodies are flat or two levels deep; json.loads
#: recurses, so a body of 100,000 brackets would otherwise end in RecursionError.
MAX_CALLBACK_DEPTH = 32


def nesting_depth(body: str | bytes) -> int:
    """How deep ``[``/``{`` nest in ``body``, counted outside JSON strings in one linear scan
    (no parsing, so no recursion: this is what guards the parser)."""
    data = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D) and depth:  # ] }
            depth -= 1
    return deepest


def oversized(raw: RawCallback) -> str | None:
    """Why ``raw`` is refused before parsing (too large, too deep, or a parameter that is not
    valid text), or ``None``."""
    if isinstance(raw, bytes | bytearray):
        parts: list[str | bytes] = [bytes(raw)]
        size = len(raw)
    else:
        values = [str(v) for v in raw.values()]  # a value may be JSON (MoMo's extraData)
        parts = list(values)
        texts = [str(k) for k in raw] + values
        try:  # a lone surrogate cannot even be URL-quoted to check a signature
            size = sum(len(t.encode("utf-8")) for t in texts)
        except UnicodeEncodeError:
            return "refused before parsing: a parameter is not valid Unicode text"
    if size > MAX_CALLBACK_BYTES:
        return f"refused before parsing: {size} bytes, more than {MAX_CALLBACK_BYTES}"
    depth = max((nesting_depth(p) for p in parts), default=0)
    if depth > MAX_CALLBACK_DEPTH:
        return f"refused before parsing: JSON nested deeper than {MAX_CALLBACK_DEPTH} levels"
    return None

#: Payment states a success callback finds already settled (a replay, or settled meanwhile).
_SETTLED = (PaymentState.SUCCEEDED, PaymentState.NEEDS_REVIEW, PaymentState.REFUNDED)


class Callbacks:
    """Judges and applies providers' callbacks."""

    def __init__(self, kernel: Kernel, gateways: GatewayRegistry, settlement: Settlement,
                 receipts: Receipts) -> None:
        self.kernel = kernel
        self.gateways = gateways
        self.settlement = settlement
        self.receipts = receipts

    def handle(self, provider: str, raw: RawCallback) -> CallbackReply:
        gateway = self.gateways.get(provider)
        if not isinstance(raw, bytes | bytearray | Mapping):
            raise InvalidInput("a callback is its decoded parameters or its raw body (bytes)")
        # what is recorded must be storable whatever came: NUL and lone surrogates replaced
        text = for_record(raw_text(raw))
        now = self.kernel.now()
        # Too large or too deep is refused before the gateway parses it, answered like a bad
        # signature (the provider must not retry: the same body will never pass) and recorded
        # for review like any other bad callback.
        refused = oversized(raw)
        if refused is not None:
            self._record(provider, None, CallbackVerdict.INVALID_SIGNATURE, None, None,
                         refused, text, now)
            log.warning("%s callback rejected: %s", provider, refused)
            return gateway.reply(CallbackVerdict.INVALID_SIGNATURE)
        try:
            parsed = gateway.parse_callback(raw)
        except CallbackVerificationError as exc:
            self._record(provider, None, CallbackVerdict.INVALID_SIGNATURE, None, None,
                         str(exc), text, now)
            log.warning("%s callback rejected: %s", provider, exc)
            return gateway.reply(CallbackVerdict.INVALID_SIGNATURE)
        outsized = _outsized(parsed)
        if outsized:
            # verified, but it cannot be about a payment of ours (ours fit our columns): keep
            # it for review instead of failing on the database
            self._record(provider, None, CallbackVerdict.ORDER_NOT_FOUND, parsed.outcome.value,
                         None, f"not a payment of ours: {outsized}", text, now)
            return gateway.reply(CallbackVerdict.ORDER_NOT_FOUND)
        try:
            # a concurrent copy of the same callback inserts first: judge it again
            verdict = self.kernel.retrying(lambda tx: self._judge(tx, gateway, parsed, text,
                                                                  now))
        except DossierError as exc:  # a clerk changed the dossier at the same moment…
            self._record(provider, parsed.order_ref or None, CallbackVerdict.ERROR,
                         parsed.outcome.value, parsed.amount,
                         f"not applied, the provider will retry: {exc}", text, now)
            return gateway.reply(CallbackVerdict.ERROR)
        if verdict is CallbackVerdict.CONFIRMED and parsed.succeeded:
            # a bank credit matched on its memo has no order reference of its own
            self.receipts.issue(order_ref=parsed.order_ref or None)
        return gateway.reply(verdict)

    def _judge(self, tx: Tx, gateway: PaymentGateway, parsed: ParsedCallback, text: str,
               now: datetime) -> CallbackVerdict:
        provider = gateway.name
        stored = None
        if parsed.order_ref:
            stored = prepo.payment_by_order(tx, parsed.order_ref)
            if stored is not None and stored.record.provider != provider:
                stored = None
        if stored is None and isinstance(gateway, MatchesCredits):
            stored = self._match_credit(tx, gateway, provider, parsed)
        if stored is not None:
            # the dossier first, then the payment: the order every money decision takes
            # (a payment opened or taken at the counter at this moment waits, then sees it)
            hold_dossier(self.kernel, tx, stored.record.dossier_code)
            stored = prepo.payment_by_order(tx, stored.record.order_ref,
                                            lock=not self.kernel.db.is_sqlite)
        p = stored.record if stored is not None else None
        amount_ok = p is not None and parsed.amount == p.amount and \
            (parsed.currency is None or parsed.currency.upper() == p.currency)
        duplicate = prepo.callback_seen(tx, dedup_key(parsed))
        settled = p is not None and (p.state is not PaymentState.PENDING
                                     if not parsed.succeeded else p.state in _SETTLED)
        verdict = callback_verdict(signature_valid=True, order_found=p is not None,
                                   amount_matches=amount_ok,
                                   already_confirmed=duplicate or settled)
        reason = {
            CallbackVerdict.ORDER_NOT_FOUND: "no payment of ours has this order reference",
            CallbackVerdict.AMOUNT_MISMATCH: (
                f"the callback says {parsed.amount} {parsed.currency or 'VND'}, the order is "
                f"{p.amount} {p.currency}" if p is not None else ""),
            CallbackVerdict.ALREADY_PROCESSED: "a replay, or the payment was already settled",
        }.get(verdict, "")
        dedup = None
        if verdict is CallbackVerdict.CONFIRMED:
            assert stored is not None
            dedup = dedup_key(parsed)
            reason = self._apply(tx, stored, parsed, now)
        prepo.insert_callback(tx, provider=provider, order_ref=p.order_ref if p else
                              (parsed.order_ref or None), payment_id=stored.id if stored
                              else None, dedup_key=dedup, verdict=verdict.value,
                              outcome=parsed.outcome.value, amount=parsed.amount,
                              reason=reason, raw=text, at=now)
        log.info("%s callback for %s: %s", provider, p.order_ref if p else "unknown order",
                 verdict.value)
        return verdict

    def _apply(self, tx: Tx, stored: prepo.StoredPayment, parsed: ParsedCallback,
               now: datetime) -> str:
        p = stored.record
        provider_ref = parsed.provider_ref or p.provider_ref
        if parsed.outcome is PaymentOutcome.FAILED:
            prepo.update_payment(tx, stored.id, PaymentState.PENDING, now,
                                 state=PaymentState.FAILED, provider_ref=provider_ref)
            return f"failed at the provider (code {parsed.response_code})"
        if not parsed.succeeded:
            return f"the provider reports {parsed.outcome.value}; nothing changes"
        paid_at = parsed.paid_at or now
        if p.state is not PaymentState.PENDING:  # paid after it expired, failed or was cancelled
            reason = f"paid after the payment was {p.state}; the money moved: refund or apply it"
            prepo.update_payment(tx, stored.id, p.state, now, state=PaymentState.NEEDS_REVIEW,
                                 paid_at=paid_at, provider_ref=provider_ref,
                                 review_reason=reason)
            log.warning("%s payment %s needs review: paid after it was %s", p.dossier_code,
                        p.order_ref, p.state)
            return reason
        return self.settlement.succeed(tx, stored, provider_ref=provider_ref, paid_at=paid_at,
                                       method=p.method, now=now)

    def _match_credit(self, tx: Tx, gateway: MatchesCredits, provider: str,
                      parsed: ParsedCallback) -> prepo.StoredPayment | None:
        """A credit whose memo names no order we know: let the gateway match it among our
        pending payments of that provider."""
        pending = {s.record.order_ref: s
                   for s in prepo.payments_by_state(tx, provider, PaymentState.PENDING)}
        found = gateway.match_credit(parsed, {ref: s.record.amount
                                              for ref, s in pending.items()})
        return pending.get(found) if found is not None else None

    def _record(self, provider: str, order_ref: str | None, verdict: CallbackVerdict,
                outcome: str | None, amount: int | None, reason: str, text: str,
                now: datetime) -> None:
        with self.kernel.transaction() as tx:
            prepo.insert_callback(tx, provider=provider, order_ref=order_ref, payment_id=None,
                                  dedup_key=None, verdict=verdict.value, outcome=outcome,
                                  amount=amount, reason=reason, raw=text, at=now)


#: What a callback may carry to be about one of our payments: the columns' sizes
#: (``payments.order_ref``, ``provider_ref``) and amounts a BIGINT holds with room to spare.
_MAX_ORDER_REF, _MAX_PROVIDER_REF, _MAX_AMOUNT = 64, 128, 10**15


def _outsized(parsed: ParsedCallback) -> str:
    """Why a verified callback cannot be about a payment of ours ("" when it can be)."""
    if len(parsed.order_ref or "") > _MAX_ORDER_REF:
        return f"an order reference longer than {_MAX_ORDER_REF} characters"
    if len(parsed.provider_ref or "") > _MAX_PROVIDER_REF:
        return f"a provider reference longer than {_MAX_PROVIDER_REF} characters"
    if not 0 <= parsed.amount <= _MAX_AMOUNT:
        return "an amount no fee can have"
    return ""
