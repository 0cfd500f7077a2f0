"""PortalSyncSink + HttpPortalClient against FakePortal over real HTTP on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sinks_support import AGENCY, CODE, ID_NUMBER, dossier, message

from dossier.errors import InvalidInput
from dossier.sinks import DeliveryFailed, Sink
from dossier.sinks.fakes import FakePortal
from dossier.sinks.portal import (
    DEFAULT_FIELDS,
    HttpPortalClient,
    PortalRecord,
    PortalSyncSink,
    make_portal_sink,
    portal_record,
    wire_record,
)

DONE = datetime(2026, 1, 15, 8, 30, tzinfo=UTC)        # 15:30 in Hà Nội


def sink_for(portal: FakePortal, **options: object) -> PortalSyncSink:
    return make_portal_sink(url=portal.url, token="portal-token", **options)


def test_a_status_change_reaches_the_portal_in_its_terms() -> None:
    with FakePortal() as portal:
        sink_for(portal).deliver(message("receive"), dossier())
        (request,) = portal.requests
    assert request.json()["service"] == "DongBoHoSoMC"
    assert portal.latest(CODE) == {
        "MaHoSo": CODE, "MaTTHC": "2.000815", "DonViXuLy": AGENCY, "TrangThaiHoSo": "4",
        "KenhThucHien": "1", "ThoiDiemXuLy": "20260105090000",
        "NgayTiepNhan": "20260105090000", "NgayHenTra": "20260119170000"}


def test_the_result_dates_are_sent_when_the_result_is_ready_and_returned() -> None:
    with FakePortal() as portal:
        sink = sink_for(portal)
        sink.deliver(message("sign", source="awaiting_signature", state="awaiting_return",
                             at=DONE), dossier())
        ready = portal.latest(CODE)
        sink.deliver(message("return_result", source="awaiting_return", state="returned",
                             at=DONE, data={"method": "post"}), dossier())
        returned = portal.latest(CODE)
    assert (ready["TrangThaiHoSo"], ready["NgayKetThucXuLy"]) == ("9", "20260115153000")
    assert "NgayTra" not in ready
    assert (returned["TrangThaiHoSo"], returned["NgayTra"], returned["HinhThuc"]) == \
        ("10", "20260115153000", "1")
    assert "NgayKetThucXuLy" not in returned  # not known at this event: not blanked either


def test_no_personal_data_reaches_the_portal() -> None:
    applicant = {"name": "Trần Thị B", "id_number": ID_NUMBER, "email": "b@example.vn",
                 "phone": "0987654321", "address": "12 Hàng Bài"}
    with FakePortal() as portal:
        sink_for(portal).deliver(message("receive"), dossier(applicant))
    body = portal.requests[0].body.decode("utf-8")
    for value in applicant.values():
        assert value not in body


def test_dossiers_of_other_agencies_are_acknowledged_without_a_call() -> None:
    with FakePortal() as portal:
        sink_for(portal, agency_codes=["000.00.99.H99"]).deliver(message(), dossier())
        sink_for(portal, agency_codes=[AGENCY]).deliver(message(), dossier())
    assert len(portal.requests) == 1


def test_events_that_change_no_status_or_date_are_not_wanted() -> None:
    sink = PortalSyncSink(HttpPortalClient("https://portal.example/sync"))
    assert isinstance(sink, Sink)
    assert all(sink.wants(f"dossier.{t}") for t in ("submit", "receive", "extend", "refuse"))
    assert not any(sink.wants(f"dossier.{t}") for t in ("attach", "sla_warning", "overdue"))


def test_the_field_names_can_be_overridden_or_dropped() -> None:
    with FakePortal() as portal:
        sink_for(portal, fields={"agency": "MaDonVi", "channel": "",
                                 "result_ready": "CoKetQua"}).deliver(message(), dossier())
    record = portal.latest(CODE)
    assert record["MaDonVi"] == AGENCY
    assert record["CoKetQua"] == "0"
    assert "DonViXuLy" not in record
    assert "KenhThucHien" not in record


def test_an_unknown_record_field_in_the_mapping_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'applicant' is not a record field"):
        HttpPortalClient("https://portal.example/sync", fields={"applicant": "ChuHoSo"})


@pytest.mark.parametrize(("status", "permanent"), [(401, False), (500, False), (503, False),
                                                   (400, True), (404, True), (422, True)])
def test_http_failures_are_retried_unless_the_records_are_refused(status: int,
                                                                  permanent: bool) -> None:
    with FakePortal(status=status) as portal, pytest.raises(DeliveryFailed) as failed:
        sink_for(portal).deliver(message(), dossier())
    assert failed.value.permanent is permanent
    assert "portal-token" not in str(failed.value)


def test_a_wrong_token_is_retried_later() -> None:
    with FakePortal(token="the-right-one") as portal, \
            pytest.raises(DeliveryFailed, match="HTTP 401") as failed:
        sink_for(portal).deliver(message(), dossier())
    assert not failed.value.permanent
    assert portal.records == []


def test_a_non_zero_error_code_is_retried_later() -> None:
    with FakePortal() as portal:
        portal.error_code = 7
        with pytest.raises(DeliveryFailed, match="error_code 7") as failed:
            sink_for(portal).deliver(message(), dossier())
        portal.error_code = 0
        sink_for(portal).deliver(message(), dossier())
    assert not failed.value.permanent
    assert len(portal.records) == 1


def test_an_unreachable_portal_is_retried_later() -> None:
    with FakePortal() as portal:
        url = portal.url
    with pytest.raises(DeliveryFailed, match="no answer") as failed:
        make_portal_sink(url=url).deliver(message(), dossier())
    assert not failed.value.permanent


def test_the_client_shows_no_token() -> None:
    client = HttpPortalClient("https://portal.example/sync/x?k=v", token="s3cret-token")
    assert "s3cret" not in repr(client)
    assert "sync" not in repr(client)


def test_the_factory_names_an_unknown_key() -> None:
    with pytest.raises(InvalidInput, match="unknown setting 'tokn'"):
        make_portal_sink(url="https://portal.example/sync", tokn="x")
    with pytest.raises(InvalidInput, match="fields must be a table"):
        make_portal_sink(url="https://portal.example/sync", fields=["MaHoSo"])
    with pytest.raises(InvalidInput, match="does not implement PortalClient"):
        PortalSyncSink(object())  # type: ignore[arg-type]


def test_records_are_typed_and_the_wire_format_is_strings_in_vietnam_time() -> None:
    record = portal_record(message("receive", channel="online"), dossier())
    assert isinstance(record, PortalRecord)
    assert (record.status, record.channel, record.result_ready) == (4, 2, False)
    wire = wire_record(record)
    assert set(wire) <= set(DEFAULT_FIELDS.values())
    assert all(isinstance(v, str) for v in wire.values())
    assert wire["NgayHenTra"] == "20260119170000"
