"""The endpoints gateways and signers call: each gateway gets exactly the answer it expects,
and the return page shows the payer what the provider says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from web_support import AGENCY, CITIZEN, Web, build

from dossier import Engine
from dossier.payments.service import instructions
from dossier.records import Payment
from dossier.testing import FrozenClock


@pytest.fixture
def web(sqlite_url: str, clock: FrozenClock) -> Iterator[Web]:
    built = build(sqlite_url, clock)
    yield built
    built.engine.close()


def awaiting_payment(engine: Engine) -> str:
    from finding_support import staff

    code = engine.submit("9.900101", applicant={"name": "Phạm Thị D"}, channel="online",
                         actor=CITIZEN, agency=AGENCY).code
    engine.fire(code, "receive", actor=staff()["clerk"])
    return code


def opened(web: Web, provider: str) -> Payment:
    code = awaiting_payment(web.engine)
    payment = web.engine.request_payment(code, provider, actor=CITIZEN,
                                         return_url="https://dvc.example/tt")
    web.provider.open(instructions(payment))
    return payment


def test_a_vnpay_ipn_by_get_pays_the_dossier_and_answers_rspcode_00(web: Web) -> None:
    payment = opened(web, "vnpay")
    callback = web.provider.success(payment.order_ref, at=web.clock.now())
    assert isinstance(callback.payload, dict)
    answer = web.client().get("/payments/vnpay/ipn", params=callback.payload)
    assert answer.status_code == 200
    assert answer.json() == {"RspCode": "00", "Message": "Confirm Success"}
    assert web.engine.get(payment.dossier_code).state == "processing"
    replay = web.client().get("/payments/vnpay/ipn", params=callback.payload)
    assert replay.json()["RspCode"] == "02"


def test_a_forged_vnpay_ipn_is_answered_97_and_changes_nothing(web: Web) -> None:
    payment = opened(web, "vnpay")
    forged = web.provider.forged(payment.order_ref, at=web.clock.now())
    assert isinstance(forged.payload, dict)
    answer = web.client().get("/payments/vnpay/ipn", params=forged.payload)
    assert answer.json()["RspCode"] == "97"
    assert web.engine.get(payment.dossier_code).state == "awaiting_payment"


def test_a_vnpay_ipn_posted_as_a_form_is_read_the_same(web: Web) -> None:
    payment = opened(web, "vnpay")
    callback = web.provider.success(payment.order_ref, at=web.clock.now())
    assert isinstance(callback.payload, dict)
    answer = web.client().post("/payments/vnpay/ipn", content=urlencode(callback.payload),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.json()["RspCode"] == "00"


def test_a_momo_ipn_is_json_and_answered_204(web: Web) -> None:
    payment = opened(web, "momo")
    callback = web.provider.success(payment.order_ref, at=web.clock.now())
    assert isinstance(callback.payload, bytes)
    answer = web.client().post("/payments/momo/ipn", content=callback.payload,
                               headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.content) == (204, b"")
    assert web.engine.get(payment.dossier_code).paid_amount == payment.amount
    bad = web.client().post("/payments/momo/ipn", content=b'{"orderId": "x"}',
                            headers={"Content-Type": "application/json"})
    assert bad.status_code == 400


def test_an_unknown_provider_is_404(web: Web) -> None:
    answer = web.client().get("/payments/paypal/ipn")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"


def test_an_ipn_body_over_the_cap_is_refused(web: Web) -> None:
    answer = web.client().post("/payments/momo/ipn", content=b"{" + b" " * 70_000 + b"}",
                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


def test_the_return_page_shows_a_verified_success_and_changes_nothing(web: Web) -> None:
    payment = opened(web, "vnpay")
    callback = web.provider.success(payment.order_ref, at=web.clock.now())
    assert isinstance(callback.payload, dict)
    page = web.client().get("/payments/vnpay/return", params=callback.payload)
    assert page.status_code == 200
    assert "Thanh toán thành công" in page.text
    assert payment.order_ref in page.text
    assert web.engine.get(payment.dossier_code).state == "awaiting_payment"


def test_the_return_page_of_a_failure_and_of_a_forgery(web: Web) -> None:
    payment = opened(web, "vnpay")
    failed = web.provider.failure(payment.order_ref, at=web.clock.now())
    assert isinstance(failed.payload, dict)
    assert "không thành công" in web.client().get("/payments/vnpay/return",
                                                   params=failed.payload).text
    forged = web.client().get("/payments/vnpay/return",
                              params={**failed.payload, "vnp_Amount": "1"})
    assert forged.status_code == 400
    assert "Không xác minh được" in forged.text


def test_a_signer_callback_for_an_unknown_request_is_404(web: Web) -> None:
    for body in ({"transaction_id": "nope"}, {"transactionId": "nope"}):
        answer = web.client().post("/signing/phone/callback", json=body)
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("body", [b"", b"{}", b"[]", b"{bad", json.dumps(
    {"transaction_id": "x" * 300}).encode()])
def test_a_signer_callback_without_a_usable_transaction_id_is_400(web: Web,
                                                                 body: bytes) -> None:
    answer = web.client().post("/signing/phone/callback", content=body,
                               headers={"Content-Type": "application/json"})
    assert answer.status_code == 400


def test_a_signer_callback_makes_the_engine_ask_the_service_and_fire_sign(
        tmp_path: object) -> None:
    from datetime import UTC, datetime, time, timedelta

    from signing_support import pki
    from starlette.testclient import TestClient

    from dossier import Actor, load_procedure, sample_path
    from dossier.clock import LOCAL_TZ
    from dossier.records import SignatureRequest
    from dossier.signing import PhoneConfirmSigner
    from dossier.signing.fakes import FakePhoneService
    from dossier.web import create_app

    day = pki().created_at.astimezone(LOCAL_TZ).date()
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    clock = FrozenClock(datetime.combine(day, time(9), LOCAL_TZ).astimezone(UTC))
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    with FakePhoneService(pki(), clock=clock) as phone:
        signer = PhoneConfirmSigner(phone.url, client_id=phone.client_id,
                                    client_secret=phone.client_secret, user_id="signer",
                                    clock=clock)
        engine = Engine.in_memory(clock=clock, signers={"phone": signer})
        try:
            engine.register(load_procedure(sample_path("ly-lich-tu-phap")))
            code = engine.submit("3.000333", applicant={"name": "Vũ Thị G"},
                                 channel="counter", actor=clerk,
                                 fee_basis={"copies": 1}).code
            engine.fire(code, "receive", actor=clerk)
            engine.fire(code, "pay", actor=clerk, amount=engine.get(code).fee_due)
            engine.fire(code, "approve", actor=Actor(id="cv01", role="specialist",
                                                     agency=AGENCY))
            request = engine.sign_result(code, actor=Actor(id="ld01", role="leader",
                                                           agency=AGENCY), signer="phone")
            assert isinstance(request, SignatureRequest)
            client = TestClient(create_app(engine))
            pending = client.post("/signing/phone/callback",
                                  json={"transaction_id": request.transaction_id})
            assert pending.json()["state"] == "pending"
            phone.confirm(request.transaction_id)
            signed = client.post("/signing/phone/callback",
                                 data={"transaction_id": request.transaction_id})
            assert signed.json() == {"dossier_code": code, "provider": "phone",
                                     "state": "signed", "resolved_at": signed.json()[
                                         "resolved_at"]}
            assert engine.get(code).state == "awaiting_return"
        finally:
            engine.close()
