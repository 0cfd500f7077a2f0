"""Daily statements against our records: each documented layout, and bad files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dossier.errors import DocumentError, InvalidInput
from dossier.payments import PaymentRecord, parse_statement, read_statement, reconcile

A, B, C, D = (f"0000012H12260105000{n}P01" for n in range(1, 5))

VNPAY = f"""TxnRef,TransactionNo,Amount,PayDate,Status,BankCode
{A},14000001,"50,000",05/01/2026 10:21:07,00,NCB
{B},14000002,30000,05/01/2026 11:00:00,00,NCB
{C},14000003,"20,000",05/01/2026 11:30:00,00,NCB
{D},14000004,"20,000",05/01/2026 11:31:00,24,NCB
"""

RECORDS = [PaymentRecord(order_ref=A, amount=50_000), PaymentRecord(order_ref=B, amount=25_000),
           PaymentRecord(order_ref="0000012H122601050009P01", amount=10_000)]


def test_vnpay_statement_reconciles_into_four_parts() -> None:
    lines = parse_statement("vnpay", VNPAY)
    assert [line.order_ref for line in lines] == [A, B, C]  # status 24 moved no money
    assert lines[0].amount == 50_000
    assert lines[0].at == datetime(2026, 1, 5, 3, 21, 7, tzinfo=UTC)
    report = reconcile("vnpay", lines, RECORDS)
    assert [p.record.order_ref for p in report.matched] == [A]
    assert [p.record.order_ref for p in report.amount_mismatches] == [B]
    assert [line.order_ref for line in report.missing_ours] == [C]
    assert [r.order_ref for r in report.missing_theirs] == ["0000012H122601050009P01"]
    assert not report.clean
    assert "1 matched, 1 amount mismatches" in report.summary()


def test_momo_statement_layout() -> None:
    text = f"orderId,transId,amount,responseTime,resultCode\n{A},4088878653,50000," \
           "2026-01-05 10:21:07,0\n"
    report = reconcile("momo", parse_statement("momo", text), RECORDS[:1])
    assert report.clean
    assert len(report.matched) == 1


def test_vietqr_statement_matches_on_the_mangled_memo() -> None:
    text = ("reference,credited_at,amount,description\n"
            "FT1,2026-01-05 10:21:07,50000,MBVCB.1.HS 000.00.12.H12-260105-0001.CT tu\n"
            "FT2,2026-01-05 10:22:00,99000,chuyen tien an trua\n")
    records = [PaymentRecord(order_ref=A, amount=50_000,
                             dossier_code="000.00.12.H12-260105-0001")]
    report = reconcile("vietqr", parse_statement("vietqr", text), records)
    assert [p.record.order_ref for p in report.matched] == [A]
    assert [line.provider_ref for line in report.missing_ours] == ["FT2"]


def test_a_bom_and_blank_lines_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "vnpay.csv"
    path.write_text("\ufeff" + VNPAY + "\n\n", encoding="utf-8")
    assert len(read_statement("vnpay", path)) == 3


@pytest.mark.parametrize(("text", "line"), [
    ("", 1),
    ("TxnRef,Amount\nX,1\n", 1),
    (VNPAY.replace('"20,000",05/01/2026 11:30:00', "twenty,05/01/2026 11:30:00"), 4),
    (VNPAY.replace("05/01/2026 11:00:00", "2026-01-05 11:00"), 3),
    (VNPAY + "short,row\n", 6),
])
def test_a_bad_statement_names_the_line(text: str, line: int) -> None:
    with pytest.raises(DocumentError, match=f"line {line}:"):
        parse_statement("vnpay", text)


def test_an_unknown_provider_has_no_layout() -> None:
    with pytest.raises(InvalidInput, match="vnpay"):
        parse_statement("zalopay", "x")


def test_a_missing_file_is_a_document_error(tmp_path: Path) -> None:
    with pytest.raises(DocumentError):
        read_statement("vnpay", tmp_path / "nope.csv")
