"""VietQR bank transfer (Napas 247): the EMVCo QR payload, and confirmation by bank credit.

**Payload** (EMVCo merchant-presented mode as profiled by Napas; tags in this order)::

    00 "01"                payload format
    01 "11" | "12"         static, or dynamic when an amount is set
    38                     merchant account information
       00 "A000000727"     Napas GUID
       01                  beneficiary: 00 bank BIN (6 digits), 01 account or card number
       02 "QRIBFTTA"       transfer to an account ("QRIBFTTC": to a card)
    53 "704"               currency VND
    54 amount              whole VND, only when set
    58 "VN"                country
    62                     additional data: 08 purpose of transaction = our transfer memo
    63 CRC                 CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything
                           before it *including* "6304", as 4 upper-case hex digits

The memo is the order reference (≤ 25 characters, ASCII): banks keep only ASCII in a memo
and the EMVCo purpose field is at most 25 long, so the dossier code travels inside the order
reference (:func:`~dossier.payments.base.make_order_ref`).

**Confirmation.** Napas has no payment callback: the money shows up as a credit on the
agency's account, reported by the bank or an aggregator's balance-notification webhook
("biến động số dư"). Banks mangle memos (case, spaces, dots, prefixes such as ``MBVCB.1234.``),
so :func:`match_bank_credit` normalises before looking for the reference.

Assumed notification layout (the common aggregator shape; configure the field names and
check them against your bank's specification before going live)::

    {"data": {"accountNumber": "0011001932418", "amount": 50000,
              "description": "MBVCB.123.0000012H122601010001P01.CT tu ...",
              "reference": "FT26005123456", "transactionDateTime": "2026-01-05 10:21:07",
              "currency": "VND"},
     "signature": "<hex HMAC-SHA256>"}

``signature`` = HMAC-SHA256 (hex) of the ``data`` fields sorted by name, joined as ``k=v&…``
with raw values (``null`` as empty); times without an offset are GMT+7.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from dossier.errors import CallbackVerificationError, InvalidInput
from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
    ParsedCallback,
    PaymentInstructions,
    PaymentOutcome,
    PaymentRequest,
    PaymentStatus,
    RawCallback,
    RefundOutcome,
    RefundRequest,
    RefundResult,
    StatusQuery,
)
from dossier.payments.crypto import GMT7, SecretPair, ascii_fold, hmac_hex, verify_hmac
from dossier.payments.memo import memo_contains, normalise_memo

NAPAS_GUID = "A000000727"
SERVICES = ("QRIBFTTA", "QRIBFTTC")
MEMO_MAX = 25


# --- EMVCo payload ----------------------------------------------------------------------

def crc16_ccitt_false(data: str) -> str:
    """CRC-16/CCITT-FALSE of the UTF-8 bytes of ``data``, as 4 upper-case hex digits."""
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    """One EMVCo data object: 2-digit tag, 2-digit length, value."""
    if len(value) > 99:
        raise InvalidInput(f"VietQR field {tag} is {len(value)} characters; at most 99 fit")
    return f"{tag}{len(value):02d}{value}"


def build_payload(*, bank_bin: str, account: str, amount: int | None = None,
                  memo: str | None = None, service: str = "QRIBFTTA") -> str:
    """The VietQR string for a transfer to ``account`` at the bank with ``bank_bin``."""
    if not (len(bank_bin) == 6 and bank_bin.isdigit()):
        raise InvalidInput(f"bank BIN must be 6 digits, got {bank_bin!r}")
    if not account or len(account) > 19 or not account.isalnum():
        raise InvalidInput("account/card number must be 1-19 letters or digits")
    if service not in SERVICES:
        raise InvalidInput(f"VietQR service must be one of {SERVICES}, got {service!r}")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)
                               or amount <= 0):
        raise InvalidInput(f"VietQR amount must be a positive integer number of VND, "
                           f"got {amount!r}")
    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", service)
    parts = [tlv("00", "01"), tlv("01", "12" if amount is not None else "11"),
             tlv("38", merchant), tlv("53", "704")]
    if amount is not None:
        parts.append(tlv("54", str(amount)))
    parts.append(tlv("58", "VN"))
    if memo:
        clean = ascii_fold(memo).strip()
        if len(clean) > MEMO_MAX:
            raise InvalidInput(f"VietQR memo is {len(clean)} characters; at most {MEMO_MAX} "
                               "fit, so use the compact order reference")
        parts.append(tlv("62", tlv("08", clean)))
    body = "".join(parts) + "6304"
    return body + crc16_ccitt_false(body)


@dataclass(frozen=True, kw_only=True)
class VietQrPayload:
    """A parsed, CRC-checked VietQR string."""

    dynamic: bool
    bank_bin: str
    account: str
    service: str
    currency: str
    country: str
    amount: int | None = None
    memo: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict, repr=False)


def split_tlv(data: str) -> dict[str, str]:
    """Tag → value of a run of EMVCo data objects; :class:`InvalidInput` if it is cut short."""
    out: dict[str, str] = {}
    position = 0
    while position < len(data):
        head = data[position:position + 4]
        if len(head) < 4 or not head.isdigit():
            raise InvalidInput(f"VietQR data is malformed at position {position}")
        length = int(head[2:])
        value = data[position + 4:position + 4 + length]
        if len(value) != length:
            raise InvalidInput(f"VietQR field {head[:2]} is cut short")
        out[head[:2]] = value
        position += 4 + length
    return out


def parse_payload(payload: str) -> VietQrPayload:
    """Check the CRC and read a VietQR string; :class:`InvalidInput` if it is not one."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise InvalidInput("not a VietQR payload: it must end with the CRC field 6304XXXX")
    expected = crc16_ccitt_false(payload[:-4])
    if payload[-4:].upper() != expected:
        raise InvalidInput("VietQR payload CRC does not match; the code is damaged")
    tags = split_tlv(payload[:-8])
    if tags.get("00") != "01" or "38" not in tags:
        raise InvalidInput("VietQR payload lacks the format indicator or tag 38")
    merchant = split_tlv(tags["38"])
    if merchant.get("00") != NAPAS_GUID:
        raise InvalidInput("VietQR tag 38 is not a Napas (A000000727) account")
    beneficiary = split_tlv(merchant.get("01", ""))
    extra = split_tlv(tags.get("62", ""))
    amount_text = tags.get("54")
    if amount_text is not None and not amount_text.isdigit():
        raise InvalidInput("VietQR amount is not a whole number of VND")
    return VietQrPayload(
        dynamic=tags.get("01") == "12", bank_bin=beneficiary.get("00", ""),
        account=beneficiary.get("01", ""), service=merchant.get("02", ""),
        currency=tags.get("53", ""), country=tags.get("58", ""),
        amount=int(amount_text) if amount_text is not None else None,
        memo=extra.get("08"), tags=tags)


