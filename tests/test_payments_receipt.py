"""Biên lai điện tử: the receipt model, the template and the issuer port."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from dossier.errors import DocumentError, InvalidInput
from dossier.payments import IssuedReceipt, LocalReceiptIssuer, Receipt, ReceiptIssuer


def receipt(**changes: Any) -> Receipt:
    values: dict[str, Any] = dict(
        template_symbol="01BLP0-001", series="AA-26E", number=42,
        payer_name="Nguyễn Văn <An>", agency_name="UBND phường Hàng Bạc",
        fee_name="Lệ phí chứng thực bản sao", amount=1_005_000, payment_method="vnpay",
        paid_at=datetime(2026, 1, 5, 17, 30, tzinfo=UTC), dossier_code="000.00.12.H12-260105-0001",
        order_ref="0000012H122601050001P01", provider_ref="14000001")
    values.update(changes)
    return Receipt(**values)


def test_the_receipt_shows_amount_in_figures_and_words_and_local_time() -> None:
    html = LocalReceiptIssuer().issue(receipt()).html
    assert "1.005.000 đ" in html
    assert "Một triệu không trăm lẻ năm nghìn đồng" in html
    assert "00:30 ngày 06/01/2026" in html  # 17:30 UTC is past midnight in Hà Nội
    assert "AA-26E" in html
    assert "01BLP0-001" in html
    assert "0000042" in html
    assert "Thanh toán trực tuyến qua VNPay" in html


def test_the_template_escapes_what_people_typed() -> None:
    html = LocalReceiptIssuer().issue(receipt()).html
    assert "Nguyễn Văn &lt;An&gt;" in html
    assert "<An>" not in html


def test_the_local_issuer_implements_the_port() -> None:
    issuer = LocalReceiptIssuer()
    assert isinstance(issuer, ReceiptIssuer)
    issued = issuer.issue(receipt())
    assert isinstance(issued, IssuedReceipt)
    assert issued.issuer == "local"


@pytest.mark.parametrize(("field", "value"), [
    ("series", ""), ("series", "AA 26E"), ("template_symbol", "x" * 21), ("number", 0),
    ("number", 10_000_000), ("amount", 0), ("payer_name", " "),
    ("paid_at", datetime(2026, 1, 5, 10, 0)),  # noqa: DTZ001
])
def test_bad_receipt_fields_are_refused(field: str, value: object) -> None:
    with pytest.raises(InvalidInput):
        receipt(**{field: value})


def test_a_broken_template_is_a_document_error(tmp_path: Path) -> None:
    (tmp_path / "bien-lai.html.j2").write_text("{{ receipt.no_such_field }}", encoding="utf-8")
    with pytest.raises(DocumentError, match="AA-26E 0000042"):
        LocalReceiptIssuer(template_dir=str(tmp_path)).issue(receipt())


def test_cash_receipts_name_the_method() -> None:
    html = LocalReceiptIssuer().issue(replace(receipt(), payment_method="cash")).html
    assert "Tiền mặt" in html
