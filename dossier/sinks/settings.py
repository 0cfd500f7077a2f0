"""Keyword configuration for sinks and notifiers, checked the same way everywhere.

``dossier.toml`` hands each factory the keys of its table (secrets already resolved to
``str``). A key the factory does not know is a typo until proven otherwise: it is refused,
named, and the value is never echoed (it may be a secret).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from dossier.errors import InvalidInput


def check_keys(kind: str, settings: Mapping[str, Any], *, required: Collection[str] = (),
               optional: Collection[str] = ()) -> None:
    """Refuse unknown keys and missing required ones, naming them (never their values)."""
    known = set(required) | set(optional)
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InvalidInput(f"{kind}: unknown setting {unknown[0]!r}; known settings: "
                           f"{', '.join(sorted(known))}")
    missing = [key for key in required if key not in settings]
    if missing:
        raise InvalidInput(f"{kind}: missing setting {missing[0]!r}")


def text_setting(kind: str, key: str, value: Any) -> str:
    """A non-empty string setting."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{kind}: {key} must be a non-empty string")
    return value


def number_setting(kind: str, key: str, value: Any) -> float:
    """A positive number setting (a timeout in seconds)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise InvalidInput(f"{kind}: {key} must be a positive number of seconds")
    return float(value)


def names_setting(kind: str, key: str, value: Any) -> frozenset[str] | None:
    """An optional list of names (message types, agency codes); None means all."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence | frozenset | set) \
            or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{kind}: {key} must be a list of non-empty strings")
    return frozenset(value)
