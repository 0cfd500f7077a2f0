"""SmsNotifier over the TextGateway port, with FakeTextGateway."""

from __future__ import annotations

import pytest
from sinks_support import CODE, ID_NUMBER, dossier, message

from dossier.errors import InvalidInput
from dossier.sinks import DeliveryFailed
from dossier.sinks.notify import NotifySink
from dossier.sinks.sms import (
    FakeTextGateway,
    SmsNotifier,
    TextGateway,
    make_fake_sms_notifier,
    normalise_phone,
)


def test_the_short_text_goes_to_the_applicants_phone() -> None:
    gateway = FakeTextGateway()
    assert isinstance(gateway, TextGateway)
    NotifySink(SmsNotifier(gateway)).deliver(message("receive"), dossier())
    (text,) = gateway.sent
    assert text.to == "0912345678"
    assert text.text.startswith(f"Ho so {CODE} da duoc tiep nhan")
    assert text.reference == "evt_0001:reception"
    assert ID_NUMBER not in text.text
    assert "0912345678" not in repr(text)


@pytest.mark.parametrize("phone", ["0912345678", "0912 345 678", "+84 912 345 678",
                                   "84912345678", "091.234.5678", "(091) 234-5678"])
def test_usual_ways_of_writing_a_vietnamese_number_are_accepted(phone: str) -> None:
    assert normalise_phone(phone) == "0912345678"


@pytest.mark.parametrize("phone", ["12345", "091234567890", "abc", "+1 202 555 0100"])
def test_a_number_that_is_not_vietnamese_is_permanent_and_not_echoed(phone: str) -> None:
    gateway = FakeTextGateway()
    with pytest.raises(DeliveryFailed, match="not a 10-digit") as failed:
        NotifySink(SmsNotifier(gateway)).deliver(message("receive"),
                                                 dossier({"phone": phone}))
    assert failed.value.permanent
    assert phone not in str(failed.value)
    assert gateway.sent == []


def test_a_gateway_that_is_down_is_retried_with_the_same_reference() -> None:
    notifier = make_fake_sms_notifier(channel="zalo")
    gateway = notifier.gateway
    assert isinstance(gateway, FakeTextGateway)
    gateway.fail_next = 1
    sink = NotifySink(notifier)
    with pytest.raises(DeliveryFailed) as failed:
        sink.deliver(message("receive"), dossier())
    assert not failed.value.permanent
    sink.deliver(message("receive", attempt=2), dossier())
    assert [t.reference for t in gateway.sent] == ["evt_0001:reception"]


def test_the_factory_names_bad_settings() -> None:
    with pytest.raises(InvalidInput, match="unknown setting 'sender'"):
        make_fake_sms_notifier(sender="x")
    with pytest.raises(InvalidInput, match="'sms' or 'zalo'"):
        make_fake_sms_notifier(channel="fax")
    with pytest.raises(InvalidInput, match="does not implement TextGateway"):
        SmsNotifier(object())  # type: ignore[arg-type]
