"""Status sync to the national public-service portal (Cổng Dịch vụ công quốc gia, DVCQG).

.. warning::
   EXPERIMENTAL wire format. The portal's integration specification is not published in a
   form we can cite, so the JSON field names (``MaHoSo``, ``TrangThaiHoSo``…), the envelope
   (``{"service": "DongBoHoSoMC", "data": [...]}``), the date format and the answer
   (``{"error_code": 0}``) follow an open-source one-stop-shop system that integrates with
   it (VietOpenCPS ``opencps-v2``, ``DVCQGIntegrationActionImpl.java``), not the operator's
   document. Every name is configuration (:data:`DEFAULT_FIELDS`, ``fields=``): correct them
   against the specification your province receives, without a code change.

What is confirmed: the status codes 1–10 (:func:`dossier.states.portal_status`), the same
list one-stop-shop systems show (1 mới đăng ký, 2 được tiếp nhận, 3 không được tiếp nhận,
4 đang xử lý, 5 yêu cầu bổ sung giấy tờ, 6 yêu cầu thực hiện nghĩa vụ tài chính, 7 công dân
yêu cầu rút hồ sơ, 8 dừng xử lý, 9 đã xử lý xong, 10 đã trả kết quả), and that provinces
must sync each dossier's progress to the portal (Quyết định 31/2021/QĐ-TTg, Điều 30).

A :class:`PortalRecord` is our own, typed view of one status change; a :class:`PortalClient`
turns records into the wire format. No personal data is in a record: no applicant name,
contact or ID number (the integration above sends the applicant's name and phone; we do
not, until a published specification requires it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from dossier.clock import LOCAL_TZ
from dossier.errors import InvalidInput
from dossier.records import Dossier
from dossier.sinks.base import PORTAL_SYNC, DeliveryFailed, Message, subscribed
from dossier.sinks.http import check_url, endpoint, post
from dossier.sinks.settings import check_keys, names_setting, number_setting, text_setting
from dossier.states import State

log = logging.getLogger(__name__)

#: KenhThucHien: 1 trực tiếp, 2 trực tuyến, 3 qua bưu chính công ích.
CHANNEL_CODES: Mapping[str, int] = {"counter": 1, "online": 2, "post": 3}

#: Events that change neither the status nor a date the portal keeps, not synced: a file
#: attached, the timers' notices, an officer assigned, a citizen's rating.
UNSYNCED_TRIGGERS = frozenset({"attach", "sla_warning", "overdue", "assign", "rate"})


@dataclass(frozen=True, kw_only=True)
class PortalRecord:
    """One status change of one dossier, in the portal's terms (no personal data).

    Instants are aware UTC; None means "not known at this event" (the key is left out of
    the wire record, so an update does not blank what an earlier one sent).
    """

    code: str                           # mã hồ sơ
    procedure: str                      # mã thủ tục hành chính
    agency: str                         # the handling agency's code
    status: int                         # trạng thái hồ sơ, 1–10
    channel: int | None                 # kênh thực hiện: 1 counter, 2 online, 3 post
    event: str                          # the message type that caused it
    event_at: datetime                  # thời điểm xử lý
    received_at: datetime | None        # ngày tiếp nhận
    appointment_at: datetime | None     # ngày hẹn trả
    finished_at: datetime | None        # ngày kết thúc xử lý (result ready to return)
    returned_at: datetime | None        # ngày trả kết quả
    returned_by_post: bool | None       # the result went back by post (hình thức trả)
    result_ready: bool                  # there is a result to collect, or it was collected


#: Record attribute → portal JSON key (EXPERIMENTAL, see the module docstring). Attributes
#: left out (``event``, ``result_ready``) are not sent unless a mapping adds them.
DEFAULT_FIELDS: Mapping[str, str] = {
    "code": "MaHoSo",
    "procedure": "MaTTHC",
    "agency": "DonViXuLy",
    "status": "TrangThaiHoSo",
    "channel": "KenhThucHien",
    "event_at": "ThoiDiemXuLy",
    "received_at": "NgayTiepNhan",
    "appointment_at": "NgayHenTra",
    "finished_at": "NgayKetThucXuLy",
    "returned_at": "NgayTra",
    "returned_by_post": "HinhThuc",
}

#: ``yyyyMMddHHmmss`` in Vietnam's time, as the integration we follow writes dates.
DATE_FORMAT = "%Y%m%d%H%M%S"

_RECORD_FIELDS = frozenset(f.name for f in fields(PortalRecord))


def portal_record(message: Message, dossier: Dossier) -> PortalRecord:
    """The record for ``message``. Status and times come from the message (the dossier may
    have moved on since); the reception date, fixed once set, from the dossier."""
    state = message.state
    result_ready = state in (State.AWAITING_RETURN, State.RETURNED)
    entered_return = state == State.AWAITING_RETURN and message.source != state
    returned = state == State.RETURNED
    method = message.data.get("method") if returned else None
    return PortalRecord(
        code=message.code, procedure=message.procedure, agency=message.agency,
        status=message.portal_status, channel=CHANNEL_CODES.get(message.channel),
        event=message.type, event_at=message.at, received_at=dossier.received_at,
        appointment_at=message.due_at, finished_at=message.at if entered_return else None,
        returned_at=message.at if returned else None,
        returned_by_post=(method == "post") if isinstance(method, str) else None,
        result_ready=result_ready)


def wire_record(record: PortalRecord, field_names: Mapping[str, str] = DEFAULT_FIELDS, *,
                date_format: str = DATE_FORMAT) -> dict[str, str]:
    """``record`` as the portal's JSON object: every value a string (instants in Vietnam's
    time, flags ``"1"``/``"0"``), unknown values left out."""
    wire: dict[str, str] = {}
    for attribute, key in field_names.items():
        value = getattr(record, attribute)
        if value is None or not key:
            continue
        if isinstance(value, datetime):
            wire[key] = value.astimezone(LOCAL_TZ).strftime(date_format)
        elif isinstance(value, bool):
            wire[key] = "1" if value else "0"
        else:
            wire[key] = str(value)
    return wire


def field_mapping(overrides: Mapping[str, Any] | None) -> dict[str, str]:
    """:data:`DEFAULT_FIELDS` with ``overrides`` applied (an empty name drops a field)."""
    mapping = dict(DEFAULT_FIELDS)
    for attribute, key in (overrides or {}).items():
        if attribute not in _RECORD_FIELDS:
            raise InvalidInput(f"portal fields: {attribute!r} is not a record field; use one "
                               f"of {', '.join(sorted(_RECORD_FIELDS))}")
        if not isinstance(key, str):
            raise InvalidInput(f"portal fields: the name for {attribute!r} must be a string")
        mapping[attribute] = key
    return {a: k for a, k in mapping.items() if k}


@runtime_checkable
class PortalClient(Protocol):
    """Sends status records to the portal; :class:`DeliveryFailed` if they were not taken."""

    def push(self, records: Sequence[PortalRecord]) -> None: ...


class HttpPortalClient:
    """The portal's sync service over HTTP: ``POST {"service": service, "data": [...]}``
    with ``Authorization: Bearer <token>``; a 2xx answer with ``error_code`` 0 (or without
    one) means taken. EXPERIMENTAL (see the module docstring)."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10,
                 fields: Mapping[str, str] | None = None, service: str = "DongBoHoSoMC",
                 date_format: str = DATE_FORMAT) -> None:
        self.url = check_url("portal client", url)
        if token is not None:
            text_setting("portal client", "token", token)
        self._token = token
        self.timeout = number_setting("portal client", "timeout", timeout)
        self.fields = field_mapping(fields)
        self.service = text_setting("portal client", "service", service)
        self.date_format = date_format

    def __repr__(self) -> str:
        return f"HttpPortalClient(url={endpoint(self.url)!r}, token=<hidden>)"

    def payload(self, records: Sequence[PortalRecord]) -> dict[str, Any]:
        return {"service": self.service,
                "data": [wire_record(r, self.fields, date_format=self.date_format)
                         for r in records]}

    def push(self, records: Sequence[PortalRecord]) -> None:
        body = json.dumps(self.payload(records), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=UTF-8",
                   "Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        where = endpoint(self.url)
        reply = post(self.url, body, headers, timeout=self.timeout, what="portal sync")
        if reply.status in (400, 404, 410, 422):
            # the portal refuses these records as they are: sending them again cannot help
            raise DeliveryFailed(f"portal sync: {where} refused the records (HTTP "
                                 f"{reply.status}); check the field mapping", permanent=True)
        if not reply.ok:
            raise DeliveryFailed(f"portal sync: {where} answered HTTP {reply.status}; "
                                 "will retry")
        code = _error_code(reply.body)
        if code not in (None, 0, "0"):
            raise DeliveryFailed(f"portal sync: {where} answered error_code {code!r}; "
                                 "will retry")


def _error_code(body: bytes) -> Any:
    try:
        answer = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None  # a 2xx without JSON: taken
    return answer.get("error_code") if isinstance(answer, dict) else None


class PortalSyncSink:
    """Pushes each status change to the portal through ``client``.

    ``agency_codes``: sync only the dossiers of these agencies (one portal account per
    province); the others are acknowledged without a call. ``types`` narrows the message
    types further; events that change no status or date (:data:`UNSYNCED_TRIGGERS`) are
    never wanted.
    """

    #: what the quality report knows a portal sink by (dossier.sinks.base.is_portal_sync)
    kind = PORTAL_SYNC

    def __init__(self, client: PortalClient, *, agency_codes: frozenset[str] | None = None,
                 types: frozenset[str] | None = None, name: str = "portal") -> None:
        if not isinstance(client, PortalClient):
            raise InvalidInput(f"portal sink {name!r}: {client!r} does not implement "
                               "PortalClient (push(records))")
        self.client = client
        self.agency_codes = agency_codes
        self.types = types
        self.name = name

    def wants(self, message_type: str) -> bool:
        trigger = message_type.removeprefix("dossier.")
        return trigger not in UNSYNCED_TRIGGERS and subscribed(self.types, message_type)

    def deliver(self, message: Message, dossier: Dossier) -> None:
        if self.agency_codes is not None and message.agency not in self.agency_codes:
            log.debug("portal sink %r: %s belongs to agency %s, not synced here", self.name,
                      message.code, message.agency)
            return
        self.client.push([portal_record(message, dossier)])


def make_portal_sink(**settings: Any) -> PortalSyncSink:
    """The ``portal`` entry point: a :class:`PortalSyncSink` over :class:`HttpPortalClient`.

    Keys: ``url`` (required), ``token``, ``timeout`` (seconds, default 10), ``service``
    (default ``DongBoHoSoMC``), ``fields`` (a table of record attribute → portal key
    overrides; ``""`` drops a field), ``agency_codes`` and ``types`` (lists), ``name``.
    """
    kind = "portal sink"
    check_keys(kind, settings, required=("url",),
               optional=("token", "timeout", "service", "fields", "agency_codes", "types",
                         "name"))
    overrides = settings.get("fields")
    if overrides is not None and not isinstance(overrides, Mapping):
        raise InvalidInput(f"{kind}: fields must be a table of record attribute = portal key")
    client = HttpPortalClient(settings["url"], token=settings.get("token"),
                              timeout=settings.get("timeout", 10), fields=overrides,
                              service=settings.get("service", "DongBoHoSoMC"))
    return PortalSyncSink(client,
                          agency_codes=names_setting(kind, "agency_codes",
                                                     settings.get("agency_codes")),
                          types=names_setting(kind, "types", settings.get("types")),
                          name=text_setting(kind, "name", settings.get("name", "portal")))
