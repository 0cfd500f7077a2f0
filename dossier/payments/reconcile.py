"""Daily reconciliation: a provider's statement CSV against our payment records.

The report has four parts: *matched* (same order, same amount), *amount mismatches* (same
order, different amount), *missing on our side* (money the provider moved that we never
recorded as succeeded) and *missing on theirs* (payments we recorded that the provider does
not list). Files are UTF-8 (a BOM, as Excel writes it, is fine), comma-separated, with a
header row naming the columns below in any order; extra columns are ignored. Amounts are
whole VND (never ×100), and may use ``.`` or ``,`` as thousands separators. Times are in
GMT+7. Only lines whose status means "money moved" take part; others are skipped.

``vnpay`` — from the merchant portal's transaction export::

    TxnRef,TransactionNo,Amount,PayDate,Status
    0000012H122601050001P01,14422574,"1,005,000",05/01/2026 10:21:07,00

  ``PayDate`` is ``dd/MM/yyyy HH:mm:ss``; ``Status`` ``00`` = paid.

``momo`` — from the MoMo business portal's export::

    orderId,transId,amount,responseTime,resultCode
    0000012H122601050001P01,4088878653,50000,2026-01-05 10:21:07,0

  ``responseTime`` is ``yyyy-MM-dd HH:mm:ss``; ``resultCode`` ``0`` = paid.

``vietqr`` — the receiving account's bank statement (credits only)::

    reference,credited_at,amount,description
    FT26005123456,2026-01-05 10:21:07,50000,MBVCB.123.0000012H122601050001P01.CT tu

  ``credited_at`` is ``yyyy-MM-dd HH:mm:ss``; every line is a credit; the order is found in
  the memo (``description``) as :func:`~dossier.payments.vietqr.memo_contains` does.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dossier.errors import DocumentError, InvalidInput
from dossier.payments.crypto import GMT7
from dossier.payments.memo import memo_contains


@dataclass(frozen=True, kw_only=True)
class StatementLayout:
    """Column names and formats of one provider's statement."""

    order: str
    provider_ref: str
    amount: str
    time: str
    time_format: str
    status: str | None = None
    paid_status: str = ""
    memo: str | None = None


LAYOUTS: dict[str, StatementLayout] = {
    "vnpay": StatementLayout(order="TxnRef", provider_ref="TransactionNo", amount="Amount",
                             time="PayDate", time_format="%d/%m/%Y %H:%M:%S",
                             status="Status", paid_status="00"),
    "momo": StatementLayout(order="orderId", provider_ref="transId", amount="amount",
                            time="responseTime", time_format="%Y-%m-%d %H:%M:%S",
                            status="resultCode", paid_status="0"),
    "vietqr": StatementLayout(order="", provider_ref="reference", amount="amount",
                              time="credited_at", time_format="%Y-%m-%d %H:%M:%S",
                              memo="description"),
}


@dataclass(frozen=True, kw_only=True)
class StatementLine:
    """One money-moved line of a statement; ``line`` is its 1-based line number in the file."""

    line: int
    order_ref: str
    provider_ref: str
    amount: int
    at: datetime
    memo: str = ""


@dataclass(frozen=True, kw_only=True)
class PaymentRecord:
    """What we recorded for one succeeded payment (the engine passes these in)."""

    order_ref: str
    amount: int
    provider_ref: str = ""
    dossier_code: str = ""


@dataclass(frozen=True, kw_only=True)
class Pair:
    """A statement line and our record of the same payment."""

    line: StatementLine
    record: PaymentRecord


@dataclass(frozen=True, kw_only=True)
class ReconciliationReport:
    """The outcome of :func:`reconcile`."""

    provider: str
    matched: tuple[Pair, ...]
    amount_mismatches: tuple[Pair, ...]
    missing_ours: tuple[StatementLine, ...]
    missing_theirs: tuple[PaymentRecord, ...]

    @property
    def clean(self) -> bool:
        """Nothing to look into."""
        return not (self.amount_mismatches or self.missing_ours or self.missing_theirs)

    def summary(self) -> str:
        """A few lines for the CLI."""
        lines = [f"{self.provider}: {len(self.matched)} matched, "
                 f"{len(self.amount_mismatches)} amount mismatches, "
                 f"{len(self.missing_ours)} missing on our side, "
                 f"{len(self.missing_theirs)} missing on theirs"]
        lines += [f"  amount mismatch {p.record.order_ref}: statement line {p.line.line} says "
                  f"{p.line.amount}, we recorded {p.record.amount}"
                  for p in self.amount_mismatches]
        lines += [f"  missing on our side: statement line {s.line} "
                  f"{s.order_ref or s.memo!r} {s.amount}" for s in self.missing_ours]
        lines += [f"  missing on theirs: {r.order_ref} {r.amount}" for r in self.missing_theirs]
        return "\n".join(lines)


