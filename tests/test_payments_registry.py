"""Gateways by name, and vendor gateways found through entry points."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from dossier.errors import InvalidInput, PaymentError
from dossier.payments import ENTRY_POINT_GROUP, CounterGateway, FakeGateway, GatewayRegistry
from dossier.payments import registry as registry_module


def test_gateways_are_found_by_name() -> None:
    registry = GatewayRegistry([CounterGateway(), FakeGateway()])
    assert list(registry) == ["counter", "fake"]
    assert registry.get("fake").name == "fake"
    assert "counter" in registry
    assert len(registry) == 2


def test_unknown_and_duplicate_names_are_errors() -> None:
    registry = GatewayRegistry([CounterGateway()])
    with pytest.raises(InvalidInput, match="configured: counter"):
        registry.get("vnpay")
    with pytest.raises(InvalidInput, match="already registered"):
        registry.register(CounterGateway())
    with pytest.raises(InvalidInput, match="PaymentGateway"):
        registry.register(object())  # type: ignore[arg-type]


def fake_entry_points(*points: EntryPoint):  # type: ignore[no-untyped-def]
    def select(*, group: str) -> list[EntryPoint]:
        return [point for point in points if point.group == group]
    return select


def test_vendor_gateways_load_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="vendor-counter", group=ENTRY_POINT_GROUP,
                       value="dossier.payments.counter:CounterGateway")
    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points(point))
    registry = GatewayRegistry()
    gateway = registry.load("vendor-counter", name="vendor", agency_name="UBND")
    assert registry.get("vendor") is gateway


def test_a_broken_entry_point_says_which_one(monkeypatch: pytest.MonkeyPatch) -> None:
    point = EntryPoint(name="broken", group=ENTRY_POINT_GROUP, value="no_such_module:x")
    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points(point))
    with pytest.raises(PaymentError, match="'broken'"):
        GatewayRegistry().load("broken")


def test_a_missing_entry_point_lists_the_installed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry_module, "entry_points", fake_entry_points())
    with pytest.raises(InvalidInput, match="installed: none"):
        GatewayRegistry().load("nope")
