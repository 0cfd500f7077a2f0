"""Factories for the built-in payment gateways and signers, by configuration keywords.

Each is an entry point (``pyproject.toml``: groups ``dossier.payment_gateways`` and
``dossier.signers``) named like the ``kind`` a ``dossier.toml`` table gives, and takes that
table's keys as keyword arguments, secrets already read from the environment. A vendor's
package adds its own adapter the same way, with no change here. Each factory imports its
adapter only when called, so discovering the entry points loads none of them.

Conventions the configuration loader relies on: ``name`` is the table's name; a secret may be
a list (the current secret first, then the one it replaces while a rotation is under way);
keys ending in ``_file`` are paths, already made absolute against the configuration file's
folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dossier.errors import InvalidInput

if TYPE_CHECKING:
    from dossier.payments.base import PaymentGateway
    from dossier.payments.crypto import SecretPair
    from dossier.signing.base import Signer

Secret = str | Sequence[str]


def secret_pair(secret: Secret, what: str) -> SecretPair:
    """A secret, or ``[current, previous]`` during a rotation."""
    from dossier.payments.crypto import SecretPair

    values = [secret] if isinstance(secret, str) else list(secret)
    if not 1 <= len(values) <= 2 or not all(isinstance(v, str) and v for v in values):
        raise InvalidInput(f"{what} must be one secret, or two (the current one first) "
                           "while a rotation is under way")
    return SecretPair(primary=values[0], previous=values[1] if len(values) == 2 else None)


# --- payment gateways ------------------------------------------------------------------------

def vnpay(*, name: str = "vnpay", tmn_code: str, secret: Secret, pay_url: str | None = None,
          api_url: str | None = None, order_type: str = "other",
          bank_code: str = "") -> PaymentGateway:
    """A VNPay merchant terminal (``vnp_TmnCode`` and its hash secret); the sandbox URLs
    unless ``pay_url``/``api_url`` are given."""
    from dossier.payments import vnpay as adapter

    config = adapter.VnpayConfig(
        tmn_code=tmn_code, secrets=secret_pair(secret, "secret"),
        pay_url=pay_url or adapter.SANDBOX_PAY_URL, api_url=api_url or adapter.SANDBOX_API_URL,
        order_type=order_type, bank_code=bank_code)
    return adapter.VnpayGateway(config, name=name)


def momo(*, name: str = "momo", partner_code: str, access_key: str, secret: Secret,
         ipn_url: str, endpoint: str | None = None, request_type: str = "captureWallet",
         lang: str = "vi") -> PaymentGateway:
    """A MoMo partner (partnerCode, accessKey, secret key) and where MoMo posts the IPN."""
    from dossier.payments import momo as adapter

    config = adapter.MomoConfig(
        partner_code=partner_code, access_key=access_key, secrets=secret_pair(secret, "secret"),
        ipn_url=ipn_url, endpoint=endpoint or adapter.SANDBOX_ENDPOINT,
        request_type=request_type, lang=lang)
    return adapter.MomoGateway(config, name=name)


def vietqr(*, name: str = "vietqr", bank_bin: str, account: str, notification_secret: Secret,
           account_name: str = "", service: str = "QRIBFTTA") -> PaymentGateway:
    """Transfers by VietQR to the agency's account, confirmed by the bank's notification."""
    from dossier.payments import vietqr as adapter

    config = adapter.VietQrConfig(
        bank_bin=bank_bin, account=account, account_name=account_name, service=service,
        notification_secrets=secret_pair(notification_secret, "notification_secret"))
    return adapter.VietQrGateway(config, name=name)


def paygov(*, name: str = "paygov", merchant_code: str, secret: Secret, portal_url: str,
           lookup_url: str) -> PaymentGateway:
    """The national payment platform (PayGov); its field orders are settings of
    :class:`~dossier.payments.paygov.PayGovConfig` (not confirmed by a published spec)."""
    from dossier.payments import paygov as adapter

    config = adapter.PayGovConfig(merchant_code=merchant_code,
                                  secrets=secret_pair(secret, "secret"),
                                  portal_url=portal_url, lookup_url=lookup_url)
    return adapter.PayGovGateway(config, name=name)


def counter(*, name: str = "counter", agency_name: str = "") -> PaymentGateway:
    """Cash or card at the counter, confirmed by the clerk."""
    from dossier.payments.counter import CounterGateway

    return CounterGateway(name=name, agency_name=agency_name)


def fake(*, name: str = "fake") -> PaymentGateway:
    """The in-process fake provider speaking VNPay's protocol (demos and tests only: it
    collects no money)."""
    from dossier.payments.fake import FakeGateway

    return FakeGateway(name=name)


# --- signers ---------------------------------------------------------------------------------

def local_signer(*, name: str = "local", p12_file: str | None = None,
                 cert_file: str | None = None, key_file: str | None = None,
                 chain_file: str | None = None, passphrase: str | None = None,
                 tsa_url: str | None = None, tsa_timeout: int = 10) -> Signer:
    """A key held by this server: a PKCS#12 file (``p12_file``), or PEM ``key_file`` +
    ``cert_file`` (+ ``chain_file``); ``passphrase`` opens it. ``tsa_url``: an RFC 3161
    time-stamping service for the signatures."""
    del name  # a local signer has no name of its own; the configuration keys it
    from dossier.signing.credentials import load_pem, load_pkcs12
    from dossier.signing.local import LocalSigner

    if (p12_file is None) == (key_file is None and cert_file is None):
        raise InvalidInput("give either p12_file, or key_file and cert_file")
    if p12_file is not None:
        material = load_pkcs12(_read(p12_file), passphrase)
    else:
        if key_file is None or cert_file is None:
            raise InvalidInput("a PEM key needs both key_file and cert_file")
        material = load_pem(_read(key_file), _read(cert_file),
                            _read(chain_file) if chain_file else b"", passphrase)
    return LocalSigner(material, tsa_url=tsa_url, tsa_timeout=tsa_timeout)


def csc_signer(*, name: str = "csc", service_url: str, token: str | None = None,
               credential_id: str | None = None, pin: str | None = None,
               timeout: float = 30.0, deferred: bool = False) -> Signer:
    """A remote signing service speaking the Cloud Signature Consortium API (ký số từ xa)."""
    del name
    from dossier.signing.csc import CscRemoteSigner

    return CscRemoteSigner(service_url, token=token, credential_id=credential_id, pin=pin,
                           timeout=timeout, deferred=deferred)


def phone_signer(*, name: str = "phone", base_url: str, client_id: str, client_secret: str,
                 user_id: str, timeout: float = 15.0, request_ttl: int = 300) -> Signer:
    """Remote signing confirmed on the signer's phone (a vendor's push-confirm API)."""
    del name
    from dossier.signing.phone import PhoneConfirmSigner

    return PhoneConfirmSigner(base_url, client_id=client_id, client_secret=client_secret,
                              user_id=user_id, timeout=timeout, request_ttl=request_ttl)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