def layout_for(provider: str) -> StatementLayout:
    try:
        return LAYOUTS[provider]
    except KeyError:
        raise InvalidInput(f"no statement layout for provider {provider!r}; known: "
                           f"{', '.join(sorted(LAYOUTS))}") from None


def parse_statement(provider: str, text: str, *, source: str = "statement") -> list[StatementLine]:
    """The money-moved lines of a statement; :class:`DocumentError` names the bad line."""
    layout = layout_for(provider)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise DocumentError(f"{source}: line 1: the file is empty; expected a header row") \
            from None
    except csv.Error as exc:
        raise DocumentError(f"{source}: line 1: {exc}") from exc
    wanted = [name for name in (layout.order, layout.provider_ref, layout.amount, layout.time,
                                layout.status, layout.memo) if name]
    missing = [name for name in wanted if name not in header]
    if missing:
        raise DocumentError(f"{source}: line 1: missing column(s) {', '.join(missing)} for a "
                            f"{provider} statement (see dossier.payments.reconcile)")
    index = {name: header.index(name) for name in wanted}
    lines: list[StatementLine] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise DocumentError(f"{source}: line {number}: {len(row)} columns, the header "
                                    f"has {len(header)}")
            cell = {name: row[i].strip() for name, i in index.items()}
            if layout.status and cell[layout.status] != layout.paid_status:
                continue
            lines.append(StatementLine(
                line=number, order_ref=cell[layout.order] if layout.order else "",
                provider_ref=cell[layout.provider_ref],
                amount=_amount(cell[layout.amount], source, number),
                at=_time(cell[layout.time], layout.time_format, source, number),
                memo=cell[layout.memo] if layout.memo else ""))
    except csv.Error as exc:
        raise DocumentError(f"{source}: line {reader.line_num}: {exc}") from exc
    return lines


def read_statement(provider: str, path: str | Path) -> list[StatementLine]:
    """:func:`parse_statement` of a file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(f"{file}: cannot read the statement: {exc}") from exc
    return parse_statement(provider, text, source=str(file))


def reconcile(provider: str, lines: Iterable[StatementLine],
              records: Sequence[PaymentRecord]) -> ReconciliationReport:
    """Match statement lines to our records (by order reference, or memo for VietQR)."""
    layout = layout_for(provider)
    by_ref = {record.order_ref: record for record in records}
    seen: set[str] = set()
    matched: list[Pair] = []
    mismatched: list[Pair] = []
    missing_ours: list[StatementLine] = []
    for line in lines:
        record = by_ref.get(line.order_ref) if layout.order else _by_memo(line.memo, records,
                                                                          line.amount)
        if record is None or record.order_ref in seen:
            missing_ours.append(line)
            continue
        seen.add(record.order_ref)
        (matched if record.amount == line.amount else mismatched).append(
            Pair(line=line, record=record))
    missing_theirs = tuple(record for record in records if record.order_ref not in seen)
    return ReconciliationReport(provider=provider, matched=tuple(matched),
                                amount_mismatches=tuple(mismatched),
                                missing_ours=tuple(missing_ours), missing_theirs=missing_theirs)


def _by_memo(memo: str, records: Sequence[PaymentRecord], amount: int) -> PaymentRecord | None:
    found = [record for record in records if memo_contains(memo, record.order_ref)
             or (record.dossier_code and memo_contains(memo, record.dossier_code))]
    exact = [record for record in found if record.amount == amount]
    if len(exact) == 1:
        return exact[0]
    return found[0] if len(found) == 1 else None


def _amount(text: str, source: str, line: int) -> int:
    digits = text.replace(",", "").replace(".", "").replace(" ", "")
    if not digits.isdigit():
        raise DocumentError(f"{source}: line {line}: amount {text!r} is not a whole number of "
                            "VND")
    return int(digits)


def _time(text: str, fmt: str, source: str, line: int) -> datetime:
    try:
        return datetime.strptime(text, fmt).replace(tzinfo=GMT7).astimezone(UTC)
    except ValueError:
        raise DocumentError(f"{source}: line {line}: time {text!r} does not match "
                            f"{fmt.replace('%', '')}") from None