# --- matching a bank credit to what we expect ----------------------------------------------

@dataclass(frozen=True, kw_only=True)
class BankCredit:
    """One credit on the agency's account, as a bank notification or statement reports it."""

    account: str
    amount: int
    memo: str
    reference: str
    credited_at: datetime | None = None
    currency: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExpectedCredit:
    """A payment we wait for: the reference to find in the memo and the amount due."""

    reference: str
    amount: int


class MatchStatus(StrEnum):
    MATCHED = "matched"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNMATCHED = "unmatched"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True, kw_only=True)
class CreditMatch:
    """What :func:`match_bank_credit` found: the expected payment, or why there is none."""

    status: MatchStatus
    expected: ExpectedCredit | None = None
    candidates: tuple[ExpectedCredit, ...] = ()


def match_bank_credit(credit: BankCredit, expected: Sequence[ExpectedCredit]) -> CreditMatch:
    """Find which expected payment a bank credit pays: by reference in the memo, then amount."""
    found = tuple(item for item in expected if memo_contains(credit.memo, item.reference))
    if not found:
        return CreditMatch(status=MatchStatus.UNMATCHED)
    exact = tuple(item for item in found if item.amount == credit.amount)
    if len(exact) == 1:
        return CreditMatch(status=MatchStatus.MATCHED, expected=exact[0], candidates=found)
    if len(exact) > 1:
        return CreditMatch(status=MatchStatus.AMBIGUOUS, candidates=exact)
    if len(found) == 1:
        return CreditMatch(status=MatchStatus.AMOUNT_MISMATCH, expected=found[0],
                           candidates=found)
    return CreditMatch(status=MatchStatus.AMBIGUOUS, candidates=found)


# --- the gateway ----------------------------------------------------------------------------

#: An order reference as :func:`~dossier.payments.base.make_order_ref` makes it.
ORDER_REF_IN_MEMO = re.compile(r"(?<![0-9A-Z])([0-9A-Z]{4,40}P[0-9]{2})(?![0-9])")


@dataclass(frozen=True, kw_only=True)
class VietQrConfig:
    """The agency's receiving account and the notification webhook's secret(s)."""

    bank_bin: str
    account: str
    notification_secrets: SecretPair
    account_name: str = ""
    service: str = "QRIBFTTA"
    order_ref_pattern: re.Pattern[str] = ORDER_REF_IN_MEMO

    @property
    def merchant_id(self) -> str:
        return f"{self.bank_bin}:{self.account}"


def notification_message(data: Mapping[str, Any]) -> str:
    """The string the notification's HMAC covers: ``data`` keys sorted, ``k=v&…``."""
    return "&".join(f"{key}={'' if data[key] is None else data[key]}" for key in sorted(data))


def sign_notification(data: Mapping[str, Any], secret: str) -> str:
    """Hex HMAC-SHA256 of :func:`notification_message` (what the bank/aggregator sends)."""
    return hmac_hex(secret, notification_message(data), hashlib.sha256)


