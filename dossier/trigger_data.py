"""The data each trigger takes (``engine.fire(code, trigger, actor=…, **data)``).

Every trigger accepts ``note`` (free text). Beyond that:

========================  ==========================================================
trigger                   data
========================  ==========================================================
``receive``               ``arrived_at`` (post channel only, required there: when the
                          post brought the dossier; the clock starts then)
``digitise``              ``pages`` (component id → pages scanned, for the digitisation
                          record; optional)
``certify``               —
``pay``                   ``amount`` (int VND, required, must equal the fee due),
                          ``method`` (``cash``/``pos``/``transfer`` at the counter, default
                          ``cash``; ``online`` is recorded by gateway callbacks only),
                          ``reference`` (the POS slip, cash-book line or transaction)
``approve``               —
``sign``                  ``document`` (the SHA-256 of the signed result, 64 lower-case
                          hex digits: a result ``Engine.sign_result`` stored, which fires
                          ``sign`` itself; none for ``signing = "paper"``)
``return_result``         ``method``: ``counter`` / ``online`` / ``post``
``request_supplement``    ``reason`` (required), ``components`` (ids of missing components),
                          ``legal_basis`` (for the clock-pause ledger; default: the
                          procedure's)
``supplement``            —
``refuse``                ``reason`` (required)
``withdraw``              ``reason``
``stop``                  ``reason`` (required)
``extend``                ``reason`` (required), ``appointment_at`` (required: the new date
                          promised in the apology letter)
========================  ==========================================================

Unknown keys are refused: a typo must not be silently dropped from the record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from dossier import text
from dossier.clock import LOCAL_TZ
from dossier.errors import InvalidInput
from dossier.procedure.model import Procedure
from dossier.states import Trigger
from dossier.text import Kind

Check = Callable[[str, Any, Procedure], Any]


def _text(name: str, value: Any, _: Procedure) -> str:
    # stored in the event's JSON (and the clock-pause ledger): the one string rule, NFC
    return text.clean(name, value, Kind.FREE_TEXT)


def _reference(name: str, value: Any, _: Procedure) -> str:
    return text.clean(name, value, Kind.REFERENCE)


def _amount(name: str, value: Any, _: Procedure) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{name} must be a non-negative integer number of VND")
    return value


def _instant(name: str, value: Any, _: Procedure) -> str:
    """An aware datetime (or ISO 8601 text with an offset), kept as Vietnam-time ISO text."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(f"{name} must be an ISO 8601 date-time; got {value!r}") from None
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be a timezone-aware datetime")
    return value.astimezone(LOCAL_TZ).isoformat()


def _sha256(name: str, value: Any, _: Procedure) -> str:
    if not isinstance(value, str) or len(value) != 64 \
            or any(c not in "0123456789abcdef" for c in value):
        raise InvalidInput(f"{name} must be a SHA-256 digest: 64 lower-case hex digits")
    return value


def _one_of(*choices: str) -> Check:
    def check(name: str, value: Any, _: Procedure) -> str:
        if value not in choices:
            raise InvalidInput(f"{name} must be one of {', '.join(choices)}; got {value!r}")
        return str(value)
    return check


def _pages(name: str, value: Any, procedure: Procedure) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{name} must map component ids to page counts")
    unknown = [k for k in value if not isinstance(k, str) or procedure.component(k) is None]
    if unknown:
        raise InvalidInput(f"{name}: unknown components {unknown} for procedure {procedure.code}")
    for component, count in value.items():
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100_000:
            raise InvalidInput(f"{name}[{component!r}] must be a page count from 1 to 100000")
    return dict(value)


def _component_ids(name: str, value: Any, procedure: Procedure) -> list[str]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput(f"{name} must be a list of component ids")
    unknown = [v for v in value if procedure.component(v) is None]
    if unknown:
        raise InvalidInput(f"{name}: unknown components {unknown} for procedure {procedure.code}")
    return list(value)


# trigger → {key: (check, required)}
_SPECS: dict[Trigger, dict[str, tuple[Check, bool]]] = {
    Trigger.RECEIVE: {"arrived_at": (_instant, False)},
    Trigger.DIGITISE: {"pages": (_pages, False)},
    Trigger.PAY: {"amount": (_amount, True),
                  "method": (_one_of("cash", "pos", "transfer", "online"), False),
                  "reference": (_reference, False)},
    Trigger.SIGN: {"document": (_sha256, False)},
    Trigger.RETURN_RESULT: {"method": (_one_of("counter", "online", "post"), False)},
    Trigger.REQUEST_SUPPLEMENT: {"reason": (_text, True), "components": (_component_ids, False),
                                 "legal_basis": (_text, False)},
    Trigger.REFUSE: {"reason": (_text, True)},
    Trigger.WITHDRAW: {"reason": (_text, False)},
    Trigger.STOP: {"reason": (_text, True)},
    Trigger.EXTEND: {"reason": (_text, True), "appointment_at": (_instant, True)},
}


def validate_trigger_data(trigger: Trigger, data: Mapping[str, Any],
                          procedure: Procedure) -> dict[str, Any]:
    """Check and normalise ``data`` for ``trigger``; raise :class:`InvalidInput` if malformed."""
    spec = {"note": (_text, False), **_SPECS.get(trigger, {})}
    unknown = sorted(set(data) - set(spec))
    if unknown:
        raise InvalidInput(f"trigger {trigger.value!r} does not take {', '.join(unknown)} "
                           f"(it takes: {', '.join(sorted(spec))})")
    clean: dict[str, Any] = {}
    for key, (check, required) in spec.items():
        if key in data and data[key] is not None:
            clean[key] = check(key, data[key], procedure)
        elif required:
            raise InvalidInput(f"trigger {trigger.value!r} needs {key}=")
    return clean
