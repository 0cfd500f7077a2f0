"""E-receipts (biên lai điện tử): numbered in the paying transaction, issued after it.

The number is taken from a counter per agency and series inside the transaction that
records the success, so a receipt exists for every succeeded payment; the document is
produced afterwards by the :class:`~dossier.payments.receipt.ReceiptIssuer` (the local
Jinja2 template by default, or the agency's e-invoice provider), and an issuer failure leaves
the receipt numbered but not issued, for the worker to retry. The receipt names the
collecting organisation as the agency directory has it (name, address, tax code) and the
fee's legal basis from the procedure. A PDF the issuer made is signed with the agency's seal
(its default signer, when that signer holds its key here) and kept as a document of the
dossier (kind ``receipt``, ``number`` and ``book``: the receipt's number and series), in the
transaction that marks the receipt issued; without a seal it is kept unsigned.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from dossier.clock import local_date
from dossier.documents.base import Sealer
from dossier.engine.kernel import Kernel
from dossier.errors import DossierError, InvalidInput
from dossier.payments.receipt import Receipt, ReceiptIssuer
from dossier.procedure.model import Procedure
from dossier.records import DocumentRecord, Dossier, StoredReceipt
from dossier.store import payments_repo as prepo
from dossier.store import repository as repo
from dossier.store import signatures_repo as srepo
from dossier.store.database import Tx

log = logging.getLogger("dossier.payments")

_SYMBOL = re.compile(r"[0-9A-Za-z/\-]{1,20}")
#: The issuer used when the engine is given none (loaded on first use: it renders Jinja2).
LOCAL_ISSUER = "dossier.payments.receipt:LocalReceiptIssuer"


@dataclass(frozen=True, kw_only=True)
class ReceiptSettings:
    """How receipts are numbered and headed.

    ``template_symbol`` (ký hiệu mẫu) and ``series_prefix`` are registered with the tax
    authority; the series (ký hiệu) is ``{prefix}-{yy}E`` for the year of payment in Vietnam,
    numbered from 1 per agency and series. ``agency_names`` maps agency codes to the names
    printed on the receipt (the code is printed when a name is missing).
    """

    template_symbol: str = "01BLP0-001"
    series_prefix: str = "AA"
    agency_names: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _SYMBOL.fullmatch(self.template_symbol):
            raise InvalidInput("receipt template_symbol must be 1-20 ASCII letters, digits, "
                               "'-' or '/' as registered")
        if not (self.series_prefix.isascii() and self.series_prefix.isalnum()
                and len(self.series_prefix) <= 16):
            raise InvalidInput("receipt series_prefix must be 1-16 ASCII letters or digits")

    def series_for(self, paid_at: datetime) -> str:
        return f"{self.series_prefix}-{local_date(paid_at).year % 100:02d}E"


class Receipts:
    """Numbers receipts inside the paying transaction and issues them after it."""

    def __init__(self, kernel: Kernel, issuer: ReceiptIssuer | None,
                 settings: ReceiptSettings | None, seal: Sealer | None = None) -> None:
        if issuer is not None and not isinstance(issuer, ReceiptIssuer):
            raise InvalidInput("receipt_issuer must implement dossier.payments.ReceiptIssuer")
        if settings is not None and not isinstance(settings, ReceiptSettings):
            raise InvalidInput("receipts must be a dossier.payments.service.ReceiptSettings")
        self.kernel = kernel
        self._issuer = issuer
        self._seal = seal
        self.settings = settings or ReceiptSettings()

    @property
    def issuer(self) -> ReceiptIssuer:
        if self._issuer is None:
            from dossier.plugins import load_object

            self._issuer = load_object(LOCAL_ISSUER)()
        return self._issuer

    def allocate(self, tx: Tx, dossier: Dossier, procedure: Procedure, payment_id: int,
                 provider: str, method: str, amount: int, paid_at: datetime,
                 now: datetime) -> None:
        """Number the receipt of a succeeded payment (once per payment)."""
        if prepo.has_receipt(tx, payment_id):
            return
        settings = self.settings
        series = settings.series_for(paid_at)
        number = repo.next_counter(tx, "receipt", f"{dossier.agency}:{series}")
        fee = procedure.fee
        prepo.insert_receipt(
            tx, payment_id=payment_id, dossier_id=dossier.id, agency=dossier.agency,
            template_symbol=settings.template_symbol, series=series, number=number,
            payer_name=str(dossier.applicant.get("name", "")),
            agency_name=settings.agency_names.get(dossier.agency, dossier.agency),
            fee_name=(fee.name if fee is not None and fee.name else "Phí, lệ phí"),
            amount=amount,
            payment_method=method if method in ("cash", "pos", "transfer") else provider,
            paid_at=paid_at, at=now)

    def issue(self, limit: int = 50, *, order_ref: str | None = None) -> int:
        """Produce the documents of receipts numbered but not issued yet (of one payment);
        return how many. An issuer failure leaves the receipt for the next try."""
        with self.kernel.transaction(write=False) as tx:
            waiting = [(row, self._details(tx, row.record.dossier_code))
                       for row in prepo.unissued_receipts(tx, limit, order_ref)]
        issued = 0
        for row, (agency, details) in waiting:
            r = row.record
            try:
                done = self.issuer.issue(Receipt(
                    template_symbol=r.template_symbol, series=r.series, number=r.number,
                    payer_name=r.payer_name, agency_name=row.agency_name,
                    fee_name=row.fee_name, amount=r.amount, payment_method=r.payment_method,
                    paid_at=r.paid_at, dossier_code=r.dossier_code, order_ref=r.order_ref,
                    provider_ref=row.provider_ref or "", **details))
                pdf, signer = self._sealed(done.pdf, r, agency)
            except DossierError as exc:
                log.warning("receipt %s %s of %s not issued yet: %s", r.series, r.number_text,
                            r.dossier_code, exc)
                continue
            now = self.kernel.now()
            with self.kernel.transaction() as tx:
                done_now = prepo.set_receipt_issued(tx, row.id, html=done.html,
                                                    issuer=done.issuer,
                                                    lookup_code=done.lookup_code, at=now)
                if done_now and pdf:
                    self._store(tx, r, pdf, signer, now)
                issued += done_now
        return issued

    def _details(self, tx: Tx, code: str) -> tuple[str, dict[str, str]]:
        """The dossier's agency, and what the receipt prints of it and of the fee."""
        dossier = self.kernel.load(tx, code)
        fee = self.kernel.procedure_of(tx, dossier).fee
        listed = self.kernel.agencies.get(dossier.agency)
        return dossier.agency, {
            "agency_address": listed.address if listed else "",
            "agency_tax_code": listed.tax_code if listed else "",
            "place": listed.place if listed else "",
            "legal_basis": fee.legal_basis if fee is not None else ""}

    def _sealed(self, pdf: bytes, r: StoredReceipt, agency: str) -> tuple[bytes, str]:
        if not pdf or self._seal is None:
            return pdf, ""
        sealed = self._seal(pdf, agency=agency, dossier_code=r.dossier_code,
                            reason=f"Biên lai {r.series} số {r.number_text}",
                            field_name=f"BienLai{r.number}", signed_at=r.paid_at)
        return (sealed.pdf, sealed.signer) if sealed is not None else (pdf, "")

    def _store(self, tx: Tx, r: StoredReceipt, pdf: bytes, signer: str, now: datetime) -> None:
        dossier = self.kernel.load(tx, r.dossier_code)
        digest = hashlib.sha256(pdf).hexdigest()
        repo.put_blob(tx, digest, pdf)
        srepo.insert_document(tx, dossier.id, DocumentRecord(
            dossier_code=r.dossier_code, kind="receipt",
            filename=f"bien-lai-{r.series}-{r.number_text}.pdf", sha256=digest, size=len(pdf),
            media_type="application/pdf", signed_by="system", provider=signer,
            created_at=now, number=r.number, book=r.series))
