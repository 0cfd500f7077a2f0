"""Gateways by name: the ones the application registers, plus vendors' entry points.

A vendor ships an adapter as its own package and declares, in its ``pyproject.toml``::

    [project.entry-points."dossier.payment_gateways"]
    napas-direct = "vendor_pkg.gateway:make_gateway"

The entry point names a factory: a callable taking keyword configuration and returning a
:class:`~dossier.payments.base.PaymentGateway`. Nothing is loaded at import time, and the
registry is an object the application owns (no module-level state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Any

from dossier.errors import InvalidInput, PaymentError
from dossier.payments.base import PaymentGateway

ENTRY_POINT_GROUP = "dossier.payment_gateways"

GatewayFactory = Callable[..., PaymentGateway]


def discover_factories(group: str = ENTRY_POINT_GROUP) -> dict[str, GatewayFactory]:
    """Gateway factories installed packages declare under ``group``, by entry-point name."""
    found: dict[str, GatewayFactory] = {}
    for entry in entry_points(group=group):
        try:
            factory = entry.load()
        except Exception as exc:  # a broken vendor package must say which one it is
            raise PaymentError(f"payment gateway entry point {entry.name!r} "
                               f"({entry.value}) cannot be loaded: {exc}") from exc
        if not callable(factory):
            raise PaymentError(f"payment gateway entry point {entry.name!r} is not callable")
        found[entry.name] = factory
    return found


class GatewayRegistry:
    """The gateways one engine may use, by the name stored with each payment."""

    def __init__(self, gateways: list[PaymentGateway] | None = None) -> None:
        self._gateways: dict[str, PaymentGateway] = {}
        for gateway in gateways or []:
            self.register(gateway)

    def register(self, gateway: PaymentGateway) -> None:
        """Add ``gateway`` under its ``name``; a second gateway with the same name is an error."""
        if not isinstance(gateway, PaymentGateway):
            raise InvalidInput(f"{gateway!r} does not implement PaymentGateway")
        if gateway.name in self._gateways:
            raise InvalidInput(f"a payment gateway named {gateway.name!r} is already registered")
        self._gateways[gateway.name] = gateway

    def load(self, entry_point: str, /, *, group: str = ENTRY_POINT_GROUP,
             **config: Any) -> PaymentGateway:
        """Build the gateway of ``entry_point`` with keyword ``config`` and register it."""
        factories = discover_factories(group)
        if entry_point not in factories:
            raise InvalidInput(f"no installed payment gateway named {entry_point!r}; "
                               f"installed: {', '.join(sorted(factories)) or 'none'}")
        gateway = factories[entry_point](**config)
        self.register(gateway)
        return gateway

    def get(self, name: str) -> PaymentGateway:
        """The gateway called ``name``; :class:`InvalidInput` naming the known ones if none."""
        try:
            return self._gateways[name]
        except KeyError:
            raise InvalidInput(f"unknown payment provider {name!r}; configured: "
                               f"{', '.join(sorted(self._gateways)) or 'none'}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._gateways

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._gateways))

    def __len__(self) -> int:
        return len(self._gateways)