class VietQrGateway:
    """:class:`~dossier.payments.base.PaymentGateway` for VietQR transfers to one account."""

    def __init__(self, config: VietQrConfig, *, name: str = "vietqr") -> None:
        self.config = config
        self._name = name
        build_payload(bank_bin=config.bank_bin, account=config.account,
                      service=config.service)  # validates the account once

    @property
    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"VietQrGateway(bank_bin={self.config.bank_bin!r}, name={self._name!r})"

    def create(self, request: PaymentRequest) -> PaymentInstructions:
        payload = build_payload(bank_bin=self.config.bank_bin, account=self.config.account,
                                amount=request.amount, memo=request.order_ref,
                                service=self.config.service)
        payee = f" ({self.config.account_name})" if self.config.account_name else ""
        return PaymentInstructions(
            provider=self.name, order_ref=request.order_ref, amount=request.amount,
            expires_at=request.expires_at, qr_payload=payload,
            counter_instructions=(f"Chuyển khoản {request.amount} đồng tới tài khoản "
                                  f"{self.config.account}{payee}, ngân hàng BIN "
                                  f"{self.config.bank_bin}, nội dung: {request.order_ref}"))

    def parse_notification(self, raw: RawCallback) -> BankCredit:
        """Verify a balance notification's HMAC and account; read the credit."""
        envelope = _json_object(raw)
        data = envelope.get("data")
        signature = envelope.get("signature")
        if not isinstance(data, dict) or not isinstance(signature, str):
            raise CallbackVerificationError("bank notification lacks 'data' or 'signature'")
        if not verify_hmac(self.config.notification_secrets, notification_message(data),
                           signature, hashlib.sha256):
            raise CallbackVerificationError("bank notification signature does not match; "
                                            "record it for review")
        account = str(data.get("accountNumber", ""))
        if account != self.config.account:
            raise CallbackVerificationError(f"bank notification is for account {account!r}, "
                                            "not ours; record it for review")
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | str) \
                or not str(amount).isdigit():
            raise CallbackVerificationError("bank notification amount is not whole VND")
        return BankCredit(account=account, amount=int(amount),
                          memo=str(data.get("description", "")),
                          reference=str(data.get("reference", "")),
                          credited_at=_local_time(data.get("transactionDateTime")),
                          currency=str(data["currency"]) if data.get("currency") else None)

    def parse_callback(self, raw: RawCallback) -> ParsedCallback:
        """A verified credit as a callback; ``order_ref`` is empty when the memo has none."""
        credit = self.parse_notification(raw)
        found = self.config.order_ref_pattern.search(normalise_memo(credit.memo))
        return ParsedCallback(
            provider=self.name, order_ref=found.group(1) if found else "",
            amount=credit.amount, outcome=PaymentOutcome.SUCCEEDED,
            provider_ref=credit.reference, response_code="credit",
            merchant_id=self.config.merchant_id, currency=credit.currency,
            paid_at=credit.credited_at, message=credit.memo, method="bank_transfer",
            raw={"memo": credit.memo, "reference": credit.reference,
                 "amount": str(credit.amount)})

    def match_credit(self, callback: ParsedCallback,
                     expected: Mapping[str, int]) -> str | None:
        """The pending transfer a credit pays, matched on its memo then amount (see
        :func:`match_bank_credit`); an amount mismatch still names the order, so the engine
        records the wrong amount against it."""
        credit = BankCredit(account=callback.merchant_id, amount=callback.amount,
                            memo=callback.message, reference=callback.provider_ref,
                            currency=callback.currency)
        match = match_bank_credit(credit, [ExpectedCredit(reference=ref, amount=amount)
                                           for ref, amount in expected.items()])
        if match.status in (MatchStatus.MATCHED, MatchStatus.AMOUNT_MISMATCH) \
                and match.expected is not None:
            return match.expected.reference
        return None

    def reply(self, verdict: CallbackVerdict) -> CallbackReply:
        if verdict is CallbackVerdict.INVALID_SIGNATURE:
            return CallbackReply.json({"success": False, "error": "invalid signature"}, 401)
        if verdict is CallbackVerdict.ERROR:
            return CallbackReply.json({"success": False, "error": "retry later"}, 500)
        return CallbackReply.json({"success": True})

    def query(self, query: StatusQuery) -> PaymentStatus:
        # Napas has no status API: a credit we have not been told about does not exist for us.
        return PaymentStatus(order_ref=query.order_ref, outcome=PaymentOutcome.NOT_FOUND,
                             message="VietQR has no status API; confirmation comes only "
                                     "from bank notifications or the statement")

    def refund(self, request: RefundRequest) -> RefundResult:
        return RefundResult(refund_ref=request.refund_ref, outcome=RefundOutcome.PENDING,
                            amount=request.amount,
                            message="transfer the amount back to the payer's account by hand "
                                    "and confirm the refund")


def _json_object(raw: RawCallback) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray):
        try:
            value = json.loads(bytes(raw).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CallbackVerificationError("bank notification body is not JSON") from exc
    else:
        value = dict(raw)
    if not isinstance(value, dict):
        raise CallbackVerificationError("bank notification is not a JSON object")
    return value


def _local_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CallbackVerificationError(f"bank notification time {value!r} is not "
                                        "ISO 8601") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=GMT7)).astimezone(UTC)
