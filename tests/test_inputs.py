"""Inputs (issue 10): one string rule before the database, safe file names and media types,
capped callbacks, bounded procedure numbers, ASCII ID numbers — on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dossier import Actor, Engine
from dossier.errors import DossierError, InvalidInput, ProcedureDefinitionError
from dossier.payments import FakeProviderService, MomoGateway, VnpayGateway
from dossier.payments.fake import demo_momo_config, demo_vnpay_config
from dossier.payments.service.callbacks import MAX_CALLBACK_DEPTH, nesting_depth
from dossier.procedure import parse_procedure
from dossier.testing import FrozenClock
from dossier.text import LIMITS, Kind, clean
from tests.conftest import AGENCY, make_procedure

PROCEDURE = "9.100001"
PDF = b"%PDF-1.7 scan"
PNG = b"\x89PNG\r\n\x1a\n rest"
JPEG = b"\xff\xd8\xff\xe0 rest"
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def service() -> FakeProviderService:
    return FakeProviderService(vnpay_config=demo_vnpay_config(),
                               momo_config=demo_momo_config())


@pytest.fixture
def engine(db_url: str, clock: FrozenClock, service: FakeProviderService) -> Iterator[Engine]:
    assert service.vnpay_config is not None
    assert service.momo_config is not None
    eng = Engine(db_url, clock=clock, gateways=[
        VnpayGateway(service.vnpay_config, transport=service),
        MomoGateway(service.momo_config, transport=service)])
    eng.register(make_procedure(PROCEDURE, ["receive", "process", "return"]))
    yield eng
    eng.close()


def submit(engine: Engine, citizen: Actor, **applicant: Any) -> str:
    return engine.submit(PROCEDURE, applicant={"name": "Nguyễn Thị Bình", **applicant},
                         channel="online", actor=citizen, agency=AGENCY).code


# --- the string rule ----------------------------------------------------------------------


def test_an_actor_id_past_its_column_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match=r"Actor\.id"):
        Actor(id="a" * 129, role="citizen")


def test_an_agency_too_long_for_a_dossier_code_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match=r"Actor\.agency"):
        Actor(id="nv01", role="clerk", agency="A" * 65)


@pytest.mark.parametrize("bad", ["cd\x00", "cd\ud800", "cd\n01", "cd\u202e01"])
def test_an_actor_id_with_nul_surrogate_or_controls_is_invalid_input(bad: str) -> None:
    with pytest.raises(InvalidInput, match=r"Actor\.id"):
        Actor(id=bad, role="citizen")


def test_an_nfd_actor_id_is_the_same_account_as_its_nfc_form(
        engine: Engine, citizen: Actor) -> None:
    nfc = Actor(id="bình", role="citizen")
    code = submit(engine, nfc)
    nfd = Actor(id=unicodedata.normalize("NFD", "bình"), role="citizen")
    assert nfd == nfc
    assert engine.fire(code, "withdraw", actor=nfd).state == "withdrawn"


def test_an_nfd_applicant_name_is_stored_in_nfc(engine: Engine, citizen: Actor) -> None:
    code = submit(engine, citizen, name=unicodedata.normalize("NFD", "Trần Văn Đức"))
    assert engine.get(code).applicant["name"] == "Trần Văn Đức"


@pytest.mark.parametrize("name", ["A" * 257, "Bình\x00", "Bình\ud800"])
def test_a_bad_applicant_name_is_invalid_input_and_stores_nothing(
        engine: Engine, citizen: Actor, name: str) -> None:
    with pytest.raises(InvalidInput, match=r"applicant\['name'\]"):
        submit(engine, citizen, name=name)


def test_a_submission_to_an_over_long_agency_is_invalid_input(
        engine: Engine, citizen: Actor) -> None:
    with pytest.raises(InvalidInput, match="agency"):
        engine.submit(PROCEDURE, applicant={"name": "A"}, channel="online", actor=citizen,
                      agency="A" * 65)


def test_a_reason_with_a_nul_is_invalid_input_and_records_nothing(
        engine: Engine, citizen: Actor) -> None:
    code = submit(engine, citizen)
    with pytest.raises(InvalidInput, match="reason"):
        engine.fire(code, "withdraw", actor=citizen, reason="đổi ý\x00")
    assert len(engine.history(code)) == 1


def test_an_over_long_payment_reference_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="reference"):
        clean("reference", "R" * 129, Kind.REFERENCE)


@FUZZ
@given(reason=st.text(max_size=80), name=st.text(max_size=80))
def test_random_text_is_stored_in_nfc_or_refused_never_a_driver_error(
        engine: Engine, citizen: Actor, reason: str, name: str) -> None:
    try:
        code = submit(engine, citizen, name=name)
    except InvalidInput:
        return
    assert engine.get(code).applicant["name"] == unicodedata.normalize("NFC", name).strip()
    try:
        engine.fire(code, "withdraw", actor=citizen, reason=reason)
    except InvalidInput:
        return
    assert engine.history(code)[-1].data["reason"] == \
        unicodedata.normalize("NFC", reason).strip()


@given(value=st.text(max_size=300), kind=st.sampled_from(list(Kind)))
def test_the_rule_keeps_only_nfc_text_within_its_limit(value: str, kind: Kind) -> None:
    try:
        kept = clean("field", value, kind, blank=True)
    except InvalidInput as exc:
        message = str(exc)
        assert message.startswith("field ")  # a property of every refusal
        return
    assert kept == unicodedata.normalize("NFC", kept)
    assert len(kept) <= LIMITS[kind].chars
    kept.encode("utf-8")
    assert "\x00" not in kept


# --- ID numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("digits", ["０１２３４５６７８９０１", "٠١٢٣٤٥٦٧٨٩٠١"])
def test_an_id_number_of_non_ascii_digits_is_refused_without_echoing_it(
        engine: Engine, citizen: Actor, digits: str) -> None:
    with pytest.raises(InvalidInput, match="id_number") as caught:
        submit(engine, citizen, id_number=digits)
    assert digits not in str(caught.value)


# --- file names and media types ---------------------------------------------------------------


def test_a_file_name_past_its_column_is_invalid_input(engine: Engine, citizen: Actor) -> None:
    code = submit(engine, citizen)
    with pytest.raises(InvalidInput, match="filename"):
        engine.attach(code, "ban_chinh", PDF, "a" * 252 + ".pdf", actor=citizen)
    assert engine.attachments(code) == []


@pytest.mark.parametrize("name", [
    "../etc/passwd", "a/b.pdf", "a\\b.pdf", "..", "a..pdf", "a\r\nb.pdf", "a\x00.pdf",
    "a\x07.pdf", "invoice\u202egpj.pdf", "a\u2066b.pdf", " a.pdf"])
def test_an_unsafe_file_name_is_invalid_input(engine: Engine, citizen: Actor,
                                              name: str) -> None:
    code = submit(engine, citizen)
    with pytest.raises(InvalidInput, match="filename"):
        engine.attach(code, "ban_chinh", PDF, name, actor=citizen)
    assert engine.attachments(code) == []


def test_a_safe_vietnamese_file_name_is_kept_as_given_in_nfc(
        engine: Engine, citizen: Actor) -> None:
    code = submit(engine, citizen)
    name = unicodedata.normalize("NFD", "Giấy khai sinh (bản chính).pdf")
    kept = engine.attach(code, "ban_chinh", PDF, name, actor=citizen)
    assert kept.filename == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(("content", "name", "declared"), [
    (PNG, "scan.pdf", None), (PDF, "anh.jpg", None), (JPEG, "anh.png", None),
    (PDF, "scan", "image/png"), (b"MZ\x90\x00", "scan.bin", "application/pdf")])
def test_a_type_the_content_contradicts_is_invalid_input(
        engine: Engine, citizen: Actor, content: bytes, name: str,
        declared: str | None) -> None:
    code = submit(engine, citizen)
    with pytest.raises(InvalidInput, match="content"):
        engine.attach(code, "ban_chinh", content, name, actor=citizen, media_type=declared)
    assert engine.attachments(code) == []


@pytest.mark.parametrize(("content", "name", "kind"), [
    (PDF, "scan.pdf", "application/pdf"), (PNG, "anh.png", "image/png"),
    (JPEG, "anh.jpg", "image/jpeg"), (b"ghi chu", "ghi-chu.txt", "text/plain")])
def test_a_type_the_content_matches_is_stored(engine: Engine, citizen: Actor, content: bytes,
                                               name: str, kind: str) -> None:
    code = submit(engine, citizen)
    assert engine.attach(code, "ban_chinh", content, name, actor=citizen).media_type == kind


# --- procedure numbers ------------------------------------------------------------------------


@pytest.mark.parametrize(("extra", "field"), [
    ({"processing_days": 10**18}, "processing_time.amount"),
    ({"processing_days": 3651}, "processing_time"),
    ({"fee": 10**30}, "fee.amount"),
    ({"version": "v" * 40}, "version"),
    ({"name": "Thủ tục\x00"}, "name")])
def test_a_procedure_value_out_of_bounds_is_a_definition_error(
        extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ProcedureDefinitionError, match=f"<9.100009>: {field}: "):
        make_procedure("9.100009", ["receive", "pay", "process", "return"], **extra)


def test_the_longest_processing_time_computes_a_deadline(clock: FrozenClock) -> None:
    engine = Engine("sqlite://", clock=clock)
    engine.register(make_procedure("9.100009", ["receive", "process", "return"],
                                   processing_days=3650))
    clerk = Actor(id="nv01", role="clerk", agency=AGENCY)
    code = engine.submit("9.100009", applicant={"name": "A"}, channel="counter",
                         actor=clerk).code
    assert engine.fire(code, "receive", actor=clerk).deadlines.due_at is not None
    engine.close()


_KEYS = st.sampled_from(["amount", "unit", "cutoff", "kind", "tiers", "from_page", "to_page",
                         "per_page", "cap_per_copy", "extra_copy_from", "extra_copy_amount",
                         "id", "name", "quantity", "role", "budget"]) | st.text(max_size=8)
_SCALARS = st.none() | st.booleans() | st.integers() | st.integers(-10, 10**13) \
    | st.text(max_size=20) | st.sampled_from(["working_days", "flat", "per_page", "12:00"])


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5)


_json = st.recursive(_SCALARS, _nested, max_leaves=20)
_FIELDS = ["code", "name", "field", "agency_level", "service_level", "version",
           "effective_from", "processing_time", "fee", "components", "steps", "legal_basis"]


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from(_FIELDS), _json, max_size=12))
def test_random_procedure_data_raises_only_definition_errors(data: dict[str, Any]) -> None:
    base = {"code": "9.100009", "name": "T", "field": "F", "agency_level": "province",
            "service_level": "offline", "version": "1", "effective_from": "2025-01-01",
            "processing_time": {"amount": 1, "unit": "working_days"}, "steps": ["receive"]}
    with contextlib.suppress(ProcedureDefinitionError):
        parse_procedure({**base, **data})


# --- callbacks --------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 33 + b"1" + b"}" * 33,
                                  b"{" + b" " * (64 * 1024) + b"}"])
def test_a_huge_or_deep_callback_is_refused_and_recorded(engine: Engine, body: bytes) -> None:
    reply = engine.handle_payment_callback("momo", body)
    assert reply.status < 500
    (recorded,) = engine.payment_callbacks(review=True)
    assert recorded.verdict == "invalid_signature"
    assert "refused before parsing" in recorded.reason


def test_a_huge_parameter_mapping_is_refused_and_recorded(engine: Engine) -> None:
    engine.handle_payment_callback("vnpay", {"vnp_TxnRef": "x" * (64 * 1024 + 1)})
    (recorded,) = engine.payment_callbacks(review=True)
    assert "refused before parsing" in recorded.reason


def test_a_callback_with_nul_and_surrogates_is_recorded(engine: Engine) -> None:
    engine.handle_payment_callback("vnpay", {"vnp_TxnRef": "a\x00b\ud800"})
    (recorded,) = engine.payment_callbacks(review=True)
    assert recorded.verdict == "invalid_signature"


@given(depth=st.integers(0, 2000), opener=st.sampled_from([b"[", b"{\"k\":"]))
def test_the_depth_scan_counts_nesting_without_recursion(depth: int, opener: bytes) -> None:
    closer = b"]" if opener == b"[" else b"}"
    assert nesting_depth(opener * depth + b"1" + closer * depth) == depth
    assert nesting_depth(b'"' + b"[" * depth + b'"') == 0  # brackets inside a string


@FUZZ
@given(body=st.one_of(
    st.binary(max_size=300),
    st.integers(0, 3 * MAX_CALLBACK_DEPTH).map(lambda n: b'{"a":[' * n),
    st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=6)),
    provider=st.sampled_from(["momo", "vnpay"]))
def test_random_callbacks_get_a_reply_and_are_recorded(
        engine: Engine, body: bytes | dict[str, str], provider: str) -> None:
    before = len(engine.payment_callbacks())
    with contextlib.suppress(DossierError):
        engine.handle_payment_callback(provider, body)
    assert len(engine.payment_callbacks()) == before + 1
