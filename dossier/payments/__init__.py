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

from dossier.payments.base import (
    CallbackReply,
    CallbackVerdict,
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
    compact_code,
    make_order_ref,
)
from dossier.payments.counter import CounterGateway
from dossier.payments.crypto import SecretPair
from dossier.payments.fake import FakeCallback, FakeGateway, FakeProviderService
from dossier.payments.momo import MomoConfig, MomoGateway
from dossier.payments.paygov import PayGovConfig, PayGovGateway
from dossier.payments.receipt import IssuedReceipt, LocalReceiptIssuer, Receipt, ReceiptIssuer
from dossier.payments.reconcile import (
    PaymentRecord,
    ReconciliationReport,
    StatementLine,
    parse_statement,
    read_statement,
    reconcile,
)
from dossier.payments.registry import ENTRY_POINT_GROUP, GatewayRegistry
from dossier.payments.transport import HttpResponse, Transport, UrllibTransport
from dossier.payments.vietqr import (
    BankCredit,
    ExpectedCredit,
    VietQrConfig,
    VietQrGateway,
    match_bank_credit,
)
from dossier.payments.vnpay import VnpayConfig, VnpayGateway, ipn_verdict
from dossier.payments.words import vnd_in_figures, vnd_in_words

__all__ = [
    "ENTRY_POINT_GROUP",
    "BankCredit",
    "CallbackReply",
    "CallbackVerdict",
    "CounterGateway",
    "ExpectedCredit",
    "FakeCallback",
    "FakeGateway",
    "FakeProviderService",
    "GatewayRegistry",
    "HttpResponse",
    "IssuedReceipt",
    "LocalReceiptIssuer",
    "MomoConfig",
    "MomoGateway",
    "ParsedCallback",
    "PayGovConfig",
    "PayGovGateway",
    "PaymentGateway",
    "PaymentInstructions",
    "PaymentOutcome",
    "PaymentRecord",
    "PaymentRequest",
    "PaymentStatus",
    "RawCallback",
    "Receipt",
    "ReceiptIssuer",
    "ReconciliationReport",
    "RefundOutcome",
    "RefundRequest",
    "RefundResult",
    "SecretPair",
    "StatementLine",
    "StatusQuery",
    "Transport",
    "UrllibTransport",
    "VietQrConfig",
    "VietQrGateway",
    "VnpayConfig",
    "VnpayGateway",
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
