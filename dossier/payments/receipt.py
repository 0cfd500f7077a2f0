"""Biên lai điện tử — the e-receipt issued once per succeeded payment.

Numbering follows the fee-and-charge receipt rules (Nghị định 11/2020/NĐ-CP on state-treasury
payment procedures, and the e-invoice/e-receipt conventions of Nghị định 123/2020/NĐ-CP with
Thông tư 78/2021/TT-BTC): a receipt carries

* ``template_symbol`` — *ký hiệu mẫu biên lai*, the registered form (e.g. ``01BLP0-001``);
* ``series`` — *ký hiệu biên lai*, the series the agency registered (e.g. ``AA-26E``; the
  trailing ``E`` marks an electronic receipt and the two digits the year);
* ``number`` — *số biên lai*, consecutive within the series (7 digits on the document);

and the collecting organisation's name, address and tax code (mã số thuế, from the agency
directory), the fee's name and legal basis, the amount in figures and words, the payer.

Our choice: both symbols are strings the agency configures exactly as registered with the
tax authority; we only check they are non-empty printable ASCII. The number comes from the
engine's atomic per-series counter, so it is passed in here, never invented.

:class:`ReceiptIssuer` is the port; :class:`LocalReceiptIssuer` renders the Jinja2 template
``bien-lai.html.j2`` as HTML and as a PDF (laid out by :mod:`dossier.documents.layout`,
loaded by name on first use), which the engine then signs with the agency's seal when it
has one that signs here. A VNPT/Viettel e-receipt service can implement the same port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dossier.clock import LOCAL_TZ, require_aware
from dossier.errors import DocumentError, InvalidInput
from dossier.payments.words import vnd_in_figures, vnd_in_words
from dossier.resources import template_dir as shipped_templates

if TYPE_CHECKING:
    from jinja2 import Environment

TEMPLATE = "bien-lai.html.j2"
PAGE = "forms/_page.html.j2"
#: Lays the markup out as a PDF (fpdf2: loaded only when a receipt is rendered).
LAYOUT = "dossier.documents.layout:render"

METHOD_LABELS = {
    "vnpay": "Thanh toán trực tuyến qua VNPay",
    "momo": "Ví điện tử MoMo",
    "vietqr": "Chuyển khoản VietQR",
    "paygov": "Nền tảng thanh toán quốc gia",
    "fake": "Thanh toán trực tuyến (thử nghiệm)",
    "cash": "Tiền mặt",
    "pos": "Thẻ (POS)",
    "transfer": "Chuyển khoản",
}

_SYMBOL = re.compile(r"[0-9A-Za-z/\-]{1,20}")


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """One e-receipt. Amount in VND; ``paid_at`` aware (shown in Asia/Ho_Chi_Minh)."""

    template_symbol: str
    series: str
    number: int
    payer_name: str
    agency_name: str
    fee_name: str
    amount: int
    payment_method: str
    paid_at: datetime
    dossier_code: str
    order_ref: str = ""
    provider_ref: str = ""
    payer_address: str = ""
    agency_address: str = ""
    agency_tax_code: str = ""
    legal_basis: str = ""
    place: str = ""

    def __post_init__(self) -> None:
        for what, value in (("template_symbol", self.template_symbol),
                            ("series", self.series)):
            if not _SYMBOL.fullmatch(value):
                raise InvalidInput(f"receipt {what} must be 1-20 ASCII letters, digits, '-' or "
                                   f"'/' as registered; got {value!r}")
        if not isinstance(self.number, int) or isinstance(self.number, bool) \
                or not 1 <= self.number <= 9_999_999:
            raise InvalidInput(f"receipt number must be 1..9999999, got {self.number!r}")
        if not isinstance(self.amount, int) or isinstance(self.amount, bool) or self.amount <= 0:
            raise InvalidInput(f"receipt amount must be a positive integer, got {self.amount!r}")
        for what, text in (("payer_name", self.payer_name), ("agency_name", self.agency_name),
                           ("fee_name", self.fee_name)):
            if not text.strip():
                raise InvalidInput(f"receipt {what} must not be empty")
        require_aware(self.paid_at, "paid_at")

    @property
    def number_text(self) -> str:
        """The number as printed: 7 digits, zero-padded."""
        return f"{self.number:07d}"

    @property
    def amount_in_figures(self) -> str:
        return vnd_in_figures(self.amount)

    @property
    def amount_in_words(self) -> str:
        return vnd_in_words(self.amount)

    @property
    def method_label(self) -> str:
        return METHOD_LABELS.get(self.payment_method, self.payment_method)

    @property
    def place_and_date(self) -> str:
        """``Thử Nghiệm, ngày 06 tháng 01 năm 2026``: where and when it was paid."""
        local = self.paid_at.astimezone(LOCAL_TZ)
        month = f"{local.month:02d}" if local.month < 3 else str(local.month)
        return (f"{self.place or self.agency_name}, ngày {local.day:02d} tháng {month} năm "
                f"{local.year}")

    @property
    def paid_at_local(self) -> str:
        """``HH:MM ngày dd/mm/yyyy`` in Vietnam."""
        local = self.paid_at.astimezone(LOCAL_TZ)
        return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


@dataclass(frozen=True, kw_only=True)
class IssuedReceipt:
    """An issued receipt: its document (HTML, and the PDF when the issuer makes one: the
    engine stores and signs it) and, for a remote issuer, the service's lookup code."""

    receipt: Receipt
    html: str
    issuer: str
    lookup_code: str = ""
    pdf: bytes = field(default=b"", repr=False)


