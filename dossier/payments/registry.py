"""Gateways by name: the ones the application registers, plus vendors' entry points.

A vendor ships an adapter as its own package and declares, in its ``pyproject.toml``::

    [project.entry-points."dossier.payment_gateways"]
    napas-direct = "vendor_pkg.gateway:make_gateway"

The entry point names a factory: a callable taking keyword configuration and returning a
:class:`~dossier.payments.base.PaymentGateway`. Nothing is loaded at import time, and the
registry is an object the application owns (no module-level state).

A gateway may be bound to the agencies whose merchant terminal it is (``register(gateway,
agencies={...})``, or the gateway's own ``agencies`` of
:class:`~dossier.payments.base.CollectsFor`): a fee is only collected onto the account of
the agency that handles the dossier. Unbound gateways (the default) collect for any agency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from dossier.errors import InvalidInput, PaymentError
from dossier.payments.base import CollectsFor, PaymentGateway

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
    """The gateways one engine may use, by the name stored with each payment, and the
    agencies each collects for."""

    def __init__(self, gateways: list[PaymentGateway] | None = None) -> None:
        self._gateways: dict[str, PaymentGateway] = {}
        self._agencies: dict[str, frozenset[str] | None] = {}
        for gateway in gateways or []:
            self.register(gateway)

    def register(self, gateway: PaymentGateway, *,
                 agencies: Iterable[str] | None = None) -> None:
        """Add ``gateway`` under its ``name``; a second gateway with the same name is an error.

        ``agencies`` binds it to the agencies whose merchant terminal it is (agency codes);
        without it the gateway's own ``agencies`` (:class:`CollectsFor`) applies, and
        without either it collects for any agency.
        """
        if not isinstance(gateway, PaymentGateway):
            raise InvalidInput(f"{gateway!r} does not implement PaymentGateway")
        if gateway.name in self._gateways:
            raise InvalidInput(f"a payment gateway named {gateway.name!r} is already registered")
        bound = _agency_set(agencies, gateway.name) if agencies is not None else None
        own = _agency_set(gateway.agencies, gateway.name) \
            if isinstance(gateway, CollectsFor) and gateway.agencies is not None else None
        if bound is not None and own is not None and bound != own:
            # two configurations disagree about whose money this terminal collects: refuse
            # rather than guess, since a wrong guess pays one agency's fee to another
            raise InvalidInput(
                f"payment gateway {gateway.name!r} collects for {', '.join(sorted(own))} but "
                f"was registered for {', '.join(sorted(bound))}; give the same agencies or "
                "leave agencies= out")
        self._gateways[gateway.name] = gateway
        self._agencies[gateway.name] = bound if bound is not None else own

    def load(self, entry_point: str, /, *, group: str = ENTRY_POINT_GROUP,
             agencies: Iterable[str] | None = None, **config: Any) -> PaymentGateway:
        """Build the gateway of ``entry_point`` with keyword ``config`` and register it
        (bound to ``agencies``, see :meth:`register`)."""
        factories = discover_factories(group)
        if entry_point not in factories:
            raise InvalidInput(f"no installed payment gateway named {entry_point!r}; "
                               f"installed: {', '.join(sorted(factories)) or 'none'}")
        gateway = factories[entry_point](**config)
        self.register(gateway, agencies=agencies)
        return gateway

    def get(self, name: str, *, agency: str | None = None) -> PaymentGateway:
        """The gateway called ``name``; :class:`InvalidInput` naming the known ones if none.

        With ``agency``, only if the gateway collects for that agency: :class:`InvalidInput`
        naming the agency and the gateways that do collect for it otherwise.
        """
        try:
            gateway = self._gateways[name]
        except KeyError:
            raise InvalidInput(f"unknown payment provider {name!r}; configured: "
                               f"{', '.join(sorted(self._gateways)) or 'none'}") from None
        if agency is not None and not self.collects_for(name, agency):
            raise InvalidInput(
                f"payment provider {name!r} is another agency's merchant terminal and does "
                f"not collect fees for agency {agency}; use one of: "
                f"{', '.join(self.names_for(agency)) or 'none (configure one)'}")
        return gateway

    def agencies_of(self, name: str) -> frozenset[str] | None:
        """The agencies the gateway ``name`` collects for; None: any agency."""
        self.get(name)
        return self._agencies[name]

    def collects_for(self, name: str, agency: str) -> bool:
        """Whether the gateway ``name`` may collect a fee of ``agency``'s dossier."""
        bound = self.agencies_of(name)
        return bound is None or agency in bound

    def names_for(self, agency: str) -> list[str]:
        """The names of the gateways that collect for ``agency``, sorted."""
        return [name for name in self if self.collects_for(name, agency)]

    def __contains__(self, name: object) -> bool:
        return name in self._gateways

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._gateways))

    def __len__(self) -> int:
        return len(self._gateways)


def _agency_set(agencies: Iterable[str], gateway: str) -> frozenset[str]:
    """``agencies`` as a non-empty set of agency codes (a lone string is refused: it would
    otherwise be read as a set of its characters)."""
    if isinstance(agencies, str | bytes) or not isinstance(agencies, Iterable):
        raise InvalidInput(f"payment gateway {gateway!r}: agencies must be a set of agency "
                           f"codes such as {{'000.00.12.H12'}}, got {agencies!r}")
    codes = frozenset(agencies)
    if not codes or not all(isinstance(c, str) and c.strip() == c and c for c in codes):
        raise InvalidInput(f"payment gateway {gateway!r}: agencies must be one or more "
                           "agency codes without surrounding spaces (leave it out to "
                           "collect for any agency)")
    return codes
