"""VNPay 2.1.0: published and pinned hash vectors, IPN rules, querydr/refund, rotation."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.errors import CallbackVerificationError, InvalidInput, PaymentError
from dossier.payments import (
    CallbackVerdict,
    FakeProviderService,
    PaymentOutcome,
    PaymentRequest,
    RefundOutcome,
    RefundRequest,
    SecretPair,
    StatusQuery,
    VnpayConfig,
    VnpayGateway,
    ipn_verdict,
    vnpay,
)
from dossier.payments.crypto import gmt7_stamp
from dossier.payments.fake import demo_vnpay_config
from dossier.payments.transport import HttpResponse

FAST = settings(max_examples=60, deadline=None)
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)

# PUBLISHED (third-party) vector: the IPN fixture of the open-source `vnpay` npm library's test
# suite (github.com/lehuygiang28/vnpay, test/verify-ipn-call.test.ts), secret "test_secret".
# Independent implementation, same bytes: it pins the sort/encode/HMAC-SHA512 algorithm.
LEHUYGIANG_IPN = {
    "vnp_Amount": "1000000", "vnp_BankCode": "NCB", "vnp_BankTranNo": "VNP14422574",
    "vnp_CardType": "ATM", "vnp_OrderInfo": "Thanh toan don hang 2024-05-21T02:17:31.249Z",
    "vnp_PayDate": "20240521091806", "vnp_ResponseCode": "00", "vnp_TmnCode": "TEST_TMN_CODE",
    "vnp_TransactionNo": "14422574", "vnp_TransactionStatus": "00",
    "vnp_TxnRef": "1716257871703",
    "vnp_SecureHash": "649982421beb422556a1374713c74e58e716ecbd05007c0c0e1f7effdfaf361d"
                      "bf146889ca446139afe11b9954c4d5c486e99e3b86fcfab6957f29eb0be72895",
}
LEHUYGIANG_FAILED_HASH = ("503194f6d93b57b357b2d1d09742565e67e86d771352c5dca4fc8d39df3d392c"
                          "6b3809add9405f97cfb9631f445e36c80656cfbf47eac67d97fa165865c13e1b")


def gateway(config: VnpayConfig | None = None, **kwargs: Any) -> VnpayGateway:
    return VnpayGateway(config or demo_vnpay_config(), **kwargs)


def request(**changes: Any) -> PaymentRequest:
    values: dict[str, Any] = dict(
        order_ref="0000012H122601050001P01", amount=50_000,
        description="Lệ phí hồ sơ 000.00.12.H12-260105-0001", created_at=NOW,
        expires_at=NOW + timedelta(minutes=15), client_ip="203.0.113.7",
        return_url="https://dossier.example/payments/vnpay/return")
    values.update(changes)
    return PaymentRequest(**values)


def url_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_published_ipn_vector_verifies() -> None:
    config = VnpayConfig(tmn_code="TEST_TMN_CODE", secrets=SecretPair(primary="test_secret"))
    parsed = gateway(config).parse_callback(LEHUYGIANG_IPN)
    assert parsed.succeeded
    assert (parsed.order_ref, parsed.amount, parsed.provider_ref) == (
        "1716257871703", 10_000, "14422574")
    assert parsed.paid_at == datetime(2024, 5, 21, 2, 18, 6, tzinfo=UTC)


def test_published_failed_ipn_vector_verifies_as_a_failure() -> None:
    config = VnpayConfig(tmn_code="TEST_TMN_CODE", secrets=SecretPair(primary="test_secret"))
    params = {**LEHUYGIANG_IPN, "vnp_ResponseCode": "99",
              "vnp_SecureHash": LEHUYGIANG_FAILED_HASH}
    parsed = gateway(config).parse_callback(params)
    assert parsed.outcome is PaymentOutcome.FAILED
    assert parsed.paid_at is None


PINNED_URL_HASH = ("cb1532c5562d516a575b35d5923557d92f8d13606d4da9db1ff6b3f759ef240b"
                   "736f22e1d9824280f8c8d093f57b348031effde0c8a9f560a4d09275c0056001")


def test_payment_url_is_pinned() -> None:
    # SELF-COMPUTED vector (secret "fake-vnpay-secret"), pinned so any change to parameter
    # order, encoding or hashing shows up.
    url = gateway().create(request()).redirect_url
    assert url == (
        "https://vnpay.fake.invalid/paymentv2/vpcpay.html?vnp_Amount=5000000&vnp_Command=pay"
        "&vnp_CreateDate=20260105100000&vnp_CurrCode=VND&vnp_ExpireDate=20260105101500"
        "&vnp_IpAddr=203.0.113.7&vnp_Locale=vn"
        "&vnp_OrderInfo=Le+phi+ho+so+000.00.12.H12-260105-0001&vnp_OrderType=other"
        "&vnp_ReturnUrl=https%3A%2F%2Fdossier.example%2Fpayments%2Fvnpay%2Freturn"
        "&vnp_TmnCode=FAKEVNP1&vnp_TxnRef=0000012H122601050001P01&vnp_Version=2.1.0"
        "&vnp_SecureHash=" + PINNED_URL_HASH)


def test_payment_url_hash_is_hmac_sha512_of_the_query_before_it() -> None:
    url = gateway().create(request()).redirect_url
    assert url is not None
    query, digest = urlsplit(url).query.rsplit("&vnp_SecureHash=", 1)
    assert digest == hmac.new(b"fake-vnpay-secret", query.encode(), hashlib.sha512).hexdigest()


@pytest.mark.parametrize(("vnd", "sent"), [(1, "100"), (50_000, "5000000"),
                                           (1_005_000, "100500000")])
def test_amount_goes_out_times_100(vnd: int, sent: str) -> None:
    assert url_params(gateway().create(request(amount=vnd)).redirect_url or "")[
        "vnp_Amount"] == sent


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Asia/Ho_Chi_Minh"), ZoneInfo("Europe/Paris"),
                                  ZoneInfo("America/Los_Angeles"), timezone(timedelta(hours=14))])
def test_times_are_gmt7_whatever_the_zone_of_the_datetime(zone: Any) -> None:
    created = NOW.astimezone(zone)
    params = url_params(gateway().create(request(
        created_at=created, expires_at=created + timedelta(hours=10))).redirect_url or "")
    assert params["vnp_CreateDate"] == "20260105100000"
    assert params["vnp_ExpireDate"] == "20260105200000"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        request(created_at=datetime(2026, 1, 5, 10, 0))  # noqa: DTZ001
    with pytest.raises(InvalidInput):
        gmt7_stamp(datetime(2026, 1, 5, 10, 0))  # noqa: DTZ001


def test_order_info_is_folded_to_ascii_without_special_characters() -> None:
    assert vnpay.order_info("Lệ phí đăng ký <hộ tịch> & \"x\"") == "Le phi dang ky ho tich x"


def test_encoding_matches_php_urlencode() -> None:
    assert vnpay.encode("a b~c*d/é") == "a+b%7Ec%2Ad%2F%C3%A9"


def test_empty_values_are_left_out_of_hash_and_url() -> None:
    assert "vnp_BankCode" not in url_params(gateway().create(request()).redirect_url or "")


def signed_ipn(config: VnpayConfig, **changes: str) -> dict[str, str]:
    params = {"vnp_Amount": "5000000", "vnp_BankCode": "NCB", "vnp_CardType": "ATM",
              "vnp_OrderInfo": "Le phi ho so", "vnp_PayDate": "20260105100200",
              "vnp_ResponseCode": "00", "vnp_TmnCode": config.tmn_code,
              "vnp_TransactionNo": "14000001", "vnp_TransactionStatus": "00",
              "vnp_TxnRef": "0000012H122601050001P01", **changes}
    params["vnp_SecureHash"] = vnpay.secure_hash(params, config.secrets.primary)
    return params


def test_ipn_from_raw_query_bytes_parses_like_the_mapping() -> None:
    config = demo_vnpay_config()
    params = signed_ipn(config)
    raw = "&".join(f"{k}={vnpay.encode(v)}" for k, v in params.items()).encode()
    assert gateway(config).parse_callback(raw) == gateway(config).parse_callback(params)


def test_secure_hash_type_and_foreign_parameters_are_not_hashed() -> None:
    config = demo_vnpay_config()
    params = {**signed_ipn(config), "vnp_SecureHashType": "HmacSHA512", "utm_source": "x"}
    assert gateway(config).parse_callback(params).succeeded


def test_uppercase_hex_hash_is_accepted() -> None:
    config = demo_vnpay_config()
    params = signed_ipn(config)
    params["vnp_SecureHash"] = params["vnp_SecureHash"].upper()
    assert gateway(config).parse_callback(params).succeeded


def test_a_correctly_signed_ipn_for_another_terminal_is_rejected() -> None:
    config = demo_vnpay_config()
    with pytest.raises(CallbackVerificationError, match="terminal"):
        gateway(config).parse_callback(signed_ipn(config, vnp_TmnCode="OTHERTMN"))


def test_an_amount_not_in_whole_dong_is_rejected() -> None:
    config = demo_vnpay_config()
    with pytest.raises(CallbackVerificationError, match="VND"):
        gateway(config).parse_callback(signed_ipn(config, vnp_Amount="5000050"))


def test_a_success_code_with_a_failed_transaction_status_is_a_failure() -> None:
    config = demo_vnpay_config()
    parsed = gateway(config).parse_callback(signed_ipn(config, vnp_TransactionStatus="02"))
    assert parsed.outcome is PaymentOutcome.FAILED


SIGNED_FIELDS = sorted(signed_ipn(demo_vnpay_config()))


@FAST
@given(field=st.sampled_from([f for f in SIGNED_FIELDS if f != "vnp_SecureHash"]),
       value=st.text(min_size=1, max_size=20))
def test_changing_any_single_signed_field_is_rejected(field: str, value: str) -> None:
    config = demo_vnpay_config()
    params = signed_ipn(config)
    if params[field] == value:
        return
    params[field] = value
    with pytest.raises(CallbackVerificationError):
        gateway(config).parse_callback(params)


@FAST
@given(position=st.integers(0, 127), char=st.sampled_from("0123456789abcdef"))
def test_changing_any_character_of_the_hash_is_rejected(position: int, char: str) -> None:
    config = demo_vnpay_config()
    params = signed_ipn(config)
    digest = params["vnp_SecureHash"]
    if digest[position] == char:
        return
    params["vnp_SecureHash"] = digest[:position] + char + digest[position + 1:]
    with pytest.raises(CallbackVerificationError):
        gateway(config).parse_callback(params)


def test_rotation_accepts_the_previous_secret_and_signs_with_the_new() -> None:
    old = demo_vnpay_config()
    rotated = VnpayConfig(tmn_code=old.tmn_code, pay_url=old.pay_url, api_url=old.api_url,
                          secrets=SecretPair(primary="new-secret", previous=old.secrets.primary))
    assert gateway(rotated).parse_callback(signed_ipn(old)).succeeded
    url = gateway(rotated).create(request()).redirect_url or ""
    query, digest = urlsplit(url).query.rsplit("&vnp_SecureHash=", 1)
    assert digest == hmac.new(b"new-secret", query.encode(), hashlib.sha512).hexdigest()
    retired = VnpayConfig(tmn_code=old.tmn_code, secrets=SecretPair(primary="new-secret"))
    with pytest.raises(CallbackVerificationError):
        gateway(retired).parse_callback(signed_ipn(old))


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    config = demo_vnpay_config()
    gateway(config).parse_callback(signed_ipn(config))
    assert calls


IPN_ORDER = [("signature_valid", CallbackVerdict.INVALID_SIGNATURE),
             ("order_found", CallbackVerdict.ORDER_NOT_FOUND),
             ("amount_matches", CallbackVerdict.AMOUNT_MISMATCH)]


@pytest.mark.parametrize("facts", list(itertools.product([True, False], repeat=4)))
def test_ipn_checks_run_in_the_documented_order(facts: tuple[bool, ...]) -> None:
    signature_valid, order_found, amount_matches, already = facts
    expected = CallbackVerdict.ALREADY_PROCESSED if already else CallbackVerdict.CONFIRMED
    for name, verdict in reversed(IPN_ORDER):
        if not dict(zip(["signature_valid", "order_found", "amount_matches"],
                        facts[:3], strict=True))[name]:
            expected = verdict
    assert ipn_verdict(signature_valid=signature_valid, order_found=order_found,
                       amount_matches=amount_matches, already_confirmed=already) is expected


@pytest.mark.parametrize(("verdict", "code"), [
    (CallbackVerdict.CONFIRMED, "00"), (CallbackVerdict.ORDER_NOT_FOUND, "01"),
    (CallbackVerdict.ALREADY_PROCESSED, "02"), (CallbackVerdict.AMOUNT_MISMATCH, "04"),
    (CallbackVerdict.INVALID_SIGNATURE, "97"), (CallbackVerdict.ERROR, "99")])
def test_ipn_reply_is_the_documented_json(verdict: CallbackVerdict, code: str) -> None:
    reply = gateway().reply(verdict)
    assert (reply.status, reply.content_type) == (200, "application/json")
    assert json.loads(reply.body)["RspCode"] == code
    if verdict is CallbackVerdict.CONFIRMED:
        assert reply.body == b'{"RspCode":"00","Message":"Confirm Success"}'


def test_querydr_request_hash_is_pinned() -> None:
    # SELF-COMPUTED vector: pipe-joined fields in the documented order, HMAC-SHA512.
    body = gateway().query_body(StatusQuery(
        order_ref="0000012H122601050001P01", request_id="Q20260105001",
        payment_created_at=NOW, requested_at=NOW + timedelta(hours=1), client_ip="10.0.0.1"))
    data = ("Q20260105001|2.1.0|querydr|FAKEVNP1|0000012H122601050001P01|20260105100000|"
            "20260105110000|10.0.0.1|query")
    assert vnpay.pipe_data(body, vnpay.QUERYDR_FIELDS) == data
    assert body["vnp_SecureHash"] == hmac.new(b"fake-vnpay-secret", data.encode(),
                                              hashlib.sha512).hexdigest()


def test_refund_request_is_partial_or_full_with_amount_times_100() -> None:
    def body(amount: int) -> dict[str, str]:
        return gateway().refund_body(RefundRequest(
            order_ref="0000012H122601050001P01", refund_ref="RF1", amount=amount,
            paid_amount=50_000, provider_ref="14000001", payment_created_at=NOW,
            requested_at=NOW + timedelta(days=1), requested_by="nv01", reason="Tu choi"))

    partial, full = body(20_000), body(50_000)
    assert (partial["vnp_TransactionType"], partial["vnp_Amount"]) == ("03", "2000000")
    assert (full["vnp_TransactionType"], full["vnp_Amount"]) == ("02", "5000000")
    data = ("RF1|2.1.0|refund|FAKEVNP1|03|0000012H122601050001P01|2000000|14000001|"
            "20260105100000|nv01|20260106100000|127.0.0.1|Tu choi")
    assert vnpay.pipe_data(partial, vnpay.REFUND_FIELDS) == data
    assert partial["vnp_SecureHash"] == hmac.new(b"fake-vnpay-secret", data.encode(),
                                                 hashlib.sha512).hexdigest()


def paid_service() -> tuple[VnpayGateway, FakeProviderService]:
    service = FakeProviderService(vnpay_config=demo_vnpay_config())
    gw = gateway(transport=service)
    service.open(gw.create(request()))
    return gw, service


def query(gw: VnpayGateway) -> Any:
    return gw.query(StatusQuery(order_ref="0000012H122601050001P01", request_id="Q1",
                                payment_created_at=NOW, requested_at=NOW + timedelta(hours=1)))


def test_querydr_reads_pending_then_paid() -> None:
    gw, service = paid_service()
    assert query(gw).outcome is PaymentOutcome.PENDING
    service.success("0000012H122601050001P01", at=NOW + timedelta(minutes=3))
    status = query(gw)
    assert (status.outcome, status.amount) == (PaymentOutcome.SUCCEEDED, 50_000)
    assert status.paid_at == NOW + timedelta(minutes=3)


def test_querydr_of_an_unknown_order_is_not_found() -> None:
    service = FakeProviderService(vnpay_config=demo_vnpay_config())
    assert query(gateway(transport=service)).outcome is PaymentOutcome.NOT_FOUND


class Tampering:
    """Passes calls to the fake but changes the answer's amount after it was signed."""

    def __init__(self, inner: FakeProviderService) -> None:
        self.inner = inner

    def post_json(self, url: str, payload: Mapping[str, Any]) -> HttpResponse:
        answer = self.inner.post_json(url, payload).json()
        answer["vnp_Amount"] = "100"
        return HttpResponse(status=200, body=json.dumps(answer).encode())

    def post_form(self, url: str, fields: Mapping[str, str]) -> HttpResponse:
        return self.inner.post_form(url, fields)


def test_a_tampered_querydr_answer_is_not_trusted() -> None:
    _, service = paid_service()
    with pytest.raises(PaymentError, match="SecureHash"):
        query(gateway(transport=Tampering(service)))


def test_refund_through_the_fake_refunds_once_and_rejects_more() -> None:
    gw, service = paid_service()
    parsed = gw.parse_callback(service.success("0000012H122601050001P01", at=NOW).payload)

    def refund(ref: str, amount: int, before: int) -> RefundOutcome:
        return gw.refund(RefundRequest(
            order_ref=parsed.order_ref, refund_ref=ref, amount=amount, paid_amount=50_000,
            refunded_before=before, provider_ref=parsed.provider_ref, payment_created_at=NOW,
            requested_at=NOW + timedelta(days=1), requested_by="nv01")).outcome

    assert refund("RF1", 30_000, 0) is RefundOutcome.REFUNDED
    # our own bookkeeping is wrong here on purpose: the provider still refuses
    assert refund("RF2", 30_000, 0) is RefundOutcome.REJECTED
