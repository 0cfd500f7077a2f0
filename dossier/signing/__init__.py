"""Digital signing (ký số): the :class:`Signer` port, local and remote signers, verification.

::

    from dossier.signing import LocalSigner, SignRequest, verify

    signer = LocalSigner.from_pkcs12(p12_bytes, passphrase)
    signed = signer.sign(pdf, SignRequest(signer_name="Nguyễn Văn Ký", agency="UBND xã A",
                                          dossier_code="H12.22-250908-0001"))
    assert all(report.ok for report in verify(signed, [root_certificate]))

Every signature is PAdES baseline (subfilter ``ETSI.CAdES.detached``) with a visible stamp
in Vietnamese. Fakes of the remote services live in :mod:`dossier.signing.fakes`, a test PKI
in :mod:`dossier.signing.testpki`.
"""

from dossier.signing.base import PollResult, Signer, SignRequest, Ticket, TicketStatus
from dossier.signing.csc import CscRemoteSigner
from dossier.signing.local import LocalSigner
from dossier.signing.phone import PhoneConfirmSigner
from dossier.signing.verify import SignatureReport, verify

__all__ = [
    "CscRemoteSigner",
    "LocalSigner",
    "PhoneConfirmSigner",
    "PollResult",
    "SignRequest",
    "SignatureReport",
    "Signer",
    "Ticket",
    "TicketStatus",
    "verify",
]
