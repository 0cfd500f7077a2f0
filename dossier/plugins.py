"""Adapters named by ``"module:attribute"`` and imported on first use.

The engine knows its default adapters (the counter gateway, the local receipt issuer, the
PDF paperwork) by name only, so ``import dossier`` loads none of them — nor pyHanko, fpdf2
or Jinja2 behind them — until a dossier needs one. Third-party adapters come the same way
through entry points (:mod:`dossier.payments.registry`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from types import ModuleType
from typing import Any


def load_object(spec: str) -> Any:
    """The object ``spec`` (``"package.module:name"``) names, its module imported now."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"adapter spec {spec!r} must look like 'package.module:name'")
    return getattr(import_module(module_name), attribute)


class _Exports(ModuleType):
    """A package whose lazy exports include a function named like the submodule defining it
    (``dossier.signing.verify``): importing that submodule must not replace the function
    with the module, as the import system's ``setattr(package, "verify", module)`` would."""

    def __setattr__(self, name: str, value: Any) -> None:
        names = self.__dict__.get("__lazy_exports__", {})
        if isinstance(value, ModuleType) and names.get(name) == value.__name__:
            value = getattr(value, name)
        super().__setattr__(name, value)


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) for ``package``: each name in ``names`` (name →
    the module that defines it) is imported on first use, then kept as a plain attribute."""
    module = sys.modules[package]
    module.__dict__["__lazy_exports__"] = dict(names)
    if type(module) is ModuleType:
        module.__class__ = _Exports

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(names[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
