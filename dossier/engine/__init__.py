"""The engine: the :class:`Engine` facade over the kernel (the one write path), the
lifecycle commands, the timers, and the payment and signing services it composes.

::

    facade        Engine: the public API (payments_api, signing_api: its two other halves)
    kernel        load → authorise → resolve → record; every write goes through it
    procedures    registered procedure versions and their rule books, cached
    lifecycle     submit, fire, attach, the apology letter
    timers        the sweep of due timers
    messages      an event as the message sinks receive (nothing personal in it)
    outbox        the dispatcher: outbox rows to sinks, at least once, in order per dossier
    feed          every dossier's events in a stable order, with a resumable cursor
    outbox_api    Engine's outbox and feed methods

The names below load on first use (PEP 562): ``dossier validate`` reads ``DEFAULT_URL``
without starting SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports

if TYPE_CHECKING:
    from dossier.engine.facade import CHANNELS, Engine, SweepReport
    from dossier.engine.kernel import Kernel, Move
    from dossier.engine.outbox import DispatchReport, OutboxSettings

#: The database ``Engine()`` and the CLI use when given none.
DEFAULT_URL = "sqlite:///dossier.db"

_LAZY = {
    "CHANNELS": "dossier.engine.facade",
    "Engine": "dossier.engine.facade",
    "SweepReport": "dossier.engine.facade",
    "Kernel": "dossier.engine.kernel",
    "Move": "dossier.engine.kernel",
    "DispatchReport": "dossier.engine.outbox",
    "OutboxSettings": "dossier.engine.outbox",
}

__getattr__ = lazy_exports(__name__, _LAZY)

__all__ = ["CHANNELS", "DEFAULT_URL", "DispatchReport", "Engine", "Kernel", "Move",
           "OutboxSettings", "SweepReport"]
