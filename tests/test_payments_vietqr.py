"""VietQR: published payload vectors, CRC, parser, memo matching, signed bank notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dossier.errors import CallbackVerificationError, InvalidInput
from dossier.payments import (
    BankCredit,
    ExpectedCredit,
    FakeProviderService,
    PaymentRequest,
    SecretPair,
    VietQrConfig,
    VietQrGateway,
    make_order_ref,
    match_bank_credit,
    vietqr,
)
from dossier.payments.fake import demo_vietqr_config
from dossier.payments.vietqr import MatchStatus, memo_contains

FAST = settings(max_examples=60, deadline=None)
NOW = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)

# PUBLISHED vectors from the test suite and README of github.com/subiz/vietqr (Go, MIT),
# built independently from the Napas specification; our builder must reproduce them byte
# for byte. (bank BIN, account, amount, memo, payload)
PUBLISHED = [
    ("970423", "0099999999", None, None,
     "00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN"
     "6304CBB4"),
    ("970422", "0023457923442", 40123, "test text string",
     "00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA530370454054"
     "01235802VN62200816test text string6304D9C6"),
    ("970422", "0023457923442", 40123, "chuyển khoản",
     "00020101021238570010A00000072701270006970422011300234579234420208QRIBFTTA530370454054"
     "01235802VN62160812chuyen khoan6304722F"),
    ("970415", "0011001932418", 120000, "ủng hộ lũ lụt",
     "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454061"
     "200005802VN62170813ung ho lu lut6304C15C"),
]


@pytest.mark.parametrize(("bank_bin", "account", "amount", "memo", "payload"), PUBLISHED)
def test_published_payloads_are_reproduced(bank_bin: str, account: str, amount: int | None,
                                           memo: str | None, payload: str) -> None:
    assert vietqr.build_payload(bank_bin=bank_bin, account=account, amount=amount,
                                memo=memo) == payload


@pytest.mark.parametrize("payload", [row[-1] for row in PUBLISHED])
def test_published_payloads_parse_and_their_crc_checks(payload: str) -> None:
    parsed = vietqr.parse_payload(payload)
    assert (parsed.currency, parsed.country, parsed.service) == ("704", "VN", "QRIBFTTA")
    assert parsed.dynamic is (parsed.amount is not None)


def test_crc_matches_the_catalogue_check_value() -> None:
    # PUBLISHED: CRC-16/CCITT-FALSE of "123456789" is 0x29B1 (Greg Cook's CRC catalogue,
    # reveng.sourceforge.io/crc-catalogue, "CRC-16/IBM-3740", alias CCITT-FALSE).
    assert vietqr.crc16_ccitt_false("123456789") == "29B1"


def test_our_dossier_payload_is_pinned() -> None:
    # SELF-COMPUTED vector for the shape the engine uses: amount and order reference memo.
    payload = vietqr.build_payload(bank_bin="970415", account="0011001932418", amount=50_000,
                                   memo=make_order_ref("000.00.12.H12-260105-0001", 1))
    assert payload == (
        "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA530370454"
        "05500005802VN62270823" "0000012H122601050001P01" "63049D5B")


def test_card_service_is_supported() -> None:
    payload = vietqr.build_payload(bank_bin="970415", account="9704151234567890",
                                   service="QRIBFTTC")
    assert vietqr.parse_payload(payload).service == "QRIBFTTC"


def test_a_damaged_payload_is_rejected() -> None:
    good = PUBLISHED[1][-1]
    with pytest.raises(InvalidInput, match="CRC"):
        vietqr.parse_payload(good.replace("40123", "90123"))


def test_a_memo_too_long_for_the_purpose_field_is_refused() -> None:
    with pytest.raises(InvalidInput, match="25"):
        vietqr.build_payload(bank_bin="970415", account="1", amount=1, memo="x" * 26)


@FAST
@given(amount=st.one_of(st.none(), st.integers(1, 10**12)),
       memo=st.one_of(st.none(), st.from_regex(r"[0-9A-Za-z ]{1,25}", fullmatch=True)),
       account=st.from_regex(r"[0-9]{1,19}", fullmatch=True))
def test_build_then_parse_round_trips(amount: int | None, memo: str | None,
                                      account: str) -> None:
    parsed = vietqr.parse_payload(vietqr.build_payload(
        bank_bin="970415", account=account, amount=amount, memo=memo))
    assert (parsed.bank_bin, parsed.account, parsed.amount) == ("970415", account, amount)
    assert parsed.memo == (memo.strip() or None if memo else None)


CODE = "000.00.12.H12-260105-0001"


@pytest.mark.parametrize("memo", [
    "HS 000.00.12.H12-260105-0001", "hs 000 00 12 h12 260105 0001",
    "MBVCB.4567.000.00.12.H12-260105-0001.CT tu 0123", "0000012H122601050001",
    "thanh toán lệ phí 0000012h122601050001p01", "IBFT 0000012H12 260105 0001 2303",
])
def test_memo_contains_the_code_however_the_bank_mangles_it(memo: str) -> None:
    assert memo_contains(memo, CODE)


@pytest.mark.parametrize("memo", [
    "HS 000.00.12.H12-260105-00012", "1000.00.12.H12-260105-0001", "HS 000.00.12.H12-260105",
    "",
])
def test_memo_does_not_match_a_longer_or_shorter_code(memo: str) -> None:
    assert not memo_contains(memo, CODE)


def credit(memo: str, amount: int) -> BankCredit:
    return BankCredit(account="0011001932418", amount=amount, memo=memo, reference="FT1")


def test_match_bank_credit_by_memo_and_amount() -> None:
    expected = [ExpectedCredit(reference=CODE, amount=50_000),
                ExpectedCredit(reference="000.00.12.H12-260105-0002", amount=50_000)]
    match = match_bank_credit(credit("HS 000.00.12.H12-260105-0001", 50_000), expected)
    assert (match.status, match.expected) == (MatchStatus.MATCHED, expected[0])
    assert match_bank_credit(credit("HS 0000012H122601050001", 40_000),
                             expected).status is MatchStatus.AMOUNT_MISMATCH
    assert match_bank_credit(credit("chuyen tien", 50_000),
                             expected).status is MatchStatus.UNMATCHED
    both = f"{CODE} va 000.00.12.H12-260105-0002"
    assert match_bank_credit(credit(both, 50_000), expected).status is MatchStatus.AMBIGUOUS


def notification(config: VietQrConfig, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"accountNumber": config.account, "amount": 50_000,
                            "description": "MBVCB.1.0000012H122601050001P01.CT",
                            "reference": "FT26005123456",
                            "transactionDateTime": "2026-01-05 10:21:07", "currency": "VND",
                            **changes}
    return {"data": data, "signature": vietqr.sign_notification(
        data, config.notification_secrets.primary)}


def test_a_signed_notification_becomes_a_callback_for_the_order_in_the_memo() -> None:
    config = demo_vietqr_config()
    parsed = VietQrGateway(config).parse_callback(json.dumps(notification(config)).encode())
    assert (parsed.order_ref, parsed.amount, parsed.currency) == (
        "0000012H122601050001P01", 50_000, "VND")
    assert parsed.paid_at == datetime(2026, 1, 5, 3, 21, 7, tzinfo=UTC)


def test_a_notification_without_a_reference_has_an_empty_order_ref() -> None:
    config = demo_vietqr_config()
    body = notification(config, description="chuyen tien")
    assert VietQrGateway(config).parse_callback(json.dumps(body).encode()).order_ref == ""


@FAST
@given(field=st.sampled_from(["accountNumber", "amount", "description", "reference",
                              "transactionDateTime", "currency"]),
       value=st.one_of(st.text(max_size=20), st.integers(0, 10**9)))
def test_changing_any_single_notification_field_is_rejected(field: str, value: Any) -> None:
    config = demo_vietqr_config()
    body = notification(config)
    if str(body["data"][field]) == str(value):
        return
    body["data"][field] = value
    with pytest.raises(CallbackVerificationError):
        VietQrGateway(config).parse_callback(json.dumps(body).encode())


def test_notification_for_another_account_is_rejected_even_if_signed() -> None:
    config = demo_vietqr_config()
    with pytest.raises(CallbackVerificationError, match="account"):
        VietQrGateway(config).parse_callback(notification(config, accountNumber="999"))


def test_notification_rotation_accepts_the_previous_secret() -> None:
    old = demo_vietqr_config()
    new = VietQrConfig(bank_bin=old.bank_bin, account=old.account,
                       notification_secrets=SecretPair(primary="n", previous="fake-bank-secret"))
    assert VietQrGateway(new).parse_callback(notification(old)).amount == 50_000


def test_fake_bank_pays_what_the_qr_asked_for() -> None:
    config = demo_vietqr_config()
    service = FakeProviderService(vietqr_config=config)
    gateway = VietQrGateway(config)
    ref = make_order_ref(CODE, 2)
    instructions = gateway.create(PaymentRequest(
        order_ref=ref, amount=75_000, description=CODE, created_at=NOW,
        expires_at=NOW + timedelta(hours=1)))
    assert instructions.counter_instructions
    assert ref in instructions.counter_instructions
    service.open(instructions)
    parsed = gateway.parse_callback(service.success(ref, at=NOW).payload)
    assert (parsed.order_ref, parsed.amount) == (ref, 75_000)
