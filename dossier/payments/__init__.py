"""Online and counter payments: the gateway port, the provider adapters, receipts and
reconciliation. Stateless: nothing here touches the database.

::

    base        PaymentGateway port and value types (PaymentRequest, ParsedCallback…)
    crypto      shared secrets with rotation, HMAC helpers, GMT+7 stamps
    transport   Transport port (post JSON / form) and the urllib implementation
    vnpay       VNPay 2.1.0          momo     MoMo AIO v2 captureWallet
    vietqr      VietQR (Napas 247) payload + bank-credit matching
    counter     cash / POS at the counter          paygov   EXPERIMENTAL national platform
    fake        in-process provider service and FakeGateway, for tests and the demo
    registry    gateways by name, plus entry points ``dossier.payment_gateways``
    words       VND in Vietnamese words      receipt   biên lai điện tử
    reconcile   statement CSV vs our records

Every name is imported on first use (PEP 562): importing the package, or its port
``base``, loads no adapter and none of their libraries.

Quickstart (against the in-process fake)::

    from datetime import UTC, datetime, timedelta
    from dossier.payments import FakeGateway, PaymentRequest, make_order_ref
    gateway = FakeGateway()
    now = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    ref = make_order_ref("000.00.12.H12-260105-0001", 1)
    pay = gateway.create(PaymentRequest(order_ref=ref, amount=50_000,
                         description="Le phi ho so 000.00.12.H12-260105-0001",
                         created_at=now, expires_at=now + timedelta(minutes=15)))
    callback = gateway.service.success(ref, at=now + timedelta(minutes=2))
    assert gateway.parse_callback(callback.payload).succeeded
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports

if TYPE_CHECKING:
    from dossier.payments.base import (
        CallbackReply,
        CallbackVerdict,
        CollectsFor,
        MatchesCredits,
        ParsedCallback,
        PaymentGateway,
        PaymentInstructions,
        PaymentOutcome,
        PaymentRequest,
        PaymentStatus,
        RawCallback,
        RefundOutcome,
        RefundRequest,
        RefundResult,
        StatusQuery,
        TakesCounterPayments,
        callback_verdict,
        compact_code,
        make_order_ref,
    )
    from dossier.payments.counter import CounterGateway
    from dossier.payments.crypto import SecretPair
    from dossier.payments.fake import (
        FakeCallback,
        FakeGateway,
        FakeProviderService,
    )
    from dossier.payments.momo import (
        MomoConfig,
        MomoGateway,
    )
    from dossier.payments.paygov import (
        PayGovConfig,
        PayGovGateway,
    )
    from dossier.payments.receipt import (
        IssuedReceipt,
        LocalReceiptIssuer,
        Receipt,
        ReceiptIssuer,
    )
    from dossier.payments.reconcile import (
        PaymentRecord,
        ReconciliationReport,
        StatementLine,
        parse_statement,
        read_statement,
        reconcile,
    )
    from dossier.payments.registry import (
        ENTRY_POINT_GROUP,
        GatewayRegistry,
    )
    from dossier.payments.service import (
        MopUpReport,
        PaymentService,
        PaymentSummary,
        ReceiptSettings,
    )
    from dossier.payments.transport import (
        HttpResponse,
        Transport,
        UrllibTransport,
    )
    from dossier.payments.vietqr import (
        BankCredit,
        ExpectedCredit,
        VietQrConfig,
        VietQrGateway,
        match_bank_credit,
    )
    from dossier.payments.vnpay import (
        VnpayConfig,
        VnpayGateway,
        ipn_verdict,
    )
    from dossier.payments.words import (
        vnd_in_figures,
        vnd_in_words,
    )

_LAZY = {
    "BankCredit": "dossier.payments.vietqr",
    "CallbackReply": "dossier.payments.base",
    "CallbackVerdict": "dossier.payments.base",
    "CollectsFor": "dossier.payments.base",
    "CounterGateway": "dossier.payments.counter",
    "ENTRY_POINT_GROUP": "dossier.payments.registry",
    "ExpectedCredit": "dossier.payments.vietqr",
    "FakeCallback": "dossier.payments.fake",
    "FakeGateway": "dossier.payments.fake",
    "FakeProviderService": "dossier.payments.fake",
    "GatewayRegistry": "dossier.payments.registry",
    "HttpResponse": "dossier.payments.transport",
    "IssuedReceipt": "dossier.payments.receipt",
    "LocalReceiptIssuer": "dossier.payments.receipt",
    "MatchesCredits": "dossier.payments.base",
    "MomoConfig": "dossier.payments.momo",
    "MomoGateway": "dossier.payments.momo",
    "MopUpReport": "dossier.payments.service",
    "ParsedCallback": "dossier.payments.base",
    "PayGovConfig": "dossier.payments.paygov",
    "PayGovGateway": "dossier.payments.paygov",
    "PaymentGateway": "dossier.payments.base",
    "PaymentInstructions": "dossier.payments.base",
    "PaymentOutcome": "dossier.payments.base",
    "PaymentRecord": "dossier.payments.reconcile",
    "PaymentRequest": "dossier.payments.base",
    "PaymentService": "dossier.payments.service",
    "PaymentStatus": "dossier.payments.base",
    "PaymentSummary": "dossier.payments.service",
    "RawCallback": "dossier.payments.base",
    "Receipt": "dossier.payments.receipt",
    "ReceiptIssuer": "dossier.payments.receipt",
    "ReceiptSettings": "dossier.payments.service",
    "ReconciliationReport": "dossier.payments.reconcile",
    "RefundOutcome": "dossier.payments.base",
    "RefundRequest": "dossier.payments.base",
    "RefundResult": "dossier.payments.base",
    "SecretPair": "dossier.payments.crypto",
    "StatementLine": "dossier.payments.reconcile",
    "StatusQuery": "dossier.payments.base",
    "TakesCounterPayments": "dossier.payments.base",
    "Transport": "dossier.payments.transport",
    "UrllibTransport": "dossier.payments.transport",
    "VietQrConfig": "dossier.payments.vietqr",
    "VietQrGateway": "dossier.payments.vietqr",
    "VnpayConfig": "dossier.payments.vnpay",
    "VnpayGateway": "dossier.payments.vnpay",
    "callback_verdict": "dossier.payments.base",
    "compact_code": "dossier.payments.base",
    "ipn_verdict": "dossier.payments.vnpay",
    "make_order_ref": "dossier.payments.base",
    "match_bank_credit": "dossier.payments.vietqr",
    "parse_statement": "dossier.payments.reconcile",
    "read_statement": "dossier.payments.reconcile",
    "reconcile": "dossier.payments.reconcile",
    "vnd_in_figures": "dossier.payments.words",
    "vnd_in_words": "dossier.payments.words",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "ENTRY_POINT_GROUP",
    "BankCredit",
    "CallbackReply",
    "CallbackVerdict",
    "CollectsFor",
    "CounterGateway",
    "ExpectedCredit",
    "FakeCallback",
    "FakeGateway",
    "FakeProviderService",
    "GatewayRegistry",
    "HttpResponse",
    "IssuedReceipt",
    "LocalReceiptIssuer",
    "MatchesCredits",
    "MomoConfig",
    "MomoGateway",
    "MopUpReport",
    "ParsedCallback",
    "PayGovConfig",
    "PayGovGateway",
    "PaymentGateway",
    "PaymentInstructions",
    "PaymentOutcome",
    "PaymentRecord",
    "PaymentRequest",
    "PaymentService",
    "PaymentStatus",
    "PaymentSummary",
    "RawCallback",
    "Receipt",
    "ReceiptIssuer",
    "ReceiptSettings",
    "ReconciliationReport",
    "RefundOutcome",
    "RefundRequest",
    "RefundResult",
    "SecretPair",
    "StatementLine",
    "StatusQuery",
    "TakesCounterPayments",
    "Transport",
    "UrllibTransport",
    "VietQrConfig",
    "VietQrGateway",
    "VnpayConfig",
    "VnpayGateway",
    "callback_verdict",
    "compact_code",
    "ipn_verdict",
    "make_order_ref",
    "match_bank_credit",
    "parse_statement",
    "read_statement",
    "reconcile",
    "vnd_in_figures",
    "vnd_in_words",
]
