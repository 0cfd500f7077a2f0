"""The audit, a part of :class:`~dossier.engine.Engine`'s public API: one dossier's hash
chain checked against its row (:meth:`~AuditApi.verify_audit`), and statements of the whole
ledger kept outside the database (:meth:`~AuditApi.audit_checkpoint`,
:meth:`~AuditApi.verify_checkpoint`; the format is :mod:`dossier.engine.checkpoints`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography import x509

from dossier.audit import verify_chain
from dossier.engine import checkpoints
from dossier.engine.kernel import Kernel
from dossier.policy import step_role
from dossier.replay import check_case, check_digitisation, check_row
from dossier.signing.base import SignsStatements
from dossier.store import digitisation_repo as drepo
from dossier.store import repository as repo


class AuditApi:
    """Checking the chains and the ledger."""

    _kernel: Kernel

    def verify_audit(self, code: str) -> bool:
        """``True`` if the dossier's events match their chain (keyed links checked with this
        engine's audit keys) and the dossier row matches its events (state, version, fee due,
        amount paid, applicant digest, reception, closing, due date, assignee, step role,
        special case), as do its digitisation records; else
        :class:`~dossier.errors.AuditError` (``field`` names a row field that was edited)."""
        with self._kernel.transaction(write=False) as tx:
            dossier = self._kernel.load(tx, code)
            events = repo.load_events(tx, dossier.id)
            procedure = self._kernel.procedure_of(tx, dossier)
            case = repo.dossier_case(tx, dossier.id)
            records = drepo.records_of(tx, dossier.id)
        verify_chain(code, events, dossier.head_hash, dossier.event_count,
                     self._kernel.audit_keys)
        check_row(dossier, events, self._kernel.applicant_digest,
                  lambda state: step_role(procedure, state))
        check_case(code, case, events)
        check_digitisation(code, records, events)
        return True

    def audit_checkpoint(self, *, signer: SignsStatements | None = None) -> dict[str, Any]:
        """A statement of the whole ledger (per agency: dossiers, last code of every day, a
        Merkle root over every chain head): keep it outside the database and check it later
        with :meth:`verify_checkpoint`.

        It carries a MAC under the audit key when the engine has one, and a detached CMS
        signature by ``signer`` (e.g. the agency's :class:`~dossier.signing.LocalSigner`,
        timestamped when it has a TSA) when one is given; with neither,
        :class:`~dossier.errors.InvalidInput`. A signer that fails raises its
        :class:`~dossier.errors.SigningError` and nothing is returned. See
        :mod:`dossier.engine.checkpoints` for the format and the bytes signed.
        """
        return checkpoints.take(self._kernel, signer)

    def verify_checkpoint(self, statement: Mapping[str, Any], *,
                          trust: Sequence[x509.Certificate] | None = None,
                          ) -> checkpoints.CheckpointReport:
        """Whether every dossier that existed at ``statement`` is still there, unrewritten, and
        which numbers are missing from each agency-day's codes.

        The MAC is checked when the engine has its key; the CMS signature always when there
        is one: the signature over the statement, the message digest, the signer's
        certificate at the time of signing (validity, key usage), the RFC 3161 token when
        present (its imprint and time) and, with ``trust`` (root certificates), both chains up
        to one of them; without ``trust`` the report's ``signature.chain_checked`` is False.
        :class:`~dossier.errors.AuditError` names what failed: an altered statement, a key
        this engine does not have (and no signature), a bad signature, or no signature when
        ``trust`` is given.
        """
        return checkpoints.verify(self._kernel, statement, trust=trust)
