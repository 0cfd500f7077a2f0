"""Digital signing (ký số): the :class:`Signer` port, local and remote signers, verification.

::

    from dossier.signing import LocalSigner, SignRequest, verify

    signer = LocalSigner.from_pkcs12(p12_bytes, passphrase)
    signed = signer.sign(pdf, SignRequest(dossier_code="H12.22-250908-0001"))
    assert all(report.ok for report in verify(signed, [root_certificate]))

Every signature is PAdES baseline (subfilter ``ETSI.CAdES.detached``) with a visible stamp
in Vietnamese naming the certificate's holder and organisation. Statements such as ledger
checkpoints get a detached CMS instead
(:class:`SignsStatements`, checked by :func:`verify_statement`). Fakes of the remote services
live in :mod:`dossier.signing.fakes`, a test PKI in :mod:`dossier.signing.testpki`.

Every name is imported on first use (PEP 562): importing the package, or its port
``base``, loads no adapter and none of their libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dossier.plugins import lazy_exports

if TYPE_CHECKING:
    from dossier.signing.base import (
        ChecksDocuments,
        KnowsHolder,
        PollResult,
        Signer,
        SignRequest,
        SignsStatements,
        StatementSignature,
        Ticket,
        TicketStatus,
    )
    from dossier.signing.csc import CscRemoteSigner
    from dossier.signing.fakes import (
        FakeCscService,
        FakePhoneService,
        FakeTsaService,
    )
    from dossier.signing.local import LocalSigner
    from dossier.signing.phone import PhoneConfirmSigner
    from dossier.signing.service import SigningService
    from dossier.signing.statements import verify_statement
    from dossier.signing.testpki import (
        TestPki,
        build_test_pki,
    )
    from dossier.signing.verify import (
        SignatureReport,
        verify,
    )

_LAZY = {
    "ChecksDocuments": "dossier.signing.base",
    "CscRemoteSigner": "dossier.signing.csc",
    "FakeCscService": "dossier.signing.fakes",
    "FakePhoneService": "dossier.signing.fakes",
    "FakeTsaService": "dossier.signing.fakes",
    "KnowsHolder": "dossier.signing.base",
    "LocalSigner": "dossier.signing.local",
    "PhoneConfirmSigner": "dossier.signing.phone",
    "PollResult": "dossier.signing.base",
    "SignRequest": "dossier.signing.base",
    "SignatureReport": "dossier.signing.verify",
    "Signer": "dossier.signing.base",
    "SigningService": "dossier.signing.service",
    "SignsStatements": "dossier.signing.base",
    "StatementSignature": "dossier.signing.base",
    "TestPki": "dossier.signing.testpki",
    "Ticket": "dossier.signing.base",
    "TicketStatus": "dossier.signing.base",
    "build_test_pki": "dossier.signing.testpki",
    "verify": "dossier.signing.verify",
    "verify_statement": "dossier.signing.statements",
}


__getattr__ = lazy_exports(__name__, _LAZY)


__all__ = [
    "ChecksDocuments",
    "CscRemoteSigner",
    "FakeCscService",
    "FakePhoneService",
    "FakeTsaService",
    "KnowsHolder",
    "LocalSigner",
    "PhoneConfirmSigner",
    "PollResult",
    "SignRequest",
    "SignatureReport",
    "Signer",
    "SigningService",
    "SignsStatements",
    "StatementSignature",
    "TestPki",
    "Ticket",
    "TicketStatus",
    "build_test_pki",
    "verify",
    "verify_statement",
]