@runtime_checkable
class ReceiptIssuer(Protocol):
    """Issues a receipt; a remote e-receipt service (VNPT, Viettel…) may also sign it."""

    def issue(self, receipt: Receipt) -> IssuedReceipt: ...


@cache
def _environment(folder: str) -> Environment:
    # imported here: the engine imports this module for the ReceiptIssuer port, and most
    # processes (a worker, the CLI) never render a receipt
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(folder),
                       autoescape=select_autoescape(["html", "j2"]),
                       undefined=StrictUndefined, keep_trailing_newline=True)


def _render(template: str, folder: str, receipt: Receipt, **context: Any) -> str:
    from jinja2 import TemplateError

    try:
        return _environment(folder).get_template(template).render(receipt=receipt, **context)
    except TemplateError as exc:
        raise DocumentError(f"receipt {receipt.series} {receipt.number_text} of dossier "
                            f"{receipt.dossier_code}: template {template} failed: "
                            f"{exc}") from exc


def _title(receipt: Receipt) -> str:
    return f"Biên lai {receipt.series} số {receipt.number_text}"


def render_markup(receipt: Receipt, *, template_dir: str | None = None) -> str:
    """The receipt in the layout markup (what both the HTML and the PDF show)."""
    return _render(TEMPLATE, template_dir or str(shipped_templates()), receipt)


def render_receipt(receipt: Receipt, *, template_dir: str | None = None) -> str:
    """The receipt as an HTML page (UTF-8, Vietnamese labels, local time)."""
    from markupsafe import Markup

    body = Markup(render_markup(receipt, template_dir=template_dir))
    return _render(PAGE, str(shipped_templates()), receipt, body=body, title=_title(receipt),
                   landscape=False)


def render_receipt_pdf(receipt: Receipt, *, template_dir: str | None = None) -> bytes:
    """The receipt as an unsigned PDF."""
    from dossier.plugins import load_object

    render = load_object(LAYOUT)
    pdf: bytes = render(render_markup(receipt, template_dir=template_dir),
                        title=_title(receipt), created_at=receipt.paid_at)
    return pdf


class LocalReceiptIssuer:
    """Renders receipts from the shipped template, as HTML and PDF; no outside service."""

    def __init__(self, *, template_dir: str | None = None) -> None:
        self.template_dir = template_dir

    def issue(self, receipt: Receipt) -> IssuedReceipt:
        return IssuedReceipt(receipt=receipt, issuer="local",
                             html=render_receipt(receipt, template_dir=self.template_dir),
                             pdf=render_receipt_pdf(receipt, template_dir=self.template_dir))
