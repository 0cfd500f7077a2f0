"""WebhookSink: Standard Webhooks signatures, checked by the reference library against a
real receiver on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sinks_support import ID_NUMBER, dossier, message
from standardwebhooks import Webhook, WebhookVerificationError

from dossier.errors import InvalidInput
from dossier.sinks import DeliveryFailed, Sink
from dossier.sinks.fakes import Answer, LoopbackReceiver, ReceivedRequest
from dossier.sinks.webhook import WebhookSink, generate_secret, make_webhook_sink
from dossier.testing import FrozenClock

SECRET = generate_secret()


def verifying(*secrets: str) -> LoopbackReceiver:
    """A receiver that answers 204 only to requests that verify under one of ``secrets``
    (with the reference library), 401 otherwise; ``verified`` keeps the parsed bodies."""
    verified: list[object] = []

    def respond(request: ReceivedRequest) -> Answer:
        for secret in secrets:
            try:
                verified.append(Webhook(secret).verify(request.body, dict(request.headers)))
            except WebhookVerificationError:
                continue
            return 204, b""
        return 401, b"bad signature"

    receiver = LoopbackReceiver(respond=respond)
    receiver.verified = verified  # type: ignore[attr-defined]
    return receiver


def test_a_delivered_message_verifies_with_the_standard_webhooks_library() -> None:
    with verifying(SECRET) as hook:
        sink = WebhookSink(hook.url, SECRET)
        sink.deliver(message(data={"reason": "Thiếu bản sao giấy khai sinh"}), dossier())
        (request,) = hook.requests
        assert hook.verified == [json.loads(request.body)]  # type: ignore[attr-defined]
    assert request.headers["webhook-id"] == "evt_0001"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("dossier")
    body = json.loads(request.body.decode("utf-8"))
    assert body == message(data={"reason": "Thiếu bản sao giấy khai sinh"}).body()
    assert "Thiếu bản sao".encode() in request.body  # UTF-8, not \\u escapes
    assert body["portal_status"] == 4
    assert body["code"] == "000.00.12.H12-260105-0001"


def test_during_a_rotation_each_message_verifies_with_the_old_and_the_new_secret() -> None:
    old, new = generate_secret(), generate_secret()
    for receiver_secret in (old, new):
        with verifying(receiver_secret) as hook:
            WebhookSink(hook.url, [new, old]).deliver(message(), dossier())
            assert len(hook.verified) == 1  # type: ignore[attr-defined]
            signature = hook.requests[0].headers["webhook-signature"]
    assert [part.split(",")[0] for part in signature.split(" ")] == ["v1", "v1"]


def test_a_tampered_body_or_a_foreign_secret_fails_verification() -> None:
    with LoopbackReceiver() as hook:
        WebhookSink(hook.url, SECRET).deliver(message(), dossier())
    request = hook.requests[0]
    headers = dict(request.headers)
    Webhook(SECRET).verify(request.body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b'"seq":3', b'"seq":4'), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(request.body, headers)


def test_the_timestamp_comes_from_the_injected_clock() -> None:
    clock = FrozenClock(datetime(2026, 1, 5, 2, 0, 30, tzinfo=UTC))
    with LoopbackReceiver() as hook:
        WebhookSink(hook.url, SECRET, clock=clock).deliver(message(), dossier())
    request = hook.requests[0]
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    expected = Webhook(SECRET).sign("evt_0001", clock.now(), request.body.decode())
    assert request.headers["webhook-signature"] == expected


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 502, 503])
def test_an_error_status_is_retried_later(status: int) -> None:
    with LoopbackReceiver(status=status) as hook, \
            pytest.raises(DeliveryFailed, match=f"HTTP {status}") as failed:
        WebhookSink(hook.url, SECRET).deliver(message(), dossier())
    assert not failed.value.permanent


def test_410_gone_dead_letters_the_message_at_once() -> None:
    with LoopbackReceiver(status=410) as hook, \
            pytest.raises(DeliveryFailed, match="410 Gone") as failed:
        WebhookSink(hook.url, SECRET).deliver(message(), dossier())
    assert failed.value.permanent


def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    with LoopbackReceiver(status=302) as hook, \
            pytest.raises(DeliveryFailed, match="HTTP 302") as failed:
        WebhookSink(hook.url, SECRET).deliver(message(), dossier())
    assert not failed.value.permanent
    assert len(hook.requests) == 1


def test_a_receiver_slower_than_the_timeout_is_retried_later() -> None:
    with LoopbackReceiver(delay=1.5) as hook, \
            pytest.raises(DeliveryFailed, match="no answer") as failed:
        WebhookSink(hook.url, SECRET, timeout=0.2).deliver(message(), dossier())
    assert not failed.value.permanent


def test_an_unreachable_receiver_is_retried_later_without_the_path_or_secret() -> None:
    with LoopbackReceiver() as hook:
        url = hook.url + "?token=hidden-token"
    with pytest.raises(DeliveryFailed, match="no answer") as failed:
        WebhookSink(url, SECRET).deliver(message(), dossier())
    assert not failed.value.permanent
    assert "hidden-token" not in str(failed.value)
    assert SECRET not in str(failed.value)


def test_a_message_id_with_a_dot_is_dead_lettered_without_a_request() -> None:
    with LoopbackReceiver() as hook, \
            pytest.raises(DeliveryFailed, match="Standard Webhooks") as failed:
        WebhookSink(hook.url, SECRET).deliver(message(id="000.00.12.H12:3"), dossier())
    assert failed.value.permanent
    assert hook.requests == []


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(applicant=st.dictionaries(st.sampled_from(["name", "address", "email", "phone"]),
                                 st.text(min_size=1, max_size=20)),
       number=st.from_regex(r"\A0[0-9]{11}\Z"))
def test_no_body_ever_carries_the_applicants_id_number(applicant: dict[str, str],
                                                      number: str) -> None:
    with LoopbackReceiver() as hook:
        WebhookSink(hook.url, SECRET).deliver(
            message(), dossier({**applicant, "id_number": number, "cccd": number}))
    assert number.encode() not in hook.requests[0].body
    assert ID_NUMBER.encode() not in hook.requests[0].body


@pytest.mark.parametrize("secret", [
    "not-a-webhook-secret-at-all-but-long-enough",
    "whsec_",
    "whsec_c2hvcnQ=",                 # 5 bytes
    "whsec_!!!not base64!!!",
    "whsec_" + "A" * 120,             # 90 bytes: over 512 bits
])
def test_a_malformed_secret_is_refused_without_echoing_it(secret: str) -> None:
    with pytest.raises(InvalidInput, match="webhook secret #2") as refused:
        WebhookSink("https://partner.example/hook", [SECRET, secret])
    assert secret.removeprefix("whsec_") not in str(refused.value) or secret == "whsec_"
    assert SECRET not in str(refused.value)


@pytest.mark.parametrize("url", ["ftp://partner.example/hook", "/hook", "http:///nohost",
                                 "https://partner.example/a b"])
def test_only_absolute_http_urls_are_accepted(url: str) -> None:
    with pytest.raises(InvalidInput, match="url"):
        WebhookSink(url, SECRET)


def test_the_sink_shows_neither_its_secrets_nor_its_path() -> None:
    sink = WebhookSink("https://partner.example/hook/abc?k=v", [SECRET, generate_secret()])
    assert isinstance(sink, Sink)
    shown = repr(sink)
    assert SECRET not in shown
    assert "abc" not in shown
    assert "2 hidden" in shown


def test_types_narrow_what_the_sink_wants() -> None:
    sink = WebhookSink("https://partner.example/hook", SECRET,
                       types=frozenset({"receive", "dossier.return_result"}))
    assert sink.wants("dossier.receive")
    assert sink.wants("dossier.return_result")
    assert not sink.wants("dossier.attach")
    assert WebhookSink("https://partner.example/hook", SECRET).wants("dossier.attach")


def test_the_factory_builds_from_keyword_configuration() -> None:
    sink = make_webhook_sink(url="http://127.0.0.1:8080/hook", secret=SECRET, timeout=3,
                             types=["receive"], name="partner")
    assert (sink.name, sink.timeout, sink.types) == ("partner", 3.0, frozenset({"receive"}))


def test_the_factory_names_an_unknown_key_without_its_value() -> None:
    with pytest.raises(InvalidInput, match="unknown setting 'secrets'") as refused:
        make_webhook_sink(url="http://127.0.0.1:8080/hook", secrets=SECRET)
    assert SECRET not in str(refused.value)
    with pytest.raises(InvalidInput, match="missing setting 'secret'"):
        make_webhook_sink(url="http://127.0.0.1:8080/hook")


def test_delivering_the_same_message_twice_sends_the_same_id_and_body() -> None:
    with LoopbackReceiver() as hook:
        sink = WebhookSink(hook.url, SECRET)
        sink.deliver(message(), dossier())
        sink.deliver(replace(message(), attempt=2), dossier())
    first, second = hook.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body  # the attempt number is not part of the body
